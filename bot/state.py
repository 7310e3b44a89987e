"""Per-(user, chat) search sessions held in memory: the photo, its items and the last search; idle ones expire.

Buttons carry a short random ``nonce`` naming the session they were made for (Telegram allows only
64 bytes of callback data), so a button from an older photo, an expired session or a previous bot
process is recognised as stale instead of acting on the wrong picture.
"""
from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from PIL import Image

from stylist.config import Config
from stylist.results import Detection

if TYPE_CHECKING:
    from stylist.search import Stylist

Key = tuple[int, int]  # (user id, chat id)


class Choice(enum.Enum):
    """What a photo session searches: nothing chosen yet, one detected item, or the whole photo."""

    NONE = "none"
    ITEM = "item"
    WHOLE_PHOTO = "whole photo"


@dataclass
class Session:
    """One shopper's current search. ``image`` is None for a text-only search."""

    nonce: str
    image: Image.Image | None = None
    detections: list[Detection] = field(default_factory=list)
    text: str | None = None  # the words in effect (caption or later refinement)
    choice: Choice = Choice.NONE
    item: int | None = None  # the chosen detection's index when ``choice`` is ITEM
    offset: int = 0  # where the next "More" page starts
    last_seen: float = 0.0

    def choose_item(self, index: int) -> None:
        self.choice, self.item = Choice.ITEM, index

    def choose_whole_photo(self) -> None:
        self.choice, self.item = Choice.WHOLE_PHOTO, None

    def clear_choice(self) -> None:
        self.choice, self.item = Choice.NONE, None

    def detection(self) -> Detection | None:
        """The chosen detection (None for the whole photo, or when nothing is chosen yet)."""
        if self.choice is not Choice.ITEM:
            return None
        return next((d for d in self.detections if d.index == self.item), None)


class SessionStore:
    """Sessions by (user, chat); each expires ``ttl_s`` seconds after its last use, photo and all.

    Expired sessions are swept on access (at most every ``ttl_s / 10`` seconds), so memory stays
    bounded by the shoppers active within the TTL without a background job.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = float(ttl_s)
        self._clock = clock
        self._sessions: dict[Key, Session] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._sessions)

    def start(self, key: Key, **fields: object) -> Session:
        """Replace the shopper's session with a fresh one (new nonce: older buttons become stale)."""
        self._sweep()
        session = Session(nonce=secrets.token_hex(4), last_seen=self._clock(), **fields)  # type: ignore[arg-type]
        self._sessions[key] = session
        return session

    def get(self, key: Key, nonce: str | None = None) -> Session | None:
        """The live session (touched), or None if absent, expired or not the one ``nonce`` names."""
        self._sweep()
        session = self._sessions.get(key)
        if session is None or self._expired(session):
            self._sessions.pop(key, None)
            return None
        if nonce is not None and session.nonce != nonce:
            return None
        session.last_seen = self._clock()
        return session

    def drop(self, key: Key) -> bool:
        """Forget the shopper's search (``/reset``); True if there was one."""
        return self._sessions.pop(key, None) is not None

    def _expired(self, session: Session) -> bool:
        return self._clock() - session.last_seen > self.ttl_s

    def _sweep(self) -> None:
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + max(self.ttl_s / 10, 1.0)
        for key in [k for k, s in self._sessions.items() if self._expired(s)]:
            del self._sessions[key]


@dataclass
class BotData:
    """What every handler shares, as PTB's ``bot_data`` (typed through ``ContextTypes``): the config, the
    loaded search engine, the sessions and the album page size. PTB creates it empty; ``build_application``
    fills it in before any update arrives."""

    config: Config | None = None
    stylist: "Stylist | None" = None
    sessions: SessionStore = field(default_factory=lambda: SessionStore(0))
    page_size: int = 10
