"""Restart-proof state: the SQLite persistence and the on-disk photo store, including concurrent writers."""
from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np
from PIL import Image

from bot.persistence import SqlitePersistence
from bot.photos import KEEP_SIDE, PhotoStore


def _picture(seed: int, size: tuple[int, int] = (120, 90)) -> Image.Image:
    """A smooth picture (JPEG keeps it close), different per seed."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (3, 4, 3), dtype=np.uint8)).resize(size, Image.BILINEAR)


def test_photos_round_trip_shrink_and_dedupe(tmp_path):
    store = PhotoStore(tmp_path / "photos", max_bytes=10**9, ttl_s=3600)
    name = store.put(_picture(1))
    assert store.put(_picture(1)) == name and len(list((tmp_path / "photos").glob("*.jpg"))) == 1
    fresh = PhotoStore(tmp_path / "photos", max_bytes=10**9, ttl_s=3600)  # as after a restart: no cache
    back = fresh.get(name)
    assert back is not None and back.size == (120, 90)
    assert np.abs(np.asarray(back, float) - np.asarray(_picture(1), float)).mean() < 4  # JPEG of the same picture
    big = store.get(store.put(_picture(2, (KEEP_SIDE * 2, 100))))
    assert big is not None and max(big.size) == KEEP_SIDE
    assert fresh.get("0123456789abcdef0123.jpg") is None


def test_sweep_removes_idle_photos_then_the_oldest_over_the_cap(tmp_path):
    store = PhotoStore(tmp_path / "photos", max_bytes=10**9, ttl_s=60)
    names = [store.put(_picture(i)) for i in range(5)]
    old = time.time() - 120
    os.utime(tmp_path / "photos" / names[0], (old, old))
    assert store.sweep(force=True) == 1 and not store.exists(names[0])
    size = (tmp_path / "photos" / names[1]).stat().st_size
    for i, name in enumerate(names[1:]):  # distinct ages: names[1] oldest
        t = time.time() - 50 + i
        os.utime(tmp_path / "photos" / name, (t, t))
    store.max_bytes = 2 * size + size // 2
    assert store.sweep(force=True) == 2
    assert [store.exists(n) for n in names[1:]] == [False, False, True, True]
    assert store.total_bytes() <= store.max_bytes


def test_concurrent_photo_writers_never_leave_a_partial_file(tmp_path):
    stores = [PhotoStore(tmp_path / "photos", max_bytes=10**9, ttl_s=3600) for _ in range(4)]
    names: list[str] = []

    def write(k: int) -> None:
        for i in range(10):
            names.append(stores[k].put(_picture(i % 6)))  # the same six pictures from four writers

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    files = sorted(p.name for p in (tmp_path / "photos").iterdir())
    assert files == sorted(set(names)) and len(files) == 6  # no temp files left, one per picture
    reader = PhotoStore(tmp_path / "photos", max_bytes=10**9, ttl_s=3600)
    assert all(reader.get(n) is not None for n in files)


def test_sqlite_persistence_round_trip_and_concurrent_writers(tmp_path):
    path = tmp_path / "state" / "bot.sqlite"
    writers = [SqlitePersistence(path) for _ in range(3)]  # as if two processes shared the file by mistake

    def write(k: int) -> None:
        for uid in range(k * 100, k * 100 + 50):
            asyncio.run(writers[k].update_user_data(uid, {"sessions": {uid: f"user {uid}", "n": list(range(20))}}))

    threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    asyncio.run(writers[0].drop_user_data(0))
    asyncio.run(writers[0].update_user_data(1, {"sessions": {1: "changed"}}))
    [w.close() for w in writers]
    reader = SqlitePersistence(path)
    data = asyncio.run(reader.get_user_data())
    assert len(data) == 149 and 0 not in data and data[1] == {"sessions": {1: "changed"}}
    assert data[240]["sessions"][240] == "user 240" and data[240]["sessions"]["n"] == list(range(20))
    assert asyncio.run(reader.get_bot_data()) == {} and reader.store_data.user_data and not reader.store_data.bot_data


def test_a_killed_bot_process_keeps_the_sessions_it_had_written(tmp_path):
    """`kill -9` of the real `stylist bot`: sessions older than the persistence interval are on disk."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from bot.persistence import SqlitePersistence
    from bot.state import SESSIONS
    from tests.bot.fake_telegram import FakeTelegram
    from tests.helpers.bot_harness import Shopper

    fake = FakeTelegram().start_in_thread()
    home = tmp_path / "home"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token, "STYLIST_TELEGRAM_API_URL": fake.api_url,
           "STYLIST_HOME": str(home), "STYLIST_DB": str(tmp_path / "empty-index")}
    proc = subprocess.Popen([sys.executable, "-m", "stylist.cli", "bot"], cwd=Path(__file__).resolve().parents[2],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not fake.methods("setMyCommands"):
            assert proc.poll() is None and time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.2)
        shopper = Shopper(fake, 970)
        shopper.say("black leather bag")  # a text session (the empty index answers, the session stays)
        asyncio.run(shopper.expect("sendMessage"))
        time.sleep(3.5)  # longer than the 2 s persistence interval
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        fake.stop_thread()
    stored = asyncio.run(SqlitePersistence(home / "bot" / "sessions.sqlite").get_user_data())
    assert stored[970][SESSIONS][970].text == "black leather bag"
