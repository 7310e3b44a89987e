"""``stylist data ...`` sub-commands: parse flags, call one data-pipeline function, print what was written."""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from training.data.splits import SPLITS


def _parser(prog: str, doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"stylist data {prog}", description=doc)
    parser.add_argument("--data", default=None, help="data root (default: STYLIST_DATA, else ../shared/data)")
    return parser


def catalog(argv: list[str]) -> int:
    """Write a catalog CSV from one source."""
    from training.data.catalog_writers import CATALOG_SOURCES, write_source_catalog

    p = _parser("catalog", "Write a catalog CSV (id,image,name,category,color,price,url,style_id,+extra) from a source.")
    p.add_argument("--source", required=True, choices=CATALOG_SOURCES)
    p.add_argument("--out", required=True, help="CSV path (Fashion-MNIST PNGs go to images/ beside it)")
    p.add_argument("--split", default=None, choices=[*SPLITS, "all"],
                   help="product split (default: all; for fashion-mnist: test = the t10k demo catalog)")
    p.add_argument("--limit", type=int, default=None, help="at most N products")
    a = p.parse_args(argv)
    split = a.split or ("test" if a.source == "fashion-mnist" else "all")
    path, n = write_source_catalog(a.source, a.out, a.data, split, a.limit)
    print(f"wrote {n} products ({a.source}, split {split}) to {path}")
    return 0


def demo_catalog(argv: list[str]) -> int:
    """Write the committed colourful demo catalog from the CC0 clothing photos."""
    from training.data.demo_catalog import DEMO_CLOTHING_DIR, build_demo_catalog, color_sheet

    p = _parser("demo-catalog", "Write the demo catalog (photos, catalog.csv, query photos, boards, README) "
                                "from the CC0 clothing photos.")
    p.add_argument("--out", type=Path, default=DEMO_CLOTHING_DIR, help=f"folder (default {DEMO_CLOTHING_DIR})")
    p.add_argument("--n", type=int, default=1000, help="catalog products (default 1000)")
    p.add_argument("--queries", type=int, default=20, help="query photos kept out of the catalog (default 20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rewrite photos that are already there")
    p.add_argument("--sheet", type=Path, default=Path("out/demo-clothing-colors.png"),
                   help="contact sheet of 30 products with their colour names (default out/demo-clothing-colors.png)")
    a = p.parse_args(argv)
    report = build_demo_catalog(a.data, a.out, a.n, a.queries, a.seed, a.force)
    print(f"wrote {report.products} products to {report.catalog}, {report.queries} query photos, "
          f"{report.boards} boards; {report.megabytes:.1f} MB in {a.out}")
    print(f"colour check sheet: {color_sheet(report.catalog, a.sheet)}")
    return 0


def summarize_manifest(manifest: Path) -> dict:
    """Board and box counts per split, style and class, read back from a manifest.jsonl."""
    boards, styles, classes = Counter(), Counter(), Counter()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        boards[rec["split"]] += 1
        styles[f"{rec['split']}/{rec['style']}"] += 1
        classes.update(b["category"] for b in rec["boxes"])
    return {"boards": dict(boards), "styles": dict(sorted(styles.items())), "boxes": sum(classes.values()),
            "classes": dict(classes.most_common())}


def boards(argv: list[str]) -> int:
    """Generate the style-board YOLO dataset."""
    from training.data.boards import generate_boards

    p = _parser("boards", "Generate style boards (real crops in real layouts) as an ultralytics YOLO dataset.")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=5000, help="number of boards")
    p.add_argument("--imgsz", type=int, default=640, help="longest board side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outfit-fraction", type=float, default=0.2, help="share of boards on CC0 clothing photos")
    p.add_argument("--demo-fraction", type=float, default=0.1, help="share of Fashion-MNIST demo boards")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    a = p.parse_args(argv)
    data_yaml = generate_boards(a.data, a.out, a.n, a.imgsz, a.seed, a.outfit_fraction, a.demo_fraction, a.workers)
    print(json.dumps(summarize_manifest(Path(a.out) / "manifest.jsonl"), indent=1))
    print(f"dataset: {data_yaml}")
    return 0


def crops(argv: list[str]) -> int:
    """Materialise the crop dataset of one product split."""
    from training.data.crops import write_crop_dataset

    p = _parser("crops", "Write CTL crops of one product split (trimmed) plus <split>.csv with product id and class.")
    p.add_argument("--out", required=True)
    p.add_argument("--split", default="train", choices=SPLITS)
    p.add_argument("--size", type=int, default=None, help="resize to fit SIZE×SIZE (default: keep)")
    a = p.parse_args(argv)
    path, n = write_crop_dataset(a.data, a.out, a.split, a.size)
    print(f"wrote {n} {a.split} crops; list: {path}")
    return 0


def sample(argv: list[str]) -> int:
    """Contact sheet of boards of each style with boxes drawn."""
    from training.data.sample import write_sample

    p = _parser("sample", "Write a PNG contact sheet of a few boards of each style with boxes and class names.")
    p.add_argument("--out", default="sample.png")
    p.add_argument("--n", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--imgsz", type=int, default=640)
    a = p.parse_args(argv)
    print(f"wrote {write_sample(a.data, a.out, a.n, a.seed, a.imgsz)}")
    return 0


def pack(argv: list[str]) -> int:
    """Write the compact mini data root that travels to a GPU machine."""
    from training.data.pack import BUDGET_MB, DEFAULT_PARTS, pack_data

    p = _parser("pack", "Write a mini data root (same layout as ../shared/data, resized images) for a GPU machine.")
    p.add_argument("--out", required=True)
    p.add_argument("--parts", default=",".join(DEFAULT_PARTS), help="comma list of ctl,clothing,fashion-mnist,fpi")
    p.add_argument("--max-side", type=int, default=128, help="longest side of the packed CTL crops")
    p.add_argument("--fpi-limit", type=int, default=27_000, help="FPI products to pack (all splits; 0 = all)")
    a = p.parse_args(argv)
    parts = tuple(x.strip() for x in a.parts.split(",") if x.strip())
    sizes = pack_data(a.data, a.out, parts, a.max_side, a.fpi_limit or None)
    for part, mb in sizes.items():
        print(f"{part:<14} {mb:7.1f} MB")
    for group, budget in BUDGET_MB.items():
        members = [x for x in group.split(",") if x in sizes]
        if members:
            total = sum(sizes[x] for x in members)
            verdict = "ok" if total <= budget else "OVER BUDGET"
            print(f"{'+'.join(members):<30} {total:7.1f} MB of {budget:.0f} MB budget: {verdict}")
    print(f"mini data root: {Path(a.out).resolve()}  (use --data or STYLIST_DATA={Path(a.out).resolve()})")
    return 0
