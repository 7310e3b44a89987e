"""The playground's set-up: which photos the page offers."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from stylist.catalog import read_catalog
from web.playground import SINGLE_ITEM_PHOTOS, demo_photos


def test_demo_photos_are_boards_then_single_products_of_different_kinds(web_stylist, tmp_path):
    items = read_catalog(Path(web_stylist.config.home).parent / "catalog" / "catalog.csv")
    photos = demo_photos(items, tmp_path)
    boards, singles = photos[:-SINGLE_ITEM_PHOTOS], photos[-SINGLE_ITEM_PHOTOS:]
    assert boards and all(p.parent == tmp_path / "boards" and Image.open(p).size == (640, 640) for p in boards)
    by_image = {Path(it.image): it for it in items}
    assert all(p in by_image for p in singles)
    assert len({by_image[p].category for p in singles}) == SINGLE_ITEM_PHOTOS
