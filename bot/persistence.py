"""Shopper state that survives restarts: a small SQLite ``BasePersistence`` for PTB's per-user data.

PTB keeps ``user_data`` in memory and, every ``update_interval`` seconds and at shutdown, hands us each
user whose data changed; we store it as one pickled row per user. SQLite (WAL, one transaction per write,
a lock around the connection) makes concurrent writes safe, and a killed process loses at most the last
interval. Only user data is stored: ``bot_data`` holds the loaded models and is rebuilt at start-up, and
the bot keeps no chat data, callback data or conversations. Photos are not in here (bot.photos).
"""
from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

SCHEMA = "CREATE TABLE IF NOT EXISTS user_data (user_id INTEGER PRIMARY KEY, data BLOB NOT NULL)"


class SqlitePersistence(BasePersistence):
    """``user_data`` rows in one SQLite file; everything else is not persisted."""

    def __init__(self, path: str | Path, update_interval: float = 2.0) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                     callback_data=False), update_interval=update_interval)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)

    # --- user data: the one thing stored ---------------------------------------------------------------
    async def get_user_data(self) -> dict[int, Any]:
        with self._lock:
            rows = self._db.execute("SELECT user_id, data FROM user_data").fetchall()
        out: dict[int, Any] = {}
        for user_id, blob in rows:
            try:
                out[int(user_id)] = pickle.loads(blob)
            except Exception:  # noqa: BLE001 - a row from an older, incompatible version: start that user afresh
                continue
        return out

    async def update_user_data(self, user_id: int, data: Any) -> None:
        blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._db.execute("INSERT INTO user_data (user_id, data) VALUES (?, ?) "
                             "ON CONFLICT(user_id) DO UPDATE SET data = excluded.data", (user_id, blob))

    async def drop_user_data(self, user_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM user_data WHERE user_id = ?", (user_id,))

    async def refresh_user_data(self, user_id: int, user_data: Any) -> None:
        """Nothing to refresh: this process is the only writer of its file."""

    async def flush(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- not persisted ---------------------------------------------------------------------------------
    async def get_chat_data(self) -> dict[int, Any]:
        return {}

    async def get_bot_data(self) -> Any:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict:
        return {}

    async def update_conversation(self, name: str, key: tuple, new_state: object | None) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: Any) -> None:
        return None

    async def update_bot_data(self, data: Any) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Any) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Any) -> None:
        return None
