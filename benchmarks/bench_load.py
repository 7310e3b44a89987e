"""Load: N shoppers at once, each a full flow, through the real PTB client, the real Stylist and the fake Bot API.

    .venv/bin/python benchmarks/bench_load.py [--shoppers 50] [--json out.json]

Each shopper sends its own board photo (three items; a board size unique to the shopper), taps
"1 · Dresses", writes "in red", then taps "More". Reported per step: p50 / p95 / max seconds from the
shopper's action to the bot's answer (keyboard, or album + summary), errors (apologies, "unavailable",
timeouts, exceptions in the log, Bot API calls the fake refused: must be 0), cross-talk checks (each
reply carries that shopper's own photo / item / words / page), and peak RSS of the process.
The catalog is the tests' tiny generated one (72 products), so this measures the bot under
concurrency, not catalog size (benchmarks/bench_search.py covers that).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # run as a script: the repo root holds stylist/ and tests/helpers/

from bot import views  # noqa: E402
from tests.helpers.bot_catalog import make_board  # noqa: E402
from tests.helpers.bot_harness import Shopper, bot_config, build_tiny_stylist, running_bot  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram  # noqa: E402

ITEMS = [("Dresses", "red"), ("Handbags", "black"), ("Shoes", "blue")]
STEPS = ("photo → keyboard", "tap → album", "'in red' → album", "More → album")
STEP_TIMEOUT_S = 600.0
BAD_TEXTS = {views.APOLOGY, views.INDEX_DOWN, views.STALE, views.SKIPPED_PHOTO, views.SKIPPED_BUSY}


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _flow(shopper: Shopper, board, problems: list[str]) -> dict[str, float]:
    """One shopper's full flow; returns seconds per step and appends any cross-talk to ``problems``."""
    me, times = shopper.user_id, {}
    t = time.monotonic()
    shopper.photo(board.jpeg)
    keyboard = await shopper.expect("sendPhoto", STEP_TIMEOUT_S)
    times[STEPS[0]] = keyboard.t - t
    if Image.open(io.BytesIO(keyboard.photos()[0])).size != board.size:
        problems.append(f"{me}: keyboard photo is not this shopper's board")
    t = time.monotonic()
    shopper.tap(keyboard, "1 · Dresses")
    album = await shopper.expect("sendMediaGroup", STEP_TIMEOUT_S)
    summary = await shopper.expect("sendMessage", STEP_TIMEOUT_S)
    times[STEPS[1]] = summary.t - t
    if not all("\nDresses · " in c for c in album.captions()) or "item 1 · Dresses" not in summary.params["text"]:
        problems.append(f"{me}: the album after the tap is not this shopper's item")
    t = time.monotonic()
    shopper.say("in red")
    refined = await shopper.expect("sendMediaGroup", STEP_TIMEOUT_S)
    refined_summary = await shopper.expect("sendMessage", STEP_TIMEOUT_S)
    times[STEPS[2]] = refined_summary.t - t
    if "Understood as: red" not in refined_summary.params["text"] or "red" not in refined.captions()[0]:
        problems.append(f"{me}: 'in red' answered without this shopper's words")
    t = time.monotonic()
    shopper.tap(refined_summary, "More")
    page2 = await shopper.expect("sendMediaGroup", STEP_TIMEOUT_S)
    await shopper.expect("sendMessage", STEP_TIMEOUT_S)
    times[STEPS[3]] = time.monotonic() - t
    first_rank = int(page2.captions()[0].split(".", 1)[0])
    if first_rank != len(refined.captions()) + 1:
        problems.append(f"{me}: 'More' did not continue this shopper's page (rank {first_rank})")
    return times


def _stats(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50_ms": round(statistics.median(ms)), "p95_ms": round(p95), "max_ms": round(ms[-1]), "n": len(ms)}


async def _bench(stylist, root: Path, shoppers: int) -> dict:
    detector = stylist.detector
    boards = [detector.register(make_board(ITEMS, (640 + i, 360))) for i in range(shoppers + 1)]
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    fake = await FakeTelegram().start()
    problems: list[str] = []
    failures: list[str] = []
    try:
        async with running_bot(bot_config(fake, root), stylist):
            await _flow(Shopper(fake, 999), boards[-1], problems)  # warm-up: first inference is slow
            rss_before = _rss_mb()
            people = [Shopper(fake, 1000 + i) for i in range(shoppers)]
            t0 = time.monotonic()
            outcomes = await asyncio.gather(*(_flow(p, b, problems) for p, b in zip(people, boards)),
                                            return_exceptions=True)
            wall = time.monotonic() - t0
            await asyncio.sleep(1.0)  # anything late (a duplicate, an apology) shows up in the calls
    finally:
        await fake.stop()
        logging.getLogger().removeHandler(errors)
    flows = [o for o in outcomes if isinstance(o, dict)]
    failures += [f"{type(o).__name__}: {o}" for o in outcomes if not isinstance(o, dict)]
    ids = {p.user_id for p in people}
    bad_texts = [c for c in fake.calls if c.chat_id in ids and c.method == "sendMessage" and c.params.get("text") in BAD_TEXTS]
    refused = [c for c in fake.calls if c.chat_id in ids and c.status != 200]
    albums = {uid: len(fake.calls_to(uid, "sendMediaGroup")) for uid in ids}
    duplicates = [uid for uid, n in albums.items() if n != 3]
    return {
        "shoppers": shoppers, "wall_s": round(wall, 1),
        "steps": {step: _stats([f[step] for f in flows]) for step in STEPS if flows},
        "errors": len(failures) + len(bad_texts) + len(refused) + len(errors.records) + len(duplicates),
        "error_detail": {"flows_failed": failures[:5], "apologies_or_skips": len(bad_texts),
                         "bot_api_refused": len(refused), "error_logs": errors.records[:5],
                         "shoppers_without_exactly_3_albums": duplicates[:5]},
        "cross_talk_problems": problems, "cross_talk_checks": 4 * len(flows),
        "rss_mb_before": round(rss_before), "rss_mb_after": round(_rss_mb()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        stylist = build_tiny_stylist(Path(tmp))
        print(f"models + tiny index ready in {time.monotonic() - t:.1f} s")
        result = asyncio.run(_bench(stylist, Path(tmp), args.shoppers))
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f} at the end"
    print(f"{result['shoppers']} shoppers, full flow each, {result['wall_s']} s wall")
    for step, s in result.get("steps", {}).items():
        print(f"  {step:<20} p50 {s['p50_ms']:6d} ms   p95 {s['p95_ms']:6d} ms   max {s['max_ms']:6d} ms   (n={s['n']})")
    print(f"errors: {result['errors']}  {result['error_detail'] if result['errors'] else ''}")
    print(f"cross-talk: {len(result['cross_talk_problems'])} problems in {result['cross_talk_checks']} checks")
    print(f"RSS: {result['rss_mb_before']} MB before the load, {result['rss_mb_after']} MB after; "
          f"peak {result['peak_rss_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["errors"] or result["cross_talk_problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
