"""Stage 2 of the index build: product images -> visual vectors, CLIP image vectors, colour and metadata.

Both vectors are computed here once per product, so no image encoder runs per candidate at query time.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

from stylist.catalog import CatalogItem
from stylist.colors import canonical_color, dominant_color
from stylist.query import category_of
from stylist.models.signature import model_signature


class ProductEmbedder:
    """The two image encoders the index stores (autoencoder + CLIP), run together on each batch."""

    def __init__(self, embedder, clip):
        self.embedder = embedder
        self.clip = clip
        self._signature: str | None = None

    @property
    def signature(self) -> str:
        """Which models (name + weight digest) produced the vectors; part of every fingerprint."""
        if self._signature is None:
            self._signature = model_signature(self.embedder, self.clip)
        return self._signature

    def models_info(self) -> dict[str, str]:
        """What the index records about its models (checked at query time)."""
        return {"embedder": self.embedder.name, "embedder_dim": str(self.embedder.dim), "clip": self.clip.name,
                "signature": self.signature}

    def embed(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(visual N×d, clip N×d'), both L2-normalised."""
        return self.embedder.embed(list(images)), self.clip.embed_images(list(images))


def product_metadata(item: CatalogItem, image: Image.Image, fingerprint: str) -> dict:
    """The stored metadata: category as a detection class when it maps, colour from the row or the pixels."""
    color = canonical_color(item.color) if item.color else None
    if color is None:
        color = item.color.lower() if item.color else dominant_color(image)
    return {"name": item.name or item.id, "category": category_of(item.category) or item.category, "color": color,
            "price": item.price, "url": item.url, "style_id": item.style_id, "image": item.image,
            "fingerprint": fingerprint}
