"""Bot reply times through the real PTB client, the real Stylist and the local fake Bot API server.

    .venv/bin/python benchmarks/bench_bot.py [--users 10] [--rounds 3]

Measures, for 1 shopper and for N shoppers at once: photo sent → item keyboard received by "Telegram",
and button tapped → album received. The catalog is the tests' tiny generated one (72 products); the
models are whatever the registry loads (bundled weights, or random-init with a warning). Boards have
three items; the real detector runs on every photo and its boxes are replaced by the board's truth
(tests/bot/bot_harness.py) so every round takes the keyboard path.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # run as a script: the repo root holds stylist/ and tests/helpers/

from tests.helpers.bot_catalog import make_board  # noqa: E402
from tests.helpers.bot_harness import Shopper, bot_config, build_tiny_stylist, running_bot  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram  # noqa: E402

ITEMS = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]


async def _one_shopper(fake: FakeTelegram, shopper: Shopper, jpeg: bytes) -> tuple[float, float]:
    """(photo → keyboard, tap → album) seconds for one shopper."""
    t0 = time.monotonic()
    shopper.photo(jpeg, caption="under 60")
    keyboard = await shopper.expect("sendPhoto", timeout=300)
    t1 = time.monotonic()
    shopper.tap(keyboard, "1 · Dresses")
    album = await shopper.expect("sendMediaGroup", timeout=300)
    await shopper.expect("sendMessage", timeout=300)
    return keyboard.t - t0, album.t - t1


async def _round(fake: FakeTelegram, shoppers: list[Shopper], boards: list[bytes]) -> list[tuple[float, float]]:
    return list(await asyncio.gather(*(_one_shopper(fake, s, b) for s, b in zip(shoppers, boards))))


def _fmt(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"median {statistics.median(ms):7.0f} ms   max {ms[-1]:7.0f} ms   (n={len(ms)})"


async def _bench(stylist, root: Path, users: int, rounds: int) -> dict[str, list[float]]:
    detector = stylist.detector
    boards = [detector.register(make_board(ITEMS, (640 + i, 360))).jpeg for i in range(users)]
    fake = await FakeTelegram().start()
    results: dict[str, list[float]] = {}
    try:
        async with running_bot(bot_config(fake, root), stylist):
            uid = iter(range(1000, 100000))
            await _round(fake, [Shopper(fake, next(uid))], boards[:1])  # warm-up (first inference is slow)
            for label, n in (("1 shopper", 1), (f"{users} shoppers at once", users)):
                keyboard, album = [], []
                for _ in range(rounds):
                    for k, a in await _round(fake, [Shopper(fake, next(uid)) for _ in range(n)], boards[:n]):
                        keyboard.append(k)
                        album.append(a)
                results[f"{label}: photo → keyboard"] = keyboard
                results[f"{label}: tap → album"] = album
    finally:
        await fake.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        stylist = build_tiny_stylist(Path(tmp))
        print(f"models + tiny index ready in {time.monotonic() - t:.1f} s "
              f"(detector: {getattr(stylist.detector.real, 'name', '?')})")
        results = asyncio.run(_bench(stylist, Path(tmp), args.users, args.rounds))
    for name, values in results.items():
        print(f"{name:<40} {_fmt(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
