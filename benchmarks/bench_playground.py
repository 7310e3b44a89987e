"""The playground as a shopper feels it: upload → first reply in the page, in a real browser.

    .venv/bin/python benchmarks/bench_playground.py [--catalog CSV] [--rounds 3] [--screenshot PNG]

Starts ``stylist playground``'s server in-process (real detector, real bot, real Bot API server) on the
catalog (default: the playground's demo catalog), opens the page in Debian's Chromium via Playwright and,
for every demo photo the page offers, ``--rounds`` times in a fresh tab: uploads it and times until the
bot's reply is rendered — the item buttons, or (one item found) the album with its images loaded. For
photos with buttons it also times tap "1 · …" → album rendered. ``--screenshot`` saves a phone-sized
picture of a full conversation (photo → buttons → album → "in red") for the README.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from stylist.config import load_config
from web.playground import PlaygroundThread, prepare

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 420, "height": 900}
REPLY = """n => {
  const rows = [...document.querySelectorAll('.row.theirs')].slice(n);
  return rows.some(r => r.querySelector('.keyboard button') ||
                        [...r.querySelectorAll('.album img')].some(i => i.complete && i.naturalWidth > 0));
}"""
ALBUM_LOADED = """n => document.querySelectorAll('.album').length > n &&
  [...document.querySelectorAll('.album')].slice(-1)[0].querySelectorAll('img').length > 0 &&
  [...[...document.querySelectorAll('.album')].slice(-1)[0].querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"""


def _open(browser, url: str) -> Page:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector(".row.theirs .bubble", timeout=60_000)  # the answer to /start
    return page


def _upload(page: Page, photo: Path) -> tuple[float, bool]:
    """Seconds from choosing the file to the rendered reply; True when the reply has item buttons."""
    before = page.locator(".row.theirs").count()
    started = time.perf_counter()
    page.set_input_files("#file", str(photo))
    page.wait_for_function(REPLY, arg=before, timeout=300_000)
    elapsed = time.perf_counter() - started
    return elapsed, page.locator(".row.theirs").last.locator(".keyboard button").count() > 0


def _tap_first(page: Page) -> float:
    albums = page.locator(".album").count()
    started = time.perf_counter()
    page.locator(".row.theirs").last.locator(".keyboard button").first.click()
    page.wait_for_function(ALBUM_LOADED, arg=albums, timeout=300_000)
    return time.perf_counter() - started


def _conversation_picture(browser, url: str, photo: Path, out: Path) -> None:
    """Two phone screens side by side: the photo with its item buttons, then the album after "in red"."""
    from PIL import Image

    page = _open(browser, url)
    _upload(page, photo)
    page.wait_for_timeout(300)
    first = out.with_suffix(".1.png")
    page.screenshot(path=str(first))
    if page.locator(".row.theirs").last.locator(".keyboard button").count():
        _tap_first(page)
    albums = page.locator(".album").count()
    page.fill("#text", "in red")
    page.press("#text", "Enter")
    page.wait_for_function(ALBUM_LOADED, arg=albums, timeout=300_000)
    page.wait_for_timeout(500)
    second = out.with_suffix(".2.png")
    page.screenshot(path=str(second))
    page.context.close()
    left, right = Image.open(first), Image.open(second)
    both = Image.new("RGB", (left.width + right.width + 16, max(left.height, right.height)), (255, 255, 255))
    both.paste(left, (0, 0))
    both.paste(right, (left.width + 16, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    both.quantize(256).save(out, optimize=True)  # 256 colours: a third of the bytes, same look
    first.unlink(), second.unlink()
    print(f"screenshot: {out}")


def _stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"p50 {statistics.median(values):.2f} s · max {max(values):.2f} s · n={len(values)}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", help="catalog CSV (default: the playground's demo catalog)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--screenshot", type=Path, help="save a phone-sized screenshot of a whole conversation here")
    args = p.parse_args()
    config, stylist, photos = prepare(load_config(), args.catalog)
    served = PlaygroundThread(config, stylist, photos)
    playground = served.start()
    uploads, taps = [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for photo in photos:
                for _ in range(args.rounds):
                    page = _open(browser, playground.url)
                    seconds, buttons = _upload(page, photo)
                    uploads.append(seconds)
                    if buttons:
                        taps.append(_tap_first(page))
                    print(f"{photo.name}: upload → reply {seconds:.2f} s ({'buttons' if buttons else 'album'})",
                          flush=True)
                    page.context.close()
            if args.screenshot:
                _conversation_picture(browser, playground.url, photos[0], args.screenshot)
            browser.close()
    finally:
        served.stop()
    print(f"\ncatalog: {stylist.store.count()} products ({args.catalog or 'demo'}); {len(photos)} demo photos × {args.rounds}")
    print(f"upload → reply rendered:       {_stats(uploads)}")
    print(f"tap item → album rendered:     {_stats(taps)}")


if __name__ == "__main__":
    main()
