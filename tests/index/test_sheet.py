"""The contact sheet: query images with numbered boxes, then each item's results."""
from __future__ import annotations

from PIL import Image

from index.sheet import SheetRow, contact_sheet
from stylist.draw import PALETTE
from stylist.results import Detection, ItemResult, ParsedQuery, Product


def test_contact_sheet_draws_boxes_and_results(tmp_path):
    img = Image.new("RGB", (200, 200), "white")
    det = Detection(0, "Shoes", 0.9, (20.0, 30.0, 120.0, 150.0))
    res = ItemResult(0, ParsedQuery("in red", ["red"]), [Product("p", 0.9, image=str(tmp_path / "missing.png"))])
    out = contact_sheet([SheetRow("q", img, [det], [res]), SheetRow("text", None, [], [res])], tmp_path / "s.png")
    sheet = Image.open(out).convert("RGB")
    assert sheet.height > 300
    # the 200-px query is pasted unscaled at (10, 34): the box's left edge (x=20, y=90) is item 0's colour
    assert sheet.getpixel((10 + 20, 34 + 90)) == PALETTE[0]
