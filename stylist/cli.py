"""The ``stylist`` command: a table from sub-command to ``module:function``, imported only when it runs.

Each target is ``def main(argv: list[str]) -> int`` and builds its own argparse parser, so
``stylist search --help`` never imports the bot and ``stylist --help`` imports nothing heavy.
"""
from __future__ import annotations

import importlib
import sys

from stylist.errors import StylistError

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo.run:main", "install-free demo: build the demo catalog + index, search sample boards, write a contact sheet"),
    "search": ("stylist.search_cli:main", "search the catalog with outfit photos and/or text"),
    "bot": ("bot.app:main", "run the Telegram bot (long polling, or --webhook-url)"),
    "playground": ("web.playground:main", "the bot in your browser: a local chat page + search API on 127.0.0.1"),
    "serve": ("web.api:main", "serve the search HTTP API (POST /api/search) on 127.0.0.1"),
    "index build": ("index.cli:build", "build or update (upsert) the catalog index from a catalog CSV"),
    "index remove": ("index.cli:remove", "remove products from the index by id"),
    "index stats": ("index.cli:stats", "show what the index holds"),
    "data catalog": ("training.data.cli:catalog", "write a catalog CSV from a data source (ctl, fpi, fashion-mnist)"),
    "data demo-catalog": ("training.data.cli:demo_catalog", "write the committed colourful demo catalog from the CC0 clothing photos"),
    "data boards": ("training.data.cli:boards", "generate the YOLO style-board dataset from real crops and layouts"),
    "data crops": ("training.data.cli:crops", "write the crop datasets (by product split) for the embedding models"),
    "data sample": ("training.data.cli:sample", "write a contact sheet of a few boards with their boxes drawn"),
    "data pack": ("training.data.cli:pack", "pack the compact training bundle that travels to a GPU machine"),
    "data dae-pairs": ("training.data.dae_pairs:main", "render catalog items in the world (and real photos) for `train dae`"),
    "train detector": ("training.train_detector:main", "train the YOLOv5 detector on the style boards"),
    "train autoencoder": ("training.train_autoencoder:main", "train the 512-d (or baseline 4096-d) autoencoder"),
    "train dae": ("training.finetune_autoencoder:main", "fine-tune the autoencoder on in-the-world pairs (CPU-sized)"),
    "train namer": ("training.train_namer:main", "train the garment namer (names crops in photos and on boards)"),
    "train clip": ("training.train_clip:main", "align the compact CLIP on real image-text pairs (captions, fit; world: fine-tune on in-the-world pairs)"),
    "eval": ("training.evaluate:main", "recompute every quality metric from the bundled weights"),
    "models list": ("stylist.models_cli:print_models", "list registered models and their weights"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: stylist COMMAND [options]   (stylist COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    for words in (2, 1):
        name = " ".join(argv[:words])
        if name in COMMANDS:
            target = COMMANDS[name][0]
            module_name, func_name = target.split(":")
            func = getattr(importlib.import_module(module_name), func_name)
            try:
                return int(func(argv[words:]) or 0)
            except StylistError as exc:  # a clear message, never a traceback
                print(f"stylist {name}: {exc}", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                print("interrupted", file=sys.stderr)
                return 130
    print(f"stylist: unknown command {' '.join(argv[:2])!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
