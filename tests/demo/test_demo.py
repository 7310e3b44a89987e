"""`stylist demo` (demo/) on small slices of the committed catalogs: clothing photos (default) and Fashion-MNIST."""
from __future__ import annotations

import re

from PIL import Image

from demo.boards import compose_boards
from demo.run import main
from tests.helpers.catalog import make_catalog
from stylist.catalog import read_catalog
from stylist.colors import color_family

PRODUCT_LINE = re.compile(r"^\s+\d+\.\s+-?[\d.]+\s+.{18} (\S+)")


def _colours(out: str, header: str) -> list[str]:
    """The colour column of every product line in the printed block that starts with ``header``."""
    block = out.split(f"== {header}\n", 1)[1].split("\n== ", 1)[0]
    return [m.group(1) for line in block.splitlines() if (m := PRODUCT_LINE.match(line))]


def test_clothing_demo_is_the_default_and_in_red_works(stylist_home, capsys):
    assert main(["--limit", "60", "--top", "3", "--queries", "2"]) == 0
    out = capsys.readouterr().out
    sheet = stylist_home / "demo" / "clothing" / "contact_sheet.png"
    assert f"contact sheet: {sheet}" in out and "indexing 60 products" in out
    plain, red = _colours(out, "board-1.jpg"), _colours(out, 'board-1.jpg  + "in red"')
    assert plain and len(red) == len(plain)
    reds = sum(color_family(c) == "red" for c in red)
    assert reds >= 1 and reds > sum(color_family(c) == "red" for c in plain), (plain, red)
    # "in red" keeps each item's (fused) kind; the 60-product slice is short of red shoes and says so
    assert "showing Shoes · red" in out.split('board-1.jpg  + "in red"', 1)[1].split("\n== ", 1)[0]
    # the query photo's price wish is understood (as "under 30", or relaxed within the kind it was read as)
    assert re.search(r"understood: [^\]]*under 30", out), out
    assert 'text only: "red dress under 50"' in out
    assert "2 held-out query photos (not in the catalog), top 3 each" in out
    with Image.open(sheet) as im:
        assert im.width > 600 and im.height > 1000
    assert main(["--limit", "60", "--top", "3", "--queries", "0"]) == 0  # second run: the index is reused
    out = capsys.readouterr().out
    assert "60 unchanged" in out and "held-out query photos" not in out


def test_fashion_mnist_demo_stays_an_option(stylist_home, capsys):
    assert main(["--source", "fashion-mnist", "--limit", "80", "--top", "3"]) == 0
    out = capsys.readouterr().out
    sheet = stylist_home / "demo" / "fashion-mnist" / "contact_sheet.png"
    assert f"contact sheet: {sheet}" in out and "indexing 80 products" in out
    assert 'text only: "black leather bag under 50"' in out and "understood: Shoes · under 30" in out
    with Image.open(sheet) as im:
        assert im.width > 600 and im.height > 1000


def test_boards_are_made_of_catalog_products(tmp_path):
    items = read_catalog(make_catalog(tmp_path / "cat", per_combo=1))
    boards = compose_boards(items, tmp_path / "boards")
    assert set(boards) == {"outfit", "second", "photo"}
    ids = {it.id for it in items}
    for path, used in boards.values():
        assert path.exists() and used and set(used) <= ids
