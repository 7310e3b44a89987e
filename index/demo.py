"""``stylist demo``: from the repo alone, build a demo catalog + index, search sample boards, draw a contact sheet.

Default: 2,000 Fashion-MNIST test items (committed in data/demo/) — a few minutes on 2 cores, no
../shared needed. ``--source ctl`` does the same on the real Complete the Look crops (needs the data
root), ``--catalog CSV`` on any catalog. The sample boards are composed from catalog products (so exact
matches show up), plus one photo-like board (textured backdrop, tilt, JPEG noise).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from index.build import build_index
from index.sheet import SheetRow, contact_sheet
from stylist.catalog import CatalogItem, read_catalog, write_catalog
from stylist.config import Config, load_config
from stylist.query import category_of
from stylist.results import ItemResult

BOARD_SIDE = 640
SEARCHES = (  # (board, text): the same boards with and without words; "{price}" only when the catalog has prices
    ("outfit", None), ("outfit", "in black"), ("second", "shoes{price}"), ("photo", None), ("photo", "in grey"),
)
TEXT_ONLY = "black leather bag{price}"
OUTFITS = {"outfit": ("Shirts & Tops", "Pants", "Shoes"), "second": ("Dresses", "Handbags", "Shoes"),
           "photo": ("Coats & Jackets", "Handbags")}


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


def _paste_item(board: Image.Image, path: str, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Fit a product (white margin trimmed, white cut out) into ``box``; returns its pixel box."""
    from training.data.paste import cutout_mask, trim_white

    with Image.open(path) as im:
        item = trim_white(im.convert("RGB"))
    x0, y0, x1, y1 = box
    scale = min((x1 - x0) / item.width, (y1 - y0) / item.height)
    item = item.resize((max(8, round(item.width * scale)), max(8, round(item.height * scale))), Image.BICUBIC)
    px, py = x0 + (x1 - x0 - item.width) // 2, y0 + (y1 - y0 - item.height) // 2
    board.paste(item, (px, py), cutout_mask(item))
    return px, py, px + item.width, py + item.height


def _photo_backdrop(rng: np.random.Generator) -> Image.Image:
    """A warm wooden-floor-like backdrop with noise: what a phone photo of clothes on a floor looks like."""
    h = w = BOARD_SIDE
    y = np.linspace(0, 1, h)[:, None]
    stripes = 0.5 + 0.5 * np.sin(np.linspace(0, 28, w)[None, :] + rng.normal(0, 0.3, (h, 1)))
    base = np.stack([190 - 40 * y + 15 * stripes, 160 - 40 * y + 10 * stripes, 120 - 30 * y + 5 * stripes], -1)
    base = base + rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))


def compose_boards(items: list[CatalogItem], out_dir: Path, seed: int = 0) -> dict[str, tuple[Path, list[str]]]:
    """Boards of catalog products: name -> (image path, product ids on it)."""
    rng = np.random.default_rng(seed)
    by_cat: dict[str, list[CatalogItem]] = {}
    for it in items:
        by_cat.setdefault(category_of(it.category) or it.category, []).append(it)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = [(20, 20, 310, 310), (330, 20, 620, 620), (20, 330, 310, 620)]
    boards = {}
    for name, wanted in OUTFITS.items():
        present = [c for c in wanted if by_cat.get(c)] or sorted(by_cat, key=lambda c: -len(by_cat[c]))[:3]
        chosen = [by_cat[c][int(rng.integers(len(by_cat[c])))] for c in present]
        photo = name == "photo"
        board = _photo_backdrop(rng) if photo else Image.new("RGB", (BOARD_SIDE, BOARD_SIDE), (255, 255, 255))
        for it, cell in zip(chosen, [(60, 60, 400, 580), (400, 300, 610, 600)] if photo else cells):
            _paste_item(board, it.image, cell)
        if photo:
            board = board.rotate(4, resample=Image.BICUBIC, fillcolor=(150, 120, 90))
        path = out_dir / f"{name}.jpg"
        board.save(path, quality=70 if photo else 92)
        boards[name] = (path, [it.id for it in chosen])
    return boards


def _found(results: list[ItemResult], ids: list[str]) -> str:
    hits = {p.id for r in results for p in r.products}
    return f"{sum(1 for i in ids if i in hits)}/{len(ids)} of the board's own products are among the results"


def run_demo(config: Config, source: str, catalog: str | None, limit: int, top: int, out: Path | None,
             data_root: str | None) -> Path:
    from stylist.search import Stylist
    from stylist.search_cli import format_table

    start = time.perf_counter()
    work = config.home / "demo" / (source if catalog is None else Path(catalog).stem)
    csv_path = Path(catalog) if catalog else prepare_catalog(source, work, limit, data_root)
    items = read_catalog(csv_path)
    _step("loading models (once)")
    stylist = Stylist.from_config(config)
    _step(f"indexing {len(items)} products into {stylist.store.location} (collection {config.collection!r}; "
          "unchanged products are skipped)")
    report = build_index(config, csv_path, stylist.embedder, stylist.clip, store=stylist.store)
    _step(report.summary())
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
    sheet = contact_sheet(rows, out or work / "contact_sheet.png")
    _step(f"done in {time.perf_counter() - start:.0f} s")
    print(f"contact sheet: {sheet}")
    print(f"search it yourself: STYLIST_COLLECTION={config.collection} stylist search {boards['outfit'][0]} --text 'in black'")
    return sheet


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stylist demo", description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=("fashion-mnist", "ctl"), default="fashion-mnist",
                   help="demo catalog: committed Fashion-MNIST test items (default) or the real CTL crops")
    p.add_argument("--catalog", help="use this catalog CSV instead of a built-in source")
    p.add_argument("--limit", type=int, default=2000, help="Fashion-MNIST products to index (default 2000)")
    p.add_argument("--data", help="data root for --source ctl (default: STYLIST_DATA or ../shared/data)")
    p.add_argument("--top", type=int, default=5, help="results per item (default 5)")
    p.add_argument("--out", type=Path, help="contact sheet PNG path")
    args = p.parse_args(argv)
    config = load_config()
    if config.collection == "catalog" and not args.catalog:  # keep the demo out of the user's own index
        config = config.replace(collection=f"demo-{args.source}")
    if args.source == "fashion-mnist" and not args.catalog and config.data_dir and (config.data_dir / "ctl").is_dir():
        _step("real data found: `stylist demo --source ctl` runs the same on the Complete the Look catalog")
    run_demo(config, args.source, args.catalog, args.limit, args.top, args.out, args.data)
    return 0
