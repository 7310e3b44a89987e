"""A photo's item crops and their CLIP image vectors, each crop embedded once per photo.

On a board the item check (``stylist.verify``) embeds the crop of every proposed box with CLIP, and the
candidates (``stylist.candidates``) need the same crops' vectors again (label evidence, the visual blend):
about 5 ms a board. Both cut their crops here (``stylist.images.item_crop``) and embed them through
``PhotoCrops``: a crop's vector is kept per photo (``stylist.photo_memo``) under its box and the CLIP model
that embedded it, so the second asker reads it. Another picture, box or CLIP model is embedded afresh.
"""
from __future__ import annotations

import weakref
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from stylist.images import item_crop
from stylist.photo_memo import PhotoMemo
from stylist.protocols import ClipEncoder

Box = tuple[float, float, float, float]

_VECTORS = PhotoMemo()  # per photo: (id of the CLIP model, box) -> (weak reference to that model, vector)


class PhotoCrops:
    """The item crops of ``img`` for ``boxes`` (None: the whole image), as every search step cuts them."""

    def __init__(self, img: Image.Image, boxes: Sequence[Box | None]):
        self.img = img
        self.boxes = [tuple(float(x) for x in b) if b is not None else None for b in boxes]
        self.crops = [item_crop(img, b) for b in self.boxes]

    def _recall(self, clip: ClipEncoder, box: Box | None) -> np.ndarray | None:
        found = _VECTORS.get(self.img, (id(clip), box))
        return found[1] if found is not None and found[0]() is clip else None  # type: ignore[index]

    def clip_embedder(self, clip: ClipEncoder) -> Callable[[Sequence[Image.Image]], np.ndarray]:
        """``clip.embed_images`` for a batch that may hold these crops (the very objects in ``self.crops``) among
        other images (other views of them, the whole photo): the crops embedded before are read back, the rest
        embedded in one batch, and the crops among them kept for the next asker."""
        where = {id(c): b for c, b in zip(self.crops, self.boxes)}  # the crops are alive: their ids are unique

        def embed(images: Sequence[Image.Image]) -> np.ndarray:
            if not images:
                return clip.embed_images([])
            rows: list[np.ndarray | None] = [self._recall(clip, where[id(im)]) if id(im) in where else None
                                             for im in images]
            todo = [i for i, r in enumerate(rows) if r is None]
            fresh = clip.embed_images([images[i] for i in todo]) if todo else []
            for i, vector in zip(todo, fresh):
                rows[i] = vector
                if id(images[i]) in where:
                    _VECTORS.put(self.img, (id(clip), where[id(images[i])]), (weakref.ref(clip), np.array(vector)))
            return np.stack(rows)

        return embed

    def clip_vectors(self, clip: ClipEncoder) -> np.ndarray:
        """The crops' CLIP image vectors (rows, as ``clip.embed_images`` gives them)."""
        return self.clip_embedder(clip)(self.crops)


__all__ = ["PhotoCrops"]
