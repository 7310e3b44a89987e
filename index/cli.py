"""``stylist index build|remove|stats``: thin edges over index.build and stylist.store."""
from __future__ import annotations

import argparse
import json
from collections import Counter

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


def build(argv: list[str]) -> int:
    """Build or update the index from a catalog CSV (upsert by fingerprint; resumable)."""
    p = argparse.ArgumentParser(prog="stylist index build", description="Build or update the catalog index (upsert).")
    p.add_argument("catalog", help="catalog CSV (id,image[,name,category,color,price,url,style_id])")
    p.add_argument("--batch", type=int, default=128, help="products embedded per batch (default 128)")
    p.add_argument("--prune", action="store_true", help="also remove indexed products that are not in the CSV")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    from index.build import build_index
    from stylist.models import shared_clip, shared_embedder
    config = load_config()
    store = CatalogStore.open(config)  # fail fast on an unreachable server before loading models
    report = build_index(config, args.catalog, shared_embedder(config), shared_clip(config), store=store,
                         batch_size=args.batch, prune=args.prune, progress=not args.quiet)
    for pid, reason in report.skipped[:20]:
        print(f"skipped {pid}: {reason}")
    if len(report.skipped) > 20:
        print(f"... and {len(report.skipped) - 20} more skipped")
    print(report.summary())
    return 0


def remove(argv: list[str]) -> int:
    """Remove products by id from both collections."""
    p = argparse.ArgumentParser(prog="stylist index remove", description="Remove products from the index by id.")
    p.add_argument("ids", nargs="+", help="product ids")
    args = p.parse_args(argv)
    store = CatalogStore.open(load_config())
    removed = store.delete(args.ids)
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
