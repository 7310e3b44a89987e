"""The convolutional autoencoder whose encoder turns a product crop into a retrieval embedding.

Config first, then modules in dependency order (nanoGPT style); no training code here. Two variants:
``ae512`` — 128×128 RGB → 512×1×1 bottleneck (the original Smart Stylist's shape); ``ae4096`` — the
original's baseline, whose code is the last feature map (256×4×4) flattened. The embedding is the encoder
output flattened and L2-normalised. A small category head on the code is part of the model: training uses it
as an auxiliary loss, and it also names the category of any crop.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from stylist.models.fast import SquarePreprocess


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture of one variant; stored in every checkpoint so it can be rebuilt from the file alone."""

    image_size: int = 128
    channels: tuple[int, ...] = (32, 64, 128, 256, 256)  # one stride-2 stage each: 128 → 4 px
    latent_channels: int = 512  # bottleneck channels when latent_size == 1
    latent_size: int = 1  # 1: a 4×4 conv squeezes the 4×4 map to C×1×1; 4: the 4×4 map itself is the code
    n_classes: int = 13  # auxiliary category head (0 = none)
    background: tuple[int, int, int] = (255, 255, 255)  # pad colour: catalogue crops sit on white

    @property
    def dim(self) -> int:
        """Embedding size: 512 for ae512, 4096 for ae4096."""
        if self.latent_size == 1:
            return self.latent_channels
        return self.channels[-1] * self.latent_size * self.latent_size

    @property
    def feature_size(self) -> int:
        return self.image_size // (2 ** len(self.channels))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AutoencoderConfig":
        known = {f for f in cls.__dataclass_fields__}
        d = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known}
        return cls(**d)


class Preprocess(SquarePreprocess):
    """PIL crop → float tensor 3×S×S in [0, 1]: pad to square on white, then resize to S.

    Returned together with the model so the indexer, the bot and training cannot prepare crops differently.
    The padding, resizing and ``batch`` are ``SquarePreprocess``'s (the torch-free serving path), so a crop
    embedded with or without torch gets the same pixels; this adds the tensor for one crop.
    """

    def __init__(self, image_size: int = 128, background: tuple[int, int, int] = (255, 255, 255)):
        super().__init__(image_size, background)

    def __call__(self, img: Image.Image) -> torch.Tensor:
        arr = np.asarray(self.square(img), dtype=np.float32) / 255.0
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Stride-2 downsampling conv + BN + ReLU, then a 3×3 refinement conv."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


def deconv_block(c_in: int, c_out: int) -> nn.Sequential:
    """×2 upsampling (nearest + conv, no checkerboard) + BN + ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class Encoder(nn.Module):
    """Crop 3×S×S → code (latent_channels×1×1, or channels[-1]×4×4 for the baseline)."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        chans = (3, *cfg.channels)
        self.stages = nn.Sequential(*[conv_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        if cfg.latent_size == 1:
            self.squeeze = nn.Conv2d(cfg.channels[-1], cfg.latent_channels, cfg.feature_size)  # 4×4 → 1×1
        else:
            self.squeeze = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.squeeze(self.stages(x))


class Decoder(nn.Module):
    """Code → reconstructed crop in [0, 1]."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        top = cfg.channels[-1]
        if cfg.latent_size == 1:
            self.expand = nn.Sequential(
                nn.ConvTranspose2d(cfg.latent_channels, top, cfg.feature_size), nn.BatchNorm2d(top), nn.ReLU(inplace=True)
            )
        else:
            self.expand = nn.Identity()
        chans = (*reversed(cfg.channels), cfg.channels[0])
        self.stages = nn.Sequential(*[deconv_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.to_rgb = nn.Conv2d(cfg.channels[0], 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.to_rgb(self.stages(self.expand(z))))


class Autoencoder(nn.Module):
    """Encoder + decoder + an auxiliary category head on the (normalised) code."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.classifier = nn.Linear(cfg.dim, cfg.n_classes) if cfg.n_classes else None

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The retrieval embedding: the encoder output flattened and L2-normalised."""
        return F.normalize(self.encoder(x).flatten(1), dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Returns (reconstruction, normalised embedding, category logits or None)."""
        code = self.encoder(x)
        emb = F.normalize(code.flatten(1), dim=1)
        logits = self.classifier(emb) if self.classifier is not None else None
        return self.decoder(code), emb, logits
