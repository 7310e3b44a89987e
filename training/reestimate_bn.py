"""Re-estimate a detector's batch-norm running statistics on training images, weights untouched.

    python -m training.reestimate_bn runs/det/weights/last.pt --images data/images/train --out runs/det/bn.pt

Why: fine-tuning the whole detector on CPU (backbone free, small batches, momentum 0.03) leaves the
backbone's running means and variances far from what its weights now produce — the training loss falls
while val mAP50 collapses (0.659 -> 0.219 in two epochs, card "Stage 3"). The weights are fine: one pass
over a few hundred training images in train mode, without gradients and with cumulative averages
(``momentum=None``), brings that checkpoint back to 0.674. Images are scaled as in ultralytics' training
batches (long side ``imgsz``, sides a multiple of 32) and padded to a square with its grey (114), top-left
rather than centred (per-channel averages do not care where the padding lies). The result is an fp16
checkpoint in the source's format with the recipe under the ``"stylist"`` key.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import stylist  # noqa: F401  (offline settings before ultralytics is imported)
from training.yolo_checkpoint import save_yolo_checkpoint, served_model

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def letterbox(path: Path, imgsz: int):
    """A CHW float tensor in [0, 1]: the image scaled so its long side is ``imgsz``, padded to a square."""
    import numpy as np
    import torch
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = imgsz / max(w, h)
    im = im.resize((max(32, min(imgsz, round(w * s / 32) * 32)), max(32, min(imgsz, round(h * s / 32) * 32))))
    canvas = Image.new("RGB", (imgsz, imgsz), (114, 114, 114))
    canvas.paste(im, (0, 0))
    return torch.from_numpy(np.asarray(canvas).transpose(2, 0, 1).copy()).float() / 255


def sample_images(folder: str | Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` image files from ``folder``, drawn at random (fixed seed) so every kind of image is represented."""
    import numpy as np

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images in {folder}")
    order = np.random.default_rng(seed).permutation(len(files))[:n]
    return [files[i] for i in order]


def reestimate(src: str | Path, images: list[Path], dst: str | Path, imgsz: int = 512, batch: int = 16) -> Path:
    """Reset every BatchNorm2d's running statistics and average them afresh over ``images``; write ``dst``."""
    import torch

    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    model = served_model(ckpt).float()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not norms:
        raise ValueError(f"{src} has no batch-norm layers")
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch counts the same
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            model(torch.stack([letterbox(p, imgsz) for p in images[i:i + batch]]))
    model.eval()
    for m in norms:
        m.momentum = 0.03  # ultralytics' default, so a later fine-tune behaves as usual
    return save_yolo_checkpoint(ckpt, model, dst, {"bn_reestimated": {"source": str(src), "images": len(images),
                                                                       "imgsz": imgsz}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.reestimate_bn", description=__doc__.split("\n")[0])
    p.add_argument("weights", help="detector checkpoint (.pt) whose statistics drifted")
    p.add_argument("--images", required=True, help="folder of training images (e.g. a YOLO dataset's images/train)")
    p.add_argument("--n", type=int, default=320, help="how many images to average over")
    p.add_argument("--imgsz", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    print(reestimate(a.weights, sample_images(a.images, a.n, a.seed), a.out, a.imgsz))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
