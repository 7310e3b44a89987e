"""The default demo: the committed CC0 clothing catalog, its held-out query photos and boards, colour and price words.

Nothing is generated: data/demo-clothing/ (written by ``stylist data demo-catalog``) holds the catalog CSV,
the query photos that are not in it and boards composed from them. The searches show a board as is and
"in red" (a colour the catalog's real photos carry), a single-garment photo as is and "under 30", words
alone, then the numbers over all query photos (demo.measure).
"""
from __future__ import annotations

from pathlib import Path

from demo.measure import RefinementReport, measure_queries
from index.sheet import SheetRow
from stylist.catalog import CatalogItem, read_catalog, write_catalog
from training.data.demo_catalog import DEMO_CLOTHING_DIR

BOARD = "board-1.jpg"
PHOTO_CATEGORY = "Pants"  # the single-garment query photo shown with a price: trousers span 25–89
SEARCHES = ((BOARD, None), (BOARD, "in red"), ("photo", None), ("photo", "under 30"))
TEXT_ONLY = "red dress under 50"


def clothing_catalog(work: Path, limit: int | None, folder: Path = DEMO_CLOTHING_DIR) -> Path:
    """The committed catalog CSV, or its first ``limit`` rows (balanced over categories) as a CSV in ``work``."""
    csv_path = folder / "catalog.csv"
    if limit is None:
        return csv_path
    items = read_catalog(csv_path)
    if limit >= len(items):
        return csv_path
    return write_catalog(items[:limit], work / f"catalog-{limit}.csv")  # image paths stay absolute


def query_photos(folder: Path = DEMO_CLOTHING_DIR) -> list[CatalogItem]:
    """The held-out query photos with their category and colour."""
    return read_catalog(folder / "queries" / "queries.csv")


def _photo_for(queries: list[CatalogItem]) -> CatalogItem:
    return next((q for q in queries if q.category == PHOTO_CATEGORY), queries[0])


def clothing_searches(stylist, top: int, n_queries: int | None, folder: Path = DEMO_CLOTHING_DIR,
                 say=print) -> tuple[list[SheetRow], RefinementReport | None]:
    """Print each search as a table and return the contact-sheet rows plus the query-photo numbers."""
    from stylist.search_cli import format_table

    queries = query_photos(folder)
    photo = _photo_for(queries)
    paths = {BOARD: folder / "boards" / BOARD, "photo": Path(photo.image)}
    rows = []
    for key, text in SEARCHES:
        path = paths[key]
        label = path.name if key == BOARD else f"{path.name[:8]}….jpg ({photo.name}, not in the catalog)"
        img = stylist.load_image(path)
        detections, results = stylist.search_image(img, "all" if key == BOARD else None, text, top)
        say(format_table(label + (f'  + "{text}"' if text else ""), detections, results))
        rows.append(SheetRow(label + (f' + "{text}"' if text else " (no text)"), img, detections, results))
    res = stylist.search_text(TEXT_ONLY, top)
    say(format_table(f'text only: "{TEXT_ONLY}"', [], [res], text_only=True))
    rows.append(SheetRow(f'text only: "{TEXT_ONLY}"', None, [], [res]))
    report = None
    if n_queries != 0:
        report = measure_queries(stylist, queries[:n_queries], top)
        say("\n".join(report.lines()))
    return rows, report
