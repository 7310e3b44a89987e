"""What every training script shares: a dataclass as its command line, the command line of a val study, the
warmup-cosine learning rate, and saving a run (last.pt, the optional exported bundle, metrics.json).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from stylist.models.checkpoints import save_checkpoint


def parse_bool(text: str) -> bool:
    """'1' / 'true' / 'yes' (any case) → True; '0' / 'false' / 'no' → False; anything else is an error."""
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _converter(kind: Any):
    """An argparse ``type`` for a field annotation: str/int/float/bool, and ``X | None`` ('none' → None)."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        inner = _converter(next(a for a in args if a is not type(None)))

        def optional(text: str):
            return None if text.strip().lower() in ("", "none") else inner(text)

        optional.__name__ = getattr(inner, "__name__", "value")
        return optional
    if kind is bool:
        return parse_bool
    if kind in (str, int, float):
        return kind
    raise TypeError(f"no command-line form for a field of type {kind!r}")


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """One ``--field-name`` option per dataclass field (its default, its type), so a config is its CLI."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=_converter(hints[f.name]), default=default,
                            dest=f.name, help="default: %(default)s")
    return parser


def study_parser(doc: str | None, seed: int | None = None, **sizes: int) -> argparse.ArgumentParser:
    """The command line every val study starts from: ``--out`` (required), ``--data``, one ``--NAME N`` per
    sample size in ``sizes`` (photos=250 gives ``--photos``, default 250) and ``--seed`` when ``seed`` is given;
    a study adds its own options to the returned parser."""
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    p.add_argument("--out", required=True)
    p.add_argument("--data", default="../shared/data")
    for name, default in sizes.items():
        p.add_argument(f"--{name}", type=int, default=default)
    if seed is not None:
        p.add_argument("--seed", type=int, default=seed)
    return p


def warmup_cosine(base_lr: float, step: int, warmup_steps: int, progress: float) -> float:
    """Linear warmup over ``warmup_steps``, then a cosine from ``base_lr`` to 0 as ``progress`` goes 0 → 1."""
    warm = min(1.0, (step + 1) / warmup_steps)
    return base_lr * warm * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def save_run(out: Path, export: str, metrics: Mapping[str, Any], **checkpoint: Any) -> None:
    """``out/last.pt`` (and ``export`` when given) as stylist checkpoints, plus ``out/metrics.json``."""
    save_checkpoint(out / "last.pt", metrics=metrics, **checkpoint)
    if export:
        save_checkpoint(export, metrics=metrics, **checkpoint)
    (out / "metrics.json").write_text(json.dumps(dict(metrics), indent=2))
