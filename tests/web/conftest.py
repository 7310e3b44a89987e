"""Fixtures for the web tests: one real playground (real Stylist, real bot, real Bot API server) per session,
served from a background thread so that synchronous clients (Playwright, aiohttp in asyncio.run) talk to it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from stylist.metrics import best_match
from tests.helpers.bot_catalog import make_grid_board
from tests.helpers.bot_harness import build_tiny_stylist
from web.playground import Playground, PlaygroundThread

# Boards the bundled detector handles (2×2 grids of products on white, as in the bot's flow tests): the
# page flows run on its real boxes. The ``boards`` fixture checks that premise first.
GRID = [("Shirts & Tops", "blue"), ("Pants", "black"), ("Handbags", "green"), ("Shoes", "yellow")]
BOARDS = {"four": GRID, "two": [("Pants", "green"), ("Handbags", "yellow")], "one": [("Handbags", "red")]}


@pytest.fixture(scope="session")
def web_stylist(tmp_path_factory):
    """The real search engine over the tiny generated catalog (72 products)."""
    return build_tiny_stylist(tmp_path_factory.mktemp("web-stylist"))


@pytest.fixture(scope="session")
def boards(web_stylist, tmp_path_factory) -> dict[str, Path]:
    """Outfit photos on disk, after checking the real detector boxes each item with its own class."""
    root = tmp_path_factory.mktemp("web-boards")
    out = {}
    for name, items in BOARDS.items():
        board = make_grid_board(items)
        found = web_stylist.detect_items(web_stylist.load_image(board.jpeg))
        matched = [best_match(item.box, [d.box for d in found], 0.5) for item in board.items]
        assert len(found) == len(items) and all(m >= 0 for m in matched), (name, found)
        assert [found[m].label for m in matched] == [category for category, _ in items], (name, found)
        out[name] = root / f"{name}.jpg"
        out[name].write_bytes(board.jpeg)
    return out


@pytest.fixture(scope="session")
def playground(web_stylist, boards) -> Iterator[Playground]:
    served = PlaygroundThread(web_stylist.config, web_stylist, [boards["four"], boards["one"]])
    try:
        yield served.start()
    finally:
        served.stop()
