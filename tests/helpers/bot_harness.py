"""Test harness: the real Stylist on a tiny catalog, the real PTB bot polling the fake server, and shoppers.

The shopper flows (photo → items → album → words → More, All items, one item, no item, a file) use the
real detector's boxes on boards it handles: ``make_grid_board``'s 2×2 grids of products on white, and
an empty canvas; each such test first checks the detector boxes every item with its class.

The one seam is the detector's *output* for boards a test *registers*: ``BoardTruthDetector`` runs the
real detector on every photo (so its cost and locking are real) and then returns the registered board's
true boxes. Only tests about something else use it — sessions, buttons after a restart or a reset, the
allow-list, faults, ten shoppers at once — because they need one fixed item list on many differently sized
boards (the size is what tells boards apart), which the flat side-by-side shapes of ``make_board`` do not
reliably give the trained detector. Cropping, embedding, Chroma and CLIP re-ranking are never faked.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import AsyncIterator

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from stylist.config import Config, load_config
from stylist.results import Detection
from tests.helpers.bot_catalog import Board, write_catalog
from web.botapi import BotApiServer, Call


class BoardTruthDetector:
    """Wraps the real detector; for known board sizes returns the board's true items (see module doc)."""

    def __init__(self, real) -> None:
        self.real = real
        self.boards: dict[tuple[int, int], list[Detection]] = {}
        self.gates: dict[tuple[int, int], threading.Event] = {}  # hold a board's detection until set
        self.errors: dict[tuple[int, int], Exception] = {}  # fault injection: raise for this board
        self.calls = 0
        self.held = 0  # detections waiting at a gate right now (a test waits for its search to be in progress)

    @property
    def classes(self):
        return self.real.classes

    def register(self, board: Board) -> Board:
        self.boards[board.size] = list(board.items)
        return board

    def detect(self, img) -> list[Detection]:
        gate = self.gates.get(img.size)
        if gate is not None:
            self.held += 1
            try:
                if not gate.wait(60):
                    raise TimeoutError("test gate never opened")
            finally:
                self.held -= 1
        if img.size in self.errors:
            raise self.errors[img.size]
        found = self.real.detect(img)
        self.calls += 1
        return list(self.boards[img.size]) if img.size in self.boards else found


def tiny_config(root: Path, **env: str) -> Config:
    """A Config whose index lives under ``root`` (never the user's)."""
    return load_config(env={"STYLIST_HOME": str(root / "home"), "STYLIST_DB": str(root / "chroma"), **env})


def build_tiny_stylist(root: Path):
    """Write the made-up catalog, index it with the real index builder and open a real Stylist."""
    from index.build import build_index
    from stylist.search import Stylist
    from stylist.models import shared_clip, shared_detector, shared_embedder
    from stylist.store import CatalogStore

    config = tiny_config(root)
    csv_path = write_catalog(root / "catalog")
    embedder, clip = shared_embedder(config), shared_clip(config)
    report = build_index(config, csv_path, embedder, clip, progress=False)
    assert report.embedded > 0 and not report.skipped, report.summary()
    detector = BoardTruthDetector(shared_detector(config))
    return Stylist(config, detector, embedder, clip, CatalogStore.open(config))


def bot_config(fake: BotApiServer, root: Path, **env: str) -> Config:
    return tiny_config(root, TELEGRAM_BOT_TOKEN=fake.token, STYLIST_TELEGRAM_API_URL=fake.api_url,
                       STYLIST_TELEGRAM_FILE_URL=fake.file_url, **env)


@contextlib.asynccontextmanager
async def running_bot(config: Config, stylist, **kwargs) -> AsyncIterator[Application]:
    """Start the bot as ``run_polling`` would (initialize, post_init, start, poll) and stop it after."""
    application = build_application(config, stylist, **kwargs)
    async with application:
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


class Shopper:
    """A Telegram user in a private chat with the bot: sends things, taps buttons, awaits replies in order."""

    def __init__(self, fake: BotApiServer, user_id: int) -> None:
        self.fake, self.user_id, self.chat_id = fake, user_id, user_id
        self.cursor = 0  # position in fake.calls after the last reply this shopper consumed

    def send(self, **content) -> None:
        self.fake.push_update(message=self.fake.message(self.user_id, **content))

    def photo(self, jpeg: bytes, caption: str | None = None, size: tuple[int, int] = (640, 480)) -> None:
        info = self.fake.add_file(jpeg)
        sizes = [{**info, "width": size[0], "height": size[1]}]
        self.send(photo=sizes, **({"caption": caption} if caption else {}))

    def document(self, data: bytes, file_name: str, mime_type: str, size: int | None = None,
                 caption: str | None = None) -> None:
        info = self.fake.add_file(data, suffix=file_name.rsplit(".", 1)[-1], size=size)
        self.send(document={**info, "file_name": file_name, "mime_type": mime_type},
                  **({"caption": caption} if caption else {}))

    def say(self, text: str) -> None:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.send(text=text, **({"entities": entities} if entities else {}))

    def tap(self, call: Call, button_text: str) -> str:
        """Tap the button labelled ``button_text`` under the message ``call`` sent; returns the query id."""
        for row in call.buttons():
            for text, data in row:
                if text == button_text:
                    return self.tap_data(call.result, data)
        raise AssertionError(f"no button {button_text!r}; buttons: {call.button_texts()}")

    def tap_data(self, message: dict, data: str) -> str:
        return self.fake.callback(self.user_id, message, data)

    async def expect(self, method: str, timeout: float = 30.0) -> Call:
        """The next call of ``method`` to this chat (skipping others, e.g. chat actions)."""
        pos, call = await self.fake.wait_for(lambda c: c.chat_id == self.chat_id and c.method == method,
                                             start=self.cursor, timeout=timeout)
        self.cursor = pos + 1
        return call

    async def answer_to(self, query_id: str, timeout: float = 30.0) -> Call:
        _, call = await self.fake.wait_for(lambda c: c.method == "answerCallbackQuery"
                                           and c.params.get("callback_query_id") == query_id, timeout=timeout)
        return call

    def replies(self) -> list[Call]:
        """Everything the bot sent this chat (chat actions excluded)."""
        return [c for c in self.fake.calls_to(self.chat_id) if c.method != "sendChatAction"]
