"""Fixtures for the web tests: one real playground (real Stylist, real bot, real Bot API server) per session,
served from a background thread so that synchronous clients (Playwright, urllib) can talk to it."""
from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bot"))  # the tiny catalog + stylist helpers

from bot_catalog import make_board  # noqa: E402
from bot_harness import build_tiny_stylist  # noqa: E402
from web.playground import Playground, running_playground  # noqa: E402

THREE = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]


class ThreadedPlayground:
    """``running_playground`` in its own event loop and thread; ``stop()`` leaves it cleanly."""

    def __init__(self, stylist, demo_photos: list[Path]) -> None:
        self.stylist, self.demo_photos = stylist, demo_photos
        self.playground: Playground | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with running_playground(self.stylist.config, self.stylist, self.demo_photos) as playground:
                self.playground = playground
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - surfaced by start()
            self._error = exc
            self._ready.set()

    def start(self) -> Playground:
        self._thread.start()
        if not self._ready.wait(120) or self.playground is None:
            raise RuntimeError(f"the playground did not start: {self._error!r}")
        return self.playground

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


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
    served = ThreadedPlayground(web_stylist, [boards["three"], boards["one"]])
    try:
        yield served.start()
    finally:
        served.stop()
