"""An ultralytics detector checkpoint as our detector tools read and write it (``training.soup_detector``,
``training.reestimate_bn``): the weights it serves, and the checkpoint written back with new weights.

Not ``stylist.models.checkpoints``: that is the format of our own models (autoencoder, namer, CLIP tune); a
detector stays in ultralytics' format so ``YOLO(path)`` and the ONNX export read it as they read any other.
"""
from __future__ import annotations

from pathlib import Path


def served_model(ckpt: dict):
    """The weights ultralytics serves from a checkpoint: the EMA when training left one, else the model."""
    return ckpt.get("ema") or ckpt["model"]


def save_yolo_checkpoint(ckpt: dict, model, dst: str | Path, recipe: dict) -> Path:
    """``ckpt`` with ``model`` (fp16) as its only weights and ``recipe`` added under the ``"stylist"`` key,
    written to ``dst``: the source's format, class names and metadata kept, the optimizer state dropped."""
    import torch

    out = {k: v for k, v in ckpt.items() if k not in ("ema", "optimizer")}
    out.update(model=model.half(), ema=None, optimizer=None)
    out["stylist"] = {**(ckpt.get("stylist") or {}), **recipe}
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, dst)
    return dst


__all__ = ["served_model", "save_yolo_checkpoint"]
