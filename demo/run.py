"""``stylist demo``: from the repo alone, build a demo catalog + index, search sample boards, draw a contact sheet.

Default: the 1,000 CC0 photos of real clothes committed in data/demo-clothing/ — colourful, so "in red"
can be seen working — with their held-out query photos and boards (demo.clothing); about two minutes of
indexing on 2 cores, no ../shared needed. The catalog CSV goes through ``index.build`` like any user's.
``--source fashion-mnist`` runs the greyscale Fashion-MNIST test items (committed in data/demo/),
``--source ctl`` the real Complete the Look crops (needs the data root), ``--catalog CSV`` any catalog; their
sample boards are composed from catalog products (so exact matches show up), plus one photo-like board.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from demo.boards import compose_boards
from demo.clothing import BOARD, clothing_catalog, clothing_searches
from index.build import build_index
from index.sheet import SheetRow, contact_sheet
from stylist.catalog import read_catalog, write_catalog
from stylist.config import Config, load_config
from stylist.results import ItemResult
from training.data.demo_catalog import DEMO_CLOTHING_DIR

SEARCHES = (  # (board, text): the same boards with and without words; "{price}" only when the catalog has prices
    ("outfit", None), ("outfit", "in black"), ("second", "shoes{price}"), ("photo", None), ("photo", "in grey"),
)
TEXT_ONLY = "black leather bag{price}"
SOURCES = ("clothing", "fashion-mnist", "ctl")  # the built-in demo catalogs (clothing is committed as is)
DEFAULT_SOURCE = "clothing"
FASHION_MNIST_LIMIT = 2000


def _step(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def prepare_catalog(source: str, out_dir: Path, limit: int, data_root: str | None) -> Path:
    """The source's catalog CSV under ``out_dir`` (written once; Fashion-MNIST cut to ``limit`` products)."""
    from training.data.catalog_writers import write_source_catalog

    csv_path = out_dir / "catalog.csv"
    have = len(read_catalog(csv_path)) if csv_path.is_file() else 0
    if have and (source == "ctl" or have >= limit):
        _step(f"catalog {csv_path} ({have} products) already there")
    else:
        root = None
        if source == "ctl":
            from training.data.sources import resolve_data_root

            root = resolve_data_root(data_root)
        _step(f"writing the {source} catalog to {csv_path}")
        csv_path, have = write_source_catalog(source, csv_path, root=root, split="all" if source == "ctl" else "test",
                                              limit=None if source == "ctl" else limit)
        _step(f"{have} products")
    if source != "ctl" and have > limit:  # an earlier, bigger demo: index just the first ``limit``
        csv_path = write_catalog(read_catalog(csv_path)[:limit], out_dir / f"catalog-{limit}.csv")
    return csv_path


def _found(results: list[ItemResult], ids: list[str]) -> str:
    hits = {p.id for r in results for p in r.products}
    return f"{sum(1 for i in ids if i in hits)}/{len(ids)} of the board's own products are among the results"


def _catalog_csv(source: str, catalog: str | None, work: Path, limit: int | None, data_root: str | None) -> Path:
    if catalog:
        return Path(catalog)
    if source == "clothing":
        return clothing_catalog(work, limit)
    return prepare_catalog(source, work, FASHION_MNIST_LIMIT if limit is None else limit, data_root)


def board_searches(stylist, items: list, work: Path, top: int) -> tuple[list[SheetRow], str]:
    """Fashion-MNIST / CTL / any catalog: boards composed from its products, with and without words."""
    from stylist.search_cli import format_table

    boards = compose_boards(items, work / "boards")
    priced = sum(it.price is not None for it in items) > len(items) // 2
    rows: list[SheetRow] = []
    for name, template in SEARCHES:
        text = template.format(price=" under 30" if priced else "") if template else None
        path, ids = boards[name]
        img = stylist.load_image(path)
        detections, results = stylist.search_image(img, "all", text, top)
        print(format_table(f"{path.name}" + (f'  + "{text}"' if text else ""), detections, results))
        print(f"     ({_found(results, ids)})")
        rows.append(SheetRow(f"{path.name}" + (f' + "{text}"' if text else " (no text)"), img, detections, results))
    text_only = TEXT_ONLY.format(price=" under 50" if priced else "")
    res = stylist.search_text(text_only, top)
    print(format_table(f'text only: "{text_only}"', [], [res], text_only=True))
    rows.append(SheetRow(f'text only: "{text_only}"', None, [], [res]))
    return rows, f"{boards['outfit'][0]} --text 'in black'"


def run_demo(config: Config, source: str, catalog: str | None, limit: int | None, top: int, out: Path | None,
             data_root: str | None, n_queries: int | None = None) -> Path:
    from stylist.search import Stylist

    start = time.perf_counter()
    work = config.home / "demo" / (source if catalog is None else Path(catalog).stem)
    csv_path = _catalog_csv(source, catalog, work, limit, data_root)
    items = read_catalog(csv_path)
    _step("loading models (once)")
    stylist = Stylist.from_config(config)
    _step(f"indexing {len(items)} products into {stylist.store.location} (collection {config.collection!r}; "
          "unchanged products are skipped)")
    report = build_index(config, csv_path, stylist.embedder, stylist.clip, store=stylist.store)
    _step(report.summary())
    if source == "clothing" and catalog is None:
        rows, _ = clothing_searches(stylist, top, n_queries)
        hint = f"{DEMO_CLOTHING_DIR / 'boards' / BOARD} --text 'in red'"
    else:
        rows, hint = board_searches(stylist, items, work, top)
    sheet = contact_sheet(rows, out or work / "contact_sheet.png")
    _step(f"done in {time.perf_counter() - start:.0f} s")
    print(f"contact sheet: {sheet}")
    print(f"search it yourself: STYLIST_COLLECTION={config.collection} stylist search {hint}")
    return sheet


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stylist demo", description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=SOURCES, default=DEFAULT_SOURCE,
                   help=f"built-in demo catalog (default {DEFAULT_SOURCE}): the committed CC0 clothing photos, "
                        "the committed Fashion-MNIST test items, or the real CTL crops")
    p.add_argument("--catalog", help="use this catalog CSV instead of a built-in source")
    p.add_argument("--limit", type=int, default=None,
                   help=f"products to index (default: all 1,000 clothing photos; {FASHION_MNIST_LIMIT} Fashion-MNIST items)")
    p.add_argument("--queries", type=int, default=None,
                   help="clothing: held-out query photos to measure (default all 20; 0 skips the numbers)")
    p.add_argument("--data", help="data root for --source ctl (default: STYLIST_DATA or ../shared/data)")
    p.add_argument("--top", type=int, default=5, help="results per item (default 5)")
    p.add_argument("--out", type=Path, help="contact sheet PNG path")
    args = p.parse_args(argv)
    config = load_config()
    if config.collection == "catalog" and not args.catalog:  # keep the demo out of the user's own index
        config = config.replace(collection=f"demo-{args.source}")
    if args.source != "ctl" and not args.catalog and config.data_dir and (config.data_dir / "ctl").is_dir():
        _step("real data found: `stylist demo --source ctl` runs the same on the Complete the Look catalog")
    run_demo(config, args.source, args.catalog, args.limit, args.top, args.out, args.data, args.queries)
    return 0
