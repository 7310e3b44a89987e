"""``stylist search IMAGE… [--text TEXT] [--item N|all] [--top K] [--json]``: a thin edge over Stylist.

Models load once for all images. ``--json`` prints one object per image per line (``search_json``:
detections + results per item; the HTTP API in web/api.py answers with the same); otherwise a readable
table. Errors print one clear line and exit 1, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from stylist.config import load_config
from stylist.errors import StylistError
from stylist.results import Detection, ItemResult, detection_json

if TYPE_CHECKING:
    from PIL import Image

    from stylist.search import Stylist


WARM_FROM = 3  # photos in one run from which holding the filter fields in memory pays off


def parse_items(raw: str | None) -> list[int] | str | None:
    """'all', 'N' or 'N,M' → what ``Stylist.search_image`` takes (None = the best item)."""
    if raw is None or raw == "all":
        return raw
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--item must be a number, a comma-separated list or 'all', not {raw!r}")


def run_search(stylist: Stylist, img: Image.Image | None, items: list[int] | str | None, text: str | None,
               top: int) -> tuple[list[Detection], list[ItemResult]]:
    """One search: the decoded image ``img`` (None = ``text`` alone) → (detections, results per item)."""
    if img is None:
        return [], [stylist.search_text(text or "", top)]
    return stylist.search_image(img, items, text, top)


def search_json(image: str, detections: list[Detection], results: list[ItemResult]) -> dict:
    """The ``--json`` object for one image (``image`` is its name; "" for a text-only search)."""
    return {"image": image, "detections": [detection_json(d) for d in detections],
            "results": [r.to_json() for r in results]}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stylist search", description="Search the catalog with outfit photos and/or text.")
    p.add_argument("images", nargs="*", help="outfit photos (JPEG/PNG/WebP/...); none = text-only search")
    p.add_argument("--text", help='refine with words, e.g. "in red", "leather", "under 50"')
    p.add_argument("--item", default=None, help="which detected item: N, N,M or 'all' (default: the best one)")
    p.add_argument("--top", type=int, default=None, help="results per item (default STYLIST_TOP_K)")
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    return p


def format_table(image: str, detections: list[Detection], results: list[ItemResult], text_only: bool = False) -> str:
    """A readable block: the detected items, then per item the ranked products."""
    lines = [f"== {image}"]
    if detections:
        lines += [f"  item {d.index}: {d.label} ({d.score:.2f}) box {tuple(round(v) for v in d.box)}" for d in detections]
    elif not text_only:
        lines.append("  no items detected — searched the whole image")
    for res in results:
        head = ("text only" if text_only else "whole image") if res.detection is None else f"item {res.detection}"
        understood = res.query.explain()  # with what the catalog could not honour ("no prices in this catalog")
        lines.append(f"  -- {head}" + (f"  [understood: {understood}]" if understood else ""))
        if not res.products:
            lines.append("     no products match")
        for rank, p in enumerate(res.products, 1):
            price = "" if p.price is None else f"{p.price:8.2f}"
            lines.append(f"  {rank:3d}. {p.score:6.3f}  {p.category[:18]:<18} {p.color[:9]:<9} {price:>8}  {p.name[:40]:<40} {p.id}")
    return "\n".join(line for line in lines if line)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        items = parse_items(args.item)
    except argparse.ArgumentTypeError as exc:
        print(f"stylist search: {exc}", file=sys.stderr)
        return 2
    if not args.images and not args.text:
        print("stylist search: give at least one IMAGE or --text", file=sys.stderr)
        return 2
    from stylist.search import Stylist  # heavy: only after the arguments are known to be fine

    config = load_config()
    top = args.top or config.top_k
    failed = False
    try:
        stylist = Stylist.from_config(config)
    except StylistError as exc:
        print(f"stylist search: {exc}", file=sys.stderr)
        return 1
    jobs = args.images or [None]
    stylist.warm_vocabulary(compute=False)  # common words' text vectors, if a bot or an earlier run made them
    if len(args.images) > WARM_FROM and args.text:
        stylist.warm_filters()  # many photos with words: filtered neighbours from memory pay off
    for image in jobs:
        try:
            img = None if image is None else stylist.load_image(image)
            detections, results = run_search(stylist, img, items, args.text, top)
        except StylistError as exc:
            failed = True  # stdout keeps to the schema; the reason goes to stderr
            print(f"stylist search: {image or 'text'}: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(search_json(image or "", detections, results)), flush=True)
        else:
            print(format_table(image or f"text: {args.text}", detections, results, text_only=image is None), flush=True)
    return 1 if failed else 0
