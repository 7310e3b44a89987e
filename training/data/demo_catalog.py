"""Build the committed colourful demo catalog from the CC0 clothing photos: images, CSV, query photos, boards.

The photos (github.com/alexeygrigorev/clothing-dataset, CC0 1.0) are real garments on floors, beds and
hangers. Selection is deterministic (a hash of each photo's id) and balanced over our categories, and
within a category over the dataset's garment types; children's clothes are left out. Query photos come
from the product split no model trained on and never enter the catalog; the boards are composed from them.
Colours are read from each downscaled photo's own pixels (``stylist.colors.dominant_color``), so
re-running the builder after that function improves regenerates the CSV without touching the images.
Prices are invented (deterministic per photo, plausible per garment type): the dataset has none.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from stylist.catalog import CatalogItem, read_catalog, write_catalog
from stylist.colors import dominant_color
from stylist.config import REPO_ROOT
from stylist.schema import CLOTHING_CLASS_MAP
from training.data.sources import ClothingPhoto, load_clothing
from training.data.splits import split_of

DEMO_CLOTHING_DIR = REPO_ROOT / "data" / "demo-clothing"
MAX_SIDE = 256  # longest side of every committed photo
JPEG_QUALITY = 75  # ~7.6 KB a photo: 1,000 photos stay well under the budget, even counted in 4 KB disk blocks
BOARD_SIDE = 512
BOARD_BACKGROUND = (246, 244, 240)  # a light, warm off-white, like a mood-board page
BUDGET_MB = 12.0
PRICE_NOTE = "invented demo price"

# Garment type of the dataset -> (shop name, lowest and highest invented price in whole units).
GARMENTS: dict[str, tuple[str, int, int]] = {
    "T-Shirt": ("T-Shirt", 9, 29), "Longsleeve": ("Long-Sleeve Top", 14, 39), "Shirt": ("Shirt", 19, 59),
    "Polo": ("Polo Shirt", 15, 45), "Top": ("Top", 12, 35), "Blouse": ("Blouse", 19, 49),
    "Undershirt": ("Tank Top", 5, 19), "Body": ("Bodysuit", 9, 25), "Hoodie": ("Hoodie", 25, 69),
    "Outwear": ("Jacket", 49, 199), "Blazer": ("Blazer", 59, 189), "Pants": ("Trousers", 25, 89),
    "Shorts": ("Shorts", 15, 45), "Skirt": ("Skirt", 19, 69), "Dress": ("Dress", 25, 119),
    "Shoes": ("Shoes", 35, 149), "Hat": ("Hat", 9, 39),
}
assert set(GARMENTS) == set(CLOTHING_CLASS_MAP)

# Boards: which categories each one shows, in reading order (3–4 garments, like an outfit). With 20
# queries (2–3 a category) no photo appears on two boards.
BOARD_OUTFITS: tuple[tuple[str, ...], ...] = (
    ("Shirts & Tops", "Pants", "Shoes"),
    ("Dresses", "Hats", "Shoes"),
    ("Coats & Jackets", "Skirts", "Hats"),
    ("Shirts & Tops", "Shorts", "Hats", "Coats & Jackets"),
)


@dataclass(frozen=True)
class DemoCatalogReport:
    """What the builder wrote: paths, counts and the size on disk."""

    catalog: Path
    products: int
    queries: int
    boards: int
    megabytes: float


def _key(photo: ClothingPhoto, seed: int) -> bytes:
    return hashlib.sha1(f"demo:{seed}:{photo.path.stem}".encode()).digest()


def _interleave(groups: list[list]) -> list:
    """Round-robin over the lists: any prefix is as balanced over them as their sizes allow."""
    out, depth = [], max((len(g) for g in groups), default=0)
    for i in range(depth):
        out.extend(g[i] for g in groups if i < len(g))
    return out


def balanced_order(photos: list[ClothingPhoto], seed: int = 0) -> list[ClothingPhoto]:
    """Photos in a deterministic order balanced over categories, and within each over garment types."""
    by_cat: dict[str, dict[str, list[ClothingPhoto]]] = {}
    for p in sorted(photos, key=lambda p: _key(p, seed)):
        by_cat.setdefault(CLOTHING_CLASS_MAP[p.label], {}).setdefault(p.label, []).append(p)
    per_cat = [_interleave([labels[t] for t in sorted(labels)]) for _, labels in sorted(by_cat.items())]
    return _interleave(per_cat)


def select_photos(photos: list[ClothingPhoto], n_catalog: int, n_queries: int,
                  seed: int = 0) -> tuple[list[ClothingPhoto], list[ClothingPhoto]]:
    """(catalog, queries): adult garments only; queries from the held-out test split, never in the catalog."""
    usable = [p for p in photos if not p.kids and p.label in CLOTHING_CLASS_MAP]
    queries = balanced_order([p for p in usable if split_of(p.path.stem) == "test"], seed)[:n_queries]
    taken = {p.path.stem for p in queries}
    catalog = balanced_order([p for p in usable if p.path.stem not in taken], seed)[:n_catalog]
    return catalog, queries


def demo_price(photo_id: str, garment: str) -> float:
    """An invented, stable price in the garment type's plausible range, ending in .99."""
    _, lo, hi = GARMENTS[garment]
    bucket = int.from_bytes(hashlib.sha1(f"price:{photo_id}".encode()).digest()[:4], "big")
    return lo + bucket % (hi - lo + 1) + 0.99


def _save_small(src: Path, dst: Path, force: bool) -> Image.Image:
    """The photo downscaled to MAX_SIDE, written as JPEG once (or again with ``force``); returns what was saved."""
    if force or not dst.is_file():
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
            dst.parent.mkdir(parents=True, exist_ok=True)
            im.save(dst, "JPEG", quality=JPEG_QUALITY, optimize=True)
    with Image.open(dst) as im:
        return im.convert("RGB")


def product_of(photo: ClothingPhoto, image: Path, img: Image.Image) -> CatalogItem:
    """One catalog row: category mapped, colour from the photo's own pixels, readable name, invented price."""
    pid = photo.path.stem
    category = CLOTHING_CLASS_MAP[photo.label]
    color = dominant_color(img, category=category)  # garment masked; the category says where a worn one sits
    name = f"{color.title()} {GARMENTS[photo.label][0]}"
    return CatalogItem(id=pid, image=str(image), name=name, category=category, color=color,
                       price=demo_price(pid, photo.label), extra={"garment": photo.label, "price_note": PRICE_NOTE})


def _write_photos(photos: list[ClothingPhoto], folder: Path, force: bool, desc: str) -> list[CatalogItem]:
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{p.path.stem}.jpg" for p in photos}
    for stale in folder.glob("*.jpg"):  # a previous selection's photos
        if stale.name not in wanted:
            stale.unlink()
    items = []
    for p in tqdm(photos, desc=desc, unit="img"):
        dst = folder / f"{p.path.stem}.jpg"
        items.append(product_of(p, dst, _save_small(p.path, dst, force)))
    return items


def compose_board(photos: list[Path]) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """3–4 photos as framed tiles on a light page (a 2×2 grid; with 3, the first is a tall tile); their boxes."""
    board = Image.new("RGB", (BOARD_SIDE, BOARD_SIDE), BOARD_BACKGROUND)
    m, half = 16, BOARD_SIDE // 2
    cells = [(m, m, half - m // 2, half - m // 2), (half + m // 2, m, BOARD_SIDE - m, half - m // 2),
             (m, half + m // 2, half - m // 2, BOARD_SIDE - m), (half + m // 2, half + m // 2, BOARD_SIDE - m, BOARD_SIDE - m)]
    if len(photos) == 3:
        cells = [(m, m, half - m // 2, BOARD_SIDE - m), cells[1], cells[3]]
    boxes = []
    for path, (x0, y0, x1, y1) in zip(photos, cells):
        with Image.open(path) as im:
            tile = im.convert("RGB")
        scale = min((x1 - x0) / tile.width, (y1 - y0) / tile.height, 1.0)
        tile = tile.resize((round(tile.width * scale), round(tile.height * scale)), Image.LANCZOS)
        px, py = x0 + (x1 - x0 - tile.width) // 2, y0 + (y1 - y0 - tile.height) // 2
        board.paste(tile, (px, py))
        boxes.append((px, py, px + tile.width, py + tile.height))
    return board, boxes


def write_boards(queries: list[CatalogItem], folder: Path) -> list[dict]:
    """Boards of query photos (never catalog products) per BOARD_OUTFITS, plus boards.json with their boxes."""
    folder.mkdir(parents=True, exist_ok=True)
    by_cat: dict[str, list[CatalogItem]] = {}
    for q in queries:
        by_cat.setdefault(q.category, []).append(q)
    used: Counter = Counter()
    records = []
    for k, outfit in enumerate(BOARD_OUTFITS, start=1):
        chosen = []
        for cat in outfit:
            pool = by_cat.get(cat, [])
            if pool:
                chosen.append(pool[used[cat] % len(pool)])
                used[cat] += 1
        board, boxes = compose_board([Path(q.image) for q in chosen])
        name = f"board-{k}.jpg"
        board.save(folder / name, "JPEG", quality=85, optimize=True)
        records.append({"image": name, "items": [{"query": q.id, "category": q.category, "color": q.color,
                                                   "box": list(box)} for q, box in zip(chosen, boxes)]})
    (folder / "boards.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return records


def folder_megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def makeup_table(items: list[CatalogItem]) -> str:
    """Markdown: products per category and colour family, with totals (the README's make-up section)."""
    from stylist.colors import color_family

    cats = sorted(Counter(it.category for it in items).items(), key=lambda kv: -kv[1])
    fams = Counter(color_family(it.color) or it.color for it in items)
    cols = [f for f, _ in fams.most_common()]
    lines = ["| category | " + " | ".join(cols) + " | total |", "|---" * (len(cols) + 2) + "|"]
    for cat, total in cats:
        row = Counter(color_family(it.color) or it.color for it in items if it.category == cat)
        lines.append(f"| {cat} | " + " | ".join(str(row.get(c, 0) or "") for c in cols) + f" | {total} |")
    lines.append("| **all** | " + " | ".join(str(fams[c]) for c in cols) + f" | {len(items)} |")
    garments = Counter(it.extra.get("garment", "") for it in items)
    lines += ["", "Garment types (the dataset's labels): "
              + ", ".join(f"{g} {n}" for g, n in garments.most_common()) + "."]
    return "\n".join(lines)


def write_readme(folder: Path, items: list[CatalogItem], queries: list[CatalogItem], megabytes: float) -> Path:
    """README.md with the source and licence, how the data was made, and its make-up (regenerated each build)."""
    prices = [it.price for it in items if it.price is not None]
    qcats = Counter(q.category for q in queries)
    text = README_TEMPLATE.format(
        products=len(items), queries=len(queries), megabytes=megabytes, max_side=MAX_SIDE, quality=JPEG_QUALITY,
        makeup=makeup_table(items), lo=min(prices), hi=max(prices),
        under30=sum(p < 30 for p in prices), qcats=", ".join(f"{c} {n}" for c, n in sorted(qcats.items())),
        ranges="; ".join(f"{name} {lo}–{hi}" for name, lo, hi in GARMENTS.values()),
    )
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def build_demo_catalog(root: str | Path | None = None, out_dir: str | Path = DEMO_CLOTHING_DIR,
                       n_catalog: int = 1000, n_queries: int = 20, seed: int = 0,
                       force: bool = False) -> DemoCatalogReport:
    """Write images/, catalog.csv, queries/ (+ queries.csv), boards/ (+ boards.json) and README.md under ``out_dir``."""
    out = Path(out_dir)
    catalog, queries = select_photos(load_clothing(root), n_catalog, n_queries, seed)
    items = _write_photos(catalog, out / "images", force, "demo catalog photos")
    query_items = _write_photos(queries, out / "queries", force, "query photos")
    csv_path = write_catalog(items, out / "catalog.csv")
    write_catalog(query_items, out / "queries" / "queries.csv")
    for stale in (out / "boards").glob("board-*.jpg"):
        stale.unlink()
    boards = write_boards(query_items, out / "boards")
    megabytes = folder_megabytes(out)
    write_readme(out, items, query_items, megabytes)
    if megabytes > BUDGET_MB:
        raise ValueError(f"{out} is {megabytes:.1f} MB, over the {BUDGET_MB:.0f} MB budget: lower JPEG_QUALITY or n")
    return DemoCatalogReport(csv_path, len(items), len(query_items), len(boards), megabytes)


def color_sheet(csv_path: str | Path, out: str | Path, n: int = 30, cols: int = 6, side: int = 150) -> Path:
    """A contact sheet of ``n`` products (evenly spread over the CSV) captioned with name, colour and price."""
    items = read_catalog(csv_path)
    step = max(1, len(items) // n)
    shown = items[::step][:n]
    rows = -(-len(shown) // cols)
    cap = 34
    sheet = Image.new("RGB", (cols * side, rows * (side + cap)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for k, it in enumerate(shown):
        x, y = (k % cols) * side, (k // cols) * (side + cap)
        with Image.open(it.image) as im:
            im = im.convert("RGB")
            im.thumbnail((side - 6, side - 6))
            sheet.paste(im, (x + (side - im.width) // 2, y + (side - im.height) // 2))
        draw.text((x + 4, y + side), it.name[:24], fill="black", font=font)
        draw.text((x + 4, y + side + 14), f"colour: {it.color}  {it.price:.2f}", fill=(90, 90, 90), font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


README_TEMPLATE = """# Embedded demo catalog: real clothing photos (CC0 1.0)

{products:,} photos of real garments — on floors, beds, hangers, sometimes worn — for `stylist demo` and anyone
who wants to try the search without data of their own. They come from the **clothing-dataset** by Alexey
Grigorev, <https://github.com/alexeygrigorev/clothing-dataset>, released under **CC0 1.0 Universal** (public
domain dedication, <https://creativecommons.org/publicdomain/zero/1.0/>): no rights reserved, no attribution
required; we name the source anyway. The photos here are downscaled copies (longest side {max_side} px, JPEG
quality {quality}); {megabytes:.1f} MB in all.

Written by `stylist data demo-catalog` (training/data/demo_catalog.py) from the dataset's `images.csv`
and photos; re-running it rewrites `catalog.csv`, `queries/queries.csv`, the boards and this README, and
keeps photos that are already there (`--force` rewrites them too).

## Files
- `catalog.csv`: the catalog, in the same format as any user's (`stylist index build data/demo-clothing/catalog.csv`):
  - `id`: the dataset's photo id; `image`: `images/<id>.jpg`.
  - `category`: the dataset's garment type mapped onto our classes (`stylist.schema.CLOTHING_CLASS_MAP`);
    the original type is kept in the `garment` column.
  - `color`: read from the garment's own pixels by `stylist.colors.dominant_color` (the garment is masked
    from the floor, bed or hanger around it; the category tells where a worn one sits on the body); a
    machine's reading, not a human label.
    The builder also writes a contact sheet of 30 products with their colour names (`--sheet`, not
    committed) to check them by eye.
  - `name`: colour + garment, e.g. "Red T-Shirt".
  - `price`: **invented demo data** (the dataset has no prices): a stable number hashed from the id, in a
    plausible range per garment type; every row says so in `price_note`. Ranges: {ranges}.
    Prices run {lo:.2f}–{hi:.2f}; {under30} products are under 30.
- `queries/`: {queries} query photos ({qcats}) from the product split no model trained on, **not in
  the catalog** — search with them to see real retrieval, not an exact match. `queries/queries.csv` gives
  their category and colour, for measuring.
- `boards/board-*.jpg`: style boards composed from the query photos (3–4 garments on a light page);
  `boards/boards.json` lists each board's photos with their boxes and categories.

## Selection
Deterministic (a hash of each photo id) and balanced over categories, and within a category over the
dataset's garment types; photos the dataset marks as children's clothes are left out.

## Make-up (products per category and colour family)
{makeup}
"""
