"""The model interfaces the search relies on, as typing Protocols: what a detector, crop embedder, CLIP and
garment namer must offer, whichever runtime serves them.

Each role has several implementations (torch or ONNX Runtime, plus the serving wrappers around the detector),
chosen at load time by ``stylist.models.registry``; the search code only calls the members listed here.
Protocols rather than base classes, so the models stay independent of the search and tests may hand in any
object with these members. Attributes some callers read only when present (a detector's ``conf``, an
embedder's ``weights_digest``, a CLIP's ``text_cache``) are not part of the interface.
"""
from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np
from PIL import Image

from stylist.results import Detection


@runtime_checkable
class ItemDetector(Protocol):
    """Photo -> its items, best first: ``stylist.models.detector.Detector`` (torch), ``OnnxDetector``, and the
    serving wrappers ``stylist.verify.CheckedDetector`` and ``stylist.garment_box.WholeGarmentDetector``."""

    def detect(self, img: Image.Image) -> list[Detection]: ...


@runtime_checkable
class CropEmbedder(Protocol):
    """Crops -> the visual search's L2-normalised float32 vectors (N x ``dim``): ``ImageEmbedder`` (torch) or
    ``OnnxEmbedder``. ``head`` (weight, bias) and ``classes`` are its category head, which label fusion reads
    (None and empty without one)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def classes(self) -> tuple[str, ...]: ...

    @property
    def head(self) -> tuple[np.ndarray, np.ndarray] | None: ...

    def embed(self, imgs: Sequence[Image.Image]) -> np.ndarray: ...


@runtime_checkable
class ClipEncoder(Protocol):
    """Images and words -> CLIP's shared space, L2-normalised float32 rows: ``stylist.models.clip.ClipModel``
    (torch) or ``stylist.models.fast.LazyClip`` (ONNX Runtime, torch loaded only when needed)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_images(self, imgs: Sequence[Image.Image]) -> np.ndarray: ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class ClassNamer(Protocol):
    """Crops -> class probabilities (N x classes, ``stylist.schema.CLASSES`` order):
    ``stylist.models.namer.GarmentNamer``."""

    def probs(self, crops: Sequence[Image.Image]) -> np.ndarray: ...


__all__ = ["ItemDetector", "CropEmbedder", "ClipEncoder", "ClassNamer"]
