"""Run updates from different shoppers concurrently while each shopper's own updates stay in order.

PTB's ``concurrent_updates`` runs every update as its own task; this processor puts one asyncio.Lock
per (user, chat) in front of each, so a second photo or a quick "More" waits for that shopper's
previous search, never for anyone else's. Locks are FIFO and dropped once nobody holds or awaits them.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_key(update: object) -> tuple[int, int] | None:
    """(user id, chat id) of an update, or None when it has neither (e.g. a poll result)."""
    if not isinstance(update, Update):
        return None
    user, chat = update.effective_user, update.effective_chat
    if user is None and chat is None:
        return None
    return (user.id if user else 0, chat.id if chat else 0)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across (user, chat) keys, sequential within one."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[int, int], asyncio.Lock] = {}
        self._users: dict[tuple[int, int], int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free; locks go with their last user."""
