"""Turn product crops into L2-normalised vectors for the visual index (the autoencoder's encoder)."""
from __future__ import annotations

import threading
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from stylist.metrics import l2_normalize
from stylist.models.autoencoder import Autoencoder, Preprocess


def channels_last_on_cpu(module: torch.nn.Module | None, device: str) -> None:
    """On CPU, channels-last conv weights run the image encoders ~1.4x faster with identical outputs
    (measured on the CTL crops: CLIP tower 44 -> 29 ms/img, autoencoder 29 -> 21 ms/img on 2 busy cores)."""
    if device == "cpu" and module is not None:
        module.to(memory_format=torch.channels_last)


class ImageEmbedder:
    """Autoencoder encoder + its preprocessing; ``embed`` is safe to call from several threads."""

    def __init__(self, model: Autoencoder, preprocess: Preprocess, name: str, device: str = "cpu",
                 classes: Sequence[str] = (), batch_size: int = 64):
        self.model = model.eval().to(device)
        channels_last_on_cpu(self.model, device)
        self.preprocess = preprocess
        self.name = name
        self.device = device
        self.classes = tuple(classes)
        self.batch_size = batch_size
        self.runner = None  # a fast runtime for the encoder (stylist.models.runtime); None = torch
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.model.cfg.dim

    @torch.no_grad()
    def embed(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        """N crops → N×dim float32, each row L2-normalised."""
        if not imgs:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in range(0, len(imgs), self.batch_size):
            chunk = imgs[start:start + self.batch_size]
            if self.runner is not None:  # thread-safe itself, normalised below
                out.append(self.runner(self.preprocess.batch(chunk)))
                continue
            batch = torch.stack([self.preprocess(im) for im in chunk]).to(self.device)
            with self._lock:
                out.append(self.model.embed(batch).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))

    @property
    def head(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The category head as numpy (weight n×dim, bias n), so label fusion needs no torch; None without one."""
        if self.model.classifier is None or not self.classes:
            return None
        if getattr(self, "_head", None) is None:
            layer = self.model.classifier
            self._head = (layer.weight.detach().float().cpu().numpy(), layer.bias.detach().float().cpu().numpy())
        return self._head

    @torch.no_grad()
    def classify(self, imgs: Sequence[Image.Image]) -> list[tuple[str, float]]:
        """The auxiliary head's (category, probability) per crop; empty labels when the model has no head."""
        if self.model.classifier is None or not self.classes:
            return [("", 0.0) for _ in imgs]
        emb = torch.from_numpy(self.embed(imgs)).to(self.device)
        with self._lock:
            probs = torch.softmax(self.model.classifier(emb.to(next(self.model.parameters()).dtype)).float(), 1)
        p, i = probs.max(1)
        return [(self.classes[k], float(v)) for k, v in zip(i.tolist(), p.tolist())]
