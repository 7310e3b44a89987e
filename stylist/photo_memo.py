"""Answers computed from a picture, kept while the picture is in use: one home for "read this photo once".

Several steps of one search look at the same photo: the whole-garment step, the one-garment rule and the crops
painted on white all need its background (``stylist.garment_box.backdrop_of``); on a board the item check and
the candidates both need its crops' CLIP vectors (``stylist.crop_vectors``). A ``PhotoMemo`` keeps such
answers per picture object for the last ``photos`` pictures, so many shoppers searching at once do not evict
each other's photo after every step. The picture is held by a weak reference: its entry goes when the
picture is freed, and an answer is only ever returned for the very object it was computed from (a new
picture that happens to get a freed one's ``id`` finds nothing). Thread-safe; the computation itself runs
outside the lock (two threads may both compute one answer: the same value, stored once).
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")
_MISSING = object()


class PhotoMemo:
    """Per picture (by identity, weakly held), up to ``answers`` keyed answers; the last ``photos`` pictures."""

    def __init__(self, photos: int = 16, answers: int = 256):
        self.photos = photos
        self.answers = answers
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[weakref.ref, dict]] = OrderedDict()
        self._freed: list[tuple[int, weakref.ref]] = []  # filled by the weak references' callbacks

    def _answers(self, picture: object, create: bool) -> dict | None:
        """The answers kept for ``picture`` (the lock held), refreshed as the most recently used. Freed pictures'
        answers are dropped here, not in the weak reference's callback: that may run in any thread at any
        moment (garbage collection), even while this thread holds the lock."""
        while self._freed:
            gone, ref = self._freed.pop()
            if gone in self._entries and self._entries[gone][0] is ref:
                del self._entries[gone]
        key = id(picture)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is not picture:  # a freed picture's id, reused
            del self._entries[key]
            entry = None
        if entry is None:
            if not create:
                return None
            entry = (weakref.ref(picture, lambda ref, key=key: self._freed.append((key, ref))), {})
            self._entries[key] = entry
            while len(self._entries) > self.photos:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry[1]

    def get(self, picture: object, key: Hashable, default: object = None) -> object:
        """The answer kept for ``picture`` under ``key``, else ``default``."""
        with self._lock:
            answers = self._answers(picture, create=False)
            return default if answers is None else answers.get(key, default)

    def put(self, picture: object, key: Hashable, value: object) -> None:
        """Keep ``value`` for ``picture`` under ``key`` (a picture past ``answers`` keys keeps its first ones)."""
        with self._lock:
            answers = self._answers(picture, create=True)
            if key in answers or len(answers) < self.answers:
                answers[key] = value

    def once(self, picture: object, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for ``picture`` under ``key``: kept, or ``compute()`` now and kept."""
        found = self.get(picture, key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        value = compute()
        self.put(picture, key, value)
        return value

    def __len__(self) -> int:
        """How many pictures have answers kept."""
        with self._lock:
            return len(self._entries)


__all__ = ["PhotoMemo"]
