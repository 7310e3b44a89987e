"""Sessions: per (user, chat), nonce-checked, expiring after the idle TTL, swept from memory."""
from __future__ import annotations

from bot.state import Session, SessionStore
from stylist.results import Detection


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_are_per_user_and_chat_and_nonce_checked():
    store = SessionStore(ttl_s=60, clock=Clock())
    a = store.start((1, 1), text="red")
    b = store.start((1, 2), text="blue")
    assert store.get((1, 1)) is a and store.get((1, 2)) is b and store.get((2, 1)) is None
    assert store.get((1, 1), a.nonce) is a and store.get((1, 1), b.nonce) is None
    newer = store.start((1, 1))
    assert newer.nonce != a.nonce and store.get((1, 1), a.nonce) is None  # old buttons are stale
    assert store.drop((1, 1)) and not store.drop((1, 1))


def test_idle_sessions_expire_and_use_keeps_them_alive():
    clock = Clock()
    store = SessionStore(ttl_s=60, clock=clock)
    store.start((1, 1))
    store.start((2, 2))
    clock.now += 50
    assert store.get((1, 1)) is not None  # touched
    clock.now += 50
    assert store.get((1, 1)) is not None
    assert store.get((2, 2)) is None
    clock.now += 61
    store.start((3, 3))  # any access sweeps the expired ones
    assert len(store) == 1


def test_session_detection_choice():
    dets = [Detection(0, "Dresses", 0.9, (0, 0, 5, 5)), Detection(1, "Shoes", 0.8, (5, 5, 9, 9))]
    session = Session(nonce="n", detections=dets)
    assert session.detection() is None
    session.choose_item(1)
    assert session.detection() is dets[1]
    session.choose_whole_photo()
    assert session.detection() is None
