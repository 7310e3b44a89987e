"""Fixtures for the web tests: one real playground (real Stylist, real bot, real Bot API server) per session,
served from a background thread so that synchronous clients (Playwright, aiohttp in asyncio.run) talk to it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.helpers.bot_catalog import make_board
from tests.helpers.bot_harness import build_tiny_stylist
from web.playground import Playground, PlaygroundThread

THREE = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]


@pytest.fixture(scope="session")
def web_stylist(tmp_path_factory):
    """The real search engine over the tiny generated catalog (72 products)."""
    return build_tiny_stylist(tmp_path_factory.mktemp("web-stylist"))


@pytest.fixture(scope="session")
def boards(web_stylist, tmp_path_factory) -> dict[str, Path]:
    """Outfit photos on disk, their true items registered with the detector wrapper (sizes identify them)."""
    root = tmp_path_factory.mktemp("web-boards")
    made = {
        "three": make_board(THREE, (600, 300)),
        "two": make_board([("Pants", "green"), ("Hats", "yellow")], (500, 300)),
        "one": make_board([("Handbags", "red")], (320, 320)),
    }
    out = {}
    for name, board in made.items():
        web_stylist.detector.register(board)
        out[name] = root / f"{name}.jpg"
        out[name].write_bytes(board.jpeg)
    return out


@pytest.fixture(scope="session")
def playground(web_stylist, boards) -> Iterator[Playground]:
    served = PlaygroundThread(web_stylist.config, web_stylist, [boards["three"], boards["one"]])
    try:
        yield served.start()
    finally:
        served.stop()
