"""Run updates from different shoppers concurrently while each shopper's own updates stay in order.

PTB's ``concurrent_updates`` runs every update as its own task; this processor puts one asyncio.Lock
per (user, chat) in front of each, so a second photo or a quick "More" waits for that shopper's
previous search, never for anyone else's. Locks are FIFO and dropped once nobody holds or awaits them.

Floods are bounded per shopper: a new photo supersedes that shopper's photos still waiting (the newest
wins; each older one is answered "skipped, a newer photo arrived" at once and frees its slot), and at
most ``max_waiting`` updates per shopper wait at all (the oldest waiting one is skipped). So forty
photos in a row cost one search in progress plus the last one, and queued memory stays small.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot import views

log = logging.getLogger(__name__)

MAX_WAITING_PER_SHOPPER = 8


def update_key(update: object) -> tuple[int, int] | None:
    """(user id, chat id) of an update, or None when it has neither (e.g. a poll result)."""
    if not isinstance(update, Update):
        return None
    user, chat = update.effective_user, update.effective_chat
    if user is None and chat is None:
        return None
    return (user.id if user else 0, chat.id if chat else 0)


def is_photo(update: object) -> bool:
    """A photo or an image file: the kind of update a newer one of the same kind makes pointless."""
    message = update.effective_message if isinstance(update, Update) else None
    if message is None or update.callback_query is not None:  # type: ignore[union-attr]
        return False
    doc = message.document
    return bool(message.photo) or bool(doc and (doc.mime_type or "").startswith("image/"))


@dataclass(eq=False)
class _Waiting:
    key: tuple[int, int]
    update: object
    photo: bool
    skipped: asyncio.Event = field(default_factory=asyncio.Event)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across (user, chat) keys, sequential within one, with a bounded wait list per key."""

    def __init__(self, max_concurrent_updates: int = 256, max_waiting: int = MAX_WAITING_PER_SHOPPER) -> None:
        super().__init__(max_concurrent_updates)
        self.max_waiting = max_waiting
        self._locks: dict[tuple[int, int], asyncio.Lock] = {}
        self._users: dict[tuple[int, int], int] = {}
        self._waiting: dict[tuple[int, int], list[_Waiting]] = {}
        self._notices: set[asyncio.Task] = set()
        self.skipped = 0  # updates answered "skipped" since start (for logs and benchmarks)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        entry = self._enqueue(key, update)
        try:
            if await self._acquire(lock, entry):
                self._waiting_remove(entry)  # running now: a newer photo no longer skips it
                try:
                    await coroutine
                finally:
                    lock.release()
            else:
                coroutine.close()  # type: ignore[attr-defined] - never started: nothing to undo
        finally:
            self._waiting_remove(entry)
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
                self._waiting.pop(key, None)

    def _enqueue(self, key: tuple[int, int], update: object) -> _Waiting:
        waiting = self._waiting.setdefault(key, [])
        entry = _Waiting(key, update, is_photo(update))
        if entry.photo:
            for older in [w for w in waiting if w.photo]:
                self._skip(older, views.SKIPPED_PHOTO)
        waiting.append(entry)
        while len(waiting) > self.max_waiting:
            self._skip(waiting[0], views.SKIPPED_BUSY)
        return entry

    def _skip(self, entry: _Waiting, text: str) -> None:
        """Take ``entry`` off the wait list and tell the shopper (in the background: never blocks the queue)."""
        self._waiting_remove(entry)
        entry.skipped.set()
        self.skipped += 1
        task = asyncio.create_task(_tell(entry.update, text))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    def _waiting_remove(self, entry: _Waiting) -> None:
        waiting = self._waiting.get(entry.key, [])
        if entry in waiting:
            waiting.remove(entry)

    @staticmethod
    async def _acquire(lock: asyncio.Lock, entry: _Waiting) -> bool:
        """Wait for the shopper's turn; False when this update was skipped while waiting."""
        if entry.skipped.is_set():
            return False
        acquire = asyncio.ensure_future(lock.acquire())
        skip = asyncio.ensure_future(entry.skipped.wait())
        try:
            await asyncio.wait({acquire, skip}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            skip.cancel()
            if not acquire.done():
                acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
        got = acquire.done() and not acquire.cancelled()
        if got and entry.skipped.is_set():
            lock.release()
            return False
        return got

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Let the last "skipped" notices go out."""
        if self._notices:
            await asyncio.wait(set(self._notices), timeout=5)


async def _tell(update: object, text: str) -> None:
    try:
        if isinstance(update, Update) and update.callback_query is not None:
            await update.callback_query.answer(text)
        elif isinstance(update, Update) and update.effective_message is not None:
            await update.effective_message.reply_text(text)
    except (TelegramError, RuntimeError) as exc:  # RuntimeError: an update not tied to a bot (tests)
        log.warning("could not tell a shopper their update was skipped: %s", type(exc).__name__)
