"""Interpolate two detector checkpoints of one lineage: ``(1 - alpha) * base + alpha * tuned``, weight by weight.

    python -m training.soup_detector stylist/weights/yolov5n-fashion.pt runs/det/weights/epoch1.pt \
        --alpha 0.5 --out runs/det/soup-050.pt

A fine-tune on real photos forgets some of what the base knew (a pale top on white); the weights between
the two often keep both (a "model soup": the fine-tune started from the base, so they lie in one basin).
The result is an fp16 ultralytics checkpoint in the base's format (class names inside) with the recipe under
the ``"stylist"`` key; choose ``alpha`` on the validation split (``training.tune_detector``).
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import stylist  # noqa: F401  (offline settings before ultralytics is imported)
from training.yolo_checkpoint import save_yolo_checkpoint, served_model


def interpolate(base: str | Path, tuned: str | Path, alpha: float, dst: str | Path) -> Path:
    """Write ``(1 - alpha) * base + alpha * tuned`` (float tensors; integer buffers from ``tuned``) to ``dst``."""
    import torch

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    a = torch.load(base, map_location="cpu", weights_only=False)
    b = torch.load(tuned, map_location="cpu", weights_only=False)
    ma, mb = served_model(a), served_model(b)
    sa, sb = ma.float().state_dict(), mb.float().state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise ValueError(f"{base} and {tuned} are not the same architecture")
    mixed = {k: (1 - alpha) * sa[k] + alpha * sb[k] if sa[k].is_floating_point() else sb[k] for k in sa}
    out = copy.deepcopy(ma)
    out.load_state_dict(mixed)
    return save_yolo_checkpoint(a, out, dst, {"soup": {"base": str(base), "tuned": str(tuned), "alpha": alpha}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.soup_detector", description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("tuned")
    p.add_argument("--alpha", type=float, default=0.5, help="share of the tuned weights")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    print(interpolate(a.base, a.tuned, a.alpha, a.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
