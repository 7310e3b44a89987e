"""``stylist index build|remove|stats``: thin edges over index.build and stylist.store."""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from index.lock import index_write_lock
from stylist.catalog import write_rejects
from stylist.catalog_profile import store_profile
from stylist.config import load_config
from stylist.store import CatalogStore


def _human(n: int | None) -> str:
    if n is None:
        return "n/a (server)"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024  # type: ignore[assignment]
    return str(n)


EXIT_REJECTED = 3  # the build finished, but some catalog rows were not indexed (see the rejects CSV)


def default_rejects_path(config, store: CatalogStore) -> Path:
    """Beside the embedded index (or in STYLIST_HOME for a server): ``<collection>-rejects.csv``."""
    folder = store.path.parent if store.path is not None else config.home
    return folder / f"{config.collection}-rejects.csv"


def build(argv: list[str]) -> int:
    """Build or update the index from a catalog CSV (upsert by fingerprint; resumable)."""
    p = argparse.ArgumentParser(
        prog="stylist index build", description="Build or update the catalog index (upsert).",
        epilog=f"exit status: 0 every row indexed; {EXIT_REJECTED} indexed, but some rows were rejected "
               "(listed in the rejects CSV); 1 the build could not run (message on stderr)")
    p.add_argument("catalog", help="catalog CSV (id,image[,name,category,color,price,url,style_id])")
    p.add_argument("--batch", type=int, default=256, help="products embedded per batch (default 256)")
    p.add_argument("--prune", action="store_true", help="also remove indexed products that are not in the CSV")
    p.add_argument("--rejects", type=Path, default=None,
                   help="where to write the rejected rows (default: <collection>-rejects.csv beside the index)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    from index.build import build_index
    from stylist.models import shared_clip, shared_embedder
    config = load_config()
    with index_write_lock(None if config.chroma_url else config.db_dir):
        store = CatalogStore.open(config)  # fail fast on an unreachable server before loading models
        report = build_index(config, args.catalog, shared_embedder(config), shared_clip(config), store=store,
                             batch_size=args.batch, prune=args.prune, progress=not args.quiet)
    rejects_path = args.rejects or default_rejects_path(config, store)
    for reject in report.rejected[:20]:
        print(f"rejected line {reject.line} {reject.id!r}: {reject.reason}")
    if len(report.rejected) > 20:
        print(f"... and {len(report.rejected) - 20} more rejected")
    if report.rejected:
        write_rejects(sorted(report.rejected, key=lambda r: r.line), rejects_path)
        print(f"rejected rows: {rejects_path}")
    elif rejects_path.is_file():
        rejects_path.unlink()  # a clean build leaves no stale list of rejects behind
    print(report.summary())
    return EXIT_REJECTED if report.rejected or report.stale else 0


def remove(argv: list[str]) -> int:
    """Remove products by id (visual collection and CLIP vectors)."""
    p = argparse.ArgumentParser(prog="stylist index remove", description="Remove products from the index by id.")
    p.add_argument("ids", nargs="+", help="product ids")
    args = p.parse_args(argv)
    config = load_config()
    with index_write_lock(None if config.chroma_url else config.db_dir):
        store = CatalogStore.open(config)
        removed = store.delete(args.ids)
        store_profile(store)  # searches read the profile instead of counting every product
    missing = [i for i in args.ids if i not in set(removed)]
    print(f"removed {len(removed)} product(s) from {store.location}")
    if missing:
        print(f"not in the index: {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}")
    return 0


def collect_stats(store: CatalogStore) -> dict:
    """Count, categories, colours, models, where the index lives and its size on disk."""
    metas = store.all_metadata()
    return {
        "location": store.location, "collection": store.name, "count": store.count(),
        "categories": dict(Counter(str(m.get("category", "")) for m in metas.values()).most_common()),
        "colors": dict(Counter(str(m.get("color", "")) for m in metas.values()).most_common()),
        "priced": sum(1 for m in metas.values() if isinstance(m.get("price"), (int, float))),
        "models": store.models(), "size_bytes": store.size_on_disk(),
    }


def stats(argv: list[str]) -> int:
    """Show what the index holds."""
    p = argparse.ArgumentParser(prog="stylist index stats", description="Show what the catalog index holds.")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    info = collect_stats(CatalogStore.open(load_config()))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"index:      {info['location']} (collection {info['collection']!r})")
    print(f"products:   {info['count']} ({info['priced']} with a price)")
    print(f"size:       {_human(info['size_bytes'])}")
    models = info["models"]
    if models.get("embedder"):
        print(f"models:     {models.get('embedder')} ({models.get('embedder_dim')}-d) + {models.get('clip')}")
    print("categories: " + (", ".join(f"{k or '?'} {v}" for k, v in info["categories"].items()) or "none"))
    print("colours:    " + (", ".join(f"{k or '?'} {v}" for k, v in info["colors"].items()) or "none"))
    return 0
