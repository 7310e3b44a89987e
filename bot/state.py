"""Per-(user, chat) search sessions: the photo, its items and the last search; idle ones expire.

Sessions live in PTB's ``user_data`` (``user_data[SESSIONS][chat_id]``), so the bot's persistence
(bot.persistence) carries them across restarts; the photo itself is a file in bot.photos, and a
session keeps only its name. Buttons carry a short random ``nonce`` naming the session they were made
for (Telegram allows only 64 bytes of callback data), so a button from an older photo or an expired
session is recognised as stale instead of acting on the wrong picture; after a restart, buttons of
live sessions keep working.
"""
from __future__ import annotations

import asyncio
import enum
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, MutableMapping

from PIL import Image

from bot.photos import PhotoStore
from stylist.config import Config
from stylist.results import Detection

if TYPE_CHECKING:
    from stylist.search import Photo, Stylist

Key = tuple[int, int]  # (user id, chat id)
SESSIONS = "sessions"  # the user_data key holding that user's sessions by chat id


class Choice(enum.Enum):
    """What a photo session searches: nothing chosen yet, one detected item, or the whole photo."""

    NONE = "none"
    ITEM = "item"
    WHOLE_PHOTO = "whole photo"


@dataclass
class Session:
    """One shopper's current search. ``photo`` is None for a text-only search."""

    nonce: str
    photo: str | None = None  # file name in the PhotoStore
    detections: list[Detection] = field(default_factory=list)
    text: str | None = None  # the words in effect (caption or later refinement)
    choice: Choice = Choice.NONE
    item: int | None = None  # the chosen detection's index when ``choice`` is ITEM
    offset: int = 0  # where the next "More" page starts
    last_seen: float = 0.0  # wall-clock seconds: still meaningful after a restart
    _image: Image.Image | None = field(default=None, repr=False, compare=False)  # without a PhotoStore
    _photos: PhotoStore | None = field(default=None, repr=False, compare=False)
    # the photo's candidates (Stylist.photo), so a tap only re-ranks; kept in memory, not persisted (after a
    # restart a tap searches the photo from disk again)
    candidates: "Photo | None" = field(default=None, repr=False, compare=False)

    @property
    def image(self) -> Image.Image | None:
        """The shopper's photo (read from disk when needed), None for a text-only search."""
        if self._image is not None or self.photo is None or self._photos is None:
            return self._image
        return self._photos.get(self.photo)

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

    def __getstate__(self) -> dict[str, Any]:
        """Persisted without pixels or the store: the photo is on disk under its name."""
        return {**self.__dict__, "_image": None, "_photos": None, "candidates": None}


class SessionStore:
    """Sessions by (user, chat) inside ``users`` (PTB's user_data); each expires ``ttl_s`` after its last use.

    Expired sessions are swept on access (at most every ``ttl_s / 10`` seconds), so memory stays
    bounded by the shoppers active within the TTL without a background job. Without a PhotoStore the
    photo stays in memory (tests, tools).
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time,
                 users: MutableMapping[int, dict] | None = None, photos: PhotoStore | None = None) -> None:
        self.ttl_s = float(ttl_s)
        self._clock = clock
        self._users: MutableMapping[int, dict] = users if users is not None else defaultdict(dict)
        self.photos = photos
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return sum(1 for _ in self._all())

    def start(self, key: Key, image: Image.Image | None = None, **fields: object) -> Session:
        """Replace the shopper's session with a fresh one (new nonce: older buttons become stale)."""
        self._sweep()
        session = Session(nonce=secrets.token_hex(4), last_seen=self._clock(), _photos=self.photos,
                          **fields)  # type: ignore[arg-type]
        if image is not None:
            if self.photos is None:
                session._image = image
            else:
                session.photo = self.photos.put(image)
        self._users[key[0]].setdefault(SESSIONS, {})[key[1]] = session
        return session

    async def start_with_photo(self, key: Key, image: Image.Image, **fields: object) -> Session:
        """``start`` with the photo written to disk in a thread (JPEG encoding must not stall other shoppers)."""
        if self.photos is None:
            return self.start(key, image=image, **fields)
        name = await asyncio.to_thread(self.photos.put, image)
        return self.start(key, photo=name, **fields)

    def get(self, key: Key, nonce: str | None = None) -> Session | None:
        """The live session (touched), or None if absent, expired, its photo gone, or not the one ``nonce`` names."""
        self._sweep()
        session = self._peek(key)
        if session is None:
            return None
        if self._expired(session):
            self.drop(key)
            return None
        if nonce is not None and session.nonce != nonce:
            return None
        session._photos = self.photos  # a session loaded by the persistence comes without it
        session.last_seen = self._clock()
        return session

    def drop(self, key: Key) -> bool:
        """Forget the shopper's search (``/reset``); True if there was one."""
        user = self._users.get(key[0])
        sessions = user.get(SESSIONS) if user else None
        return bool(sessions) and sessions.pop(key[1], None) is not None

    def _peek(self, key: Key) -> Session | None:
        user = self._users.get(key[0])
        session = (user.get(SESSIONS) or {}).get(key[1]) if user else None
        return session if isinstance(session, Session) else None

    def _all(self) -> Iterator[tuple[Key, Session]]:
        for user_id, data in list(self._users.items()):
            for chat_id, session in list((data.get(SESSIONS) or {}).items()):
                yield (user_id, chat_id), session

    def _expired(self, session: Session) -> bool:
        if self._clock() - session.last_seen > self.ttl_s:
            return True
        return session.photo is not None and self.photos is not None and not self.photos.exists(session.photo)

    def _sweep(self) -> None:
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + max(self.ttl_s / 10, 1.0)
        for key, session in list(self._all()):
            if self._expired(session):
                self.drop(key)


@dataclass
class BotData:
    """What every handler shares, as PTB's ``bot_data`` (typed through ``ContextTypes``): the config, the
    loaded search engine, the sessions and the album page size. PTB creates it empty; ``build_application``
    fills it in before any update arrives."""

    config: Config | None = None
    stylist: "Stylist | None" = None
    sessions: SessionStore = field(default_factory=lambda: SessionStore(0))
    page_size: int = 10
