"""`stylist demo` (demo/) on a small slice of the committed Fashion-MNIST data: boards, searches, contact sheet."""
from __future__ import annotations

from PIL import Image

from demo.boards import compose_boards
from demo.run import main
from tests.helpers.catalog import make_catalog
from stylist.catalog import read_catalog


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
