"""The white view of a photographed garment: its crop also embedded with the background painted white.

The catalogue shows products on white; a shopper's photo shows the same garment on a floor or a bed, and the
autoencoder (trained mostly on white backgrounds) is pulled towards the background. So for an item of a photo
judged one garment on a photographed surface, a model also sees the crop with the background painted white
(``stylist.garment_box.on_white``), and the item's row is the mean of the two views. Which models do is a
setting (``Config.on_white``, ``STYLIST_ON_WHITE``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PIL import Image

from stylist.garment_box import backdrop_of, on_white
from stylist.metrics import l2_normalize

ON_WHITE_MODELS = ("ae", "clip", "namer")


def on_white_models(spec: str) -> frozenset[str]:
    """The models named in a ``Config.on_white`` value ("ae", "ae,namer"; "none" or "" = none); a clear error
    for others."""
    names = frozenset(p.strip().lower() for p in spec.replace(";", ",").split(",") if p.strip()) - {"none"}
    unknown = sorted(names - set(ON_WHITE_MODELS))
    if unknown:
        raise ValueError(f"STYLIST_ON_WHITE names unknown models {unknown}: choose from {list(ON_WHITE_MODELS)}")
    return names


def white_crops(img: Image.Image, crops: Sequence[Image.Image], flags: Sequence[bool]) -> dict[int, Image.Image]:
    """Per position of a target judged one garment (``flags``), its crop with the background painted white
    (``stylist.garment_box.on_white``); empty when there is none or the photo's background is not a
    photographed surface (a catalogue image on white, a board, a busy scene: nothing to take away)."""
    if not any(flags):
        return {}
    found = backdrop_of(img)
    if found is None or not found.photographed:
        return {}
    return {i: on_white(c, found) for i, (c, f) in enumerate(zip(crops, flags)) if f}


def two_views(run: Callable[[list[Image.Image]], np.ndarray], images: list[Image.Image], white: dict[int, Image.Image],
              unit: bool = True) -> np.ndarray:
    """``run(images)`` (one row per image) in one batch with the white views; the row of an image that has one
    is the mean of both (renormalised when ``unit``: embeddings; probabilities stay summing to one).

    Neither view alone is the best: on the val split (200 catalogue products composited onto real floors and
    beds, ``training.study_wildmatch``) the exact product's Recall@10 was 0.65 with the crop as it is, 0.69
    with the autoencoder seeing it on white, 0.74 with the mean of both (boxed 0.88); the fused label and
    the top-5 majority class of 250 real photos stayed 0.876 / 0.872 (the fused kind steers those)."""
    if not white:
        return np.asarray(run(images))
    keys = sorted(white)
    out = np.array(run(images + [white[i] for i in keys]), dtype=np.float32)
    both = (out[keys] + out[len(images):]) / 2
    if unit:
        both = l2_normalize(both)
    out[keys] = both
    return out[:len(images)]


__all__ = ["ON_WHITE_MODELS", "on_white_models", "white_crops", "two_views"]
