"""``stylist models list [--json]``: a thin edge that prints the model registry and which weights are bundled.

The registry (``stylist.models.registry.list_models``) holds the data; this only parses the flags and
formats a table, marking the models the current configuration selects.
"""
from __future__ import annotations

import argparse
import json

from stylist.config import load_config
from stylist.models.registry import list_models


def print_models(argv: list[str]) -> int:
    """``stylist models list``: the registry and which weights are bundled."""
    parser = argparse.ArgumentParser(prog="stylist models list", description="list registered models and their weights")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rows = list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    config = load_config()
    active = {config.detector, config.embedder, config.clip_model}
    for r in rows:
        state = f"{r['size_mb']:.1f} MB" if r["present"] else "MISSING (random init)"
        mark = "*" if r["name"] in active else " "
        print(f"{mark} {r['name']:<16} {r['kind']:<9} {state:<22} {r['description']}")
    print("\n* = selected by the current configuration (STYLIST_DETECTOR / STYLIST_EMBEDDER / STYLIST_CLIP_MODEL)")
    return 0
