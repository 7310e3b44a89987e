"""`stylist demo` on a small slice of the committed Fashion-MNIST data: boards, searches, contact sheet."""
from __future__ import annotations

from PIL import Image

from index.demo import compose_boards, main
from index.sheet import SheetRow, contact_sheet, draw_boxes
from search_helpers import make_catalog
from stylist.catalog import read_catalog
from stylist.results import Detection, ItemResult, ParsedQuery, Product


def test_demo_end_to_end(stylist_home, capsys):
    assert main(["--limit", "120", "--top", "3"]) == 0
    out = capsys.readouterr().out
    sheet = stylist_home / "demo" / "fashion-mnist" / "contact_sheet.png"
    assert f"contact sheet: {sheet}" in out
    assert 'text only: "black leather bag under 50"' in out and "understood: Shoes · under 30" in out
    with Image.open(sheet) as im:
        assert im.width > 600 and im.height > 1000
    assert main(["--limit", "120", "--top", "3"]) == 0  # second run: catalog and index are reused
    assert "120 unchanged" in capsys.readouterr().out


def test_boards_are_made_of_catalog_products(tmp_path):
    items = read_catalog(make_catalog(tmp_path / "cat", per_combo=1))
    boards = compose_boards(items, tmp_path / "boards")
    assert set(boards) == {"outfit", "second", "photo"}
    ids = {it.id for it in items}
    for path, used in boards.values():
        assert path.exists() and used and set(used) <= ids


def test_contact_sheet_draws_boxes_and_results(tmp_path):
    img = Image.new("RGB", (200, 200), "white")
    det = Detection(0, "Shoes", 0.9, (20.0, 30.0, 120.0, 150.0))
    boxed = draw_boxes(img, [det])
    assert boxed.getpixel((20, 90)) != (255, 255, 255)  # the box's left edge is drawn
    res = ItemResult(0, ParsedQuery("in red", ["red"]), [Product("p", 0.9, image=str(tmp_path / "missing.png"))])
    out = contact_sheet([SheetRow("q", img, [det], [res]), SheetRow("text", None, [], [res])], tmp_path / "s.png")
    assert out.exists() and Image.open(out).height > 300
