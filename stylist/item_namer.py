"""Naming a photo's items: ``ItemNamer`` turns the evidence the search gathers for each item anyway (the
detector's class and score, the AE vector's category head, the classes of the nearest catalogue products by AE
and by CLIP image, CLIP zero-shot, the garment namer's guess, and for a one-garment photo the whole photo's
evidence) into one fused class per item with ``stylist.labels.fuse``. The sources and the fusion live in
``stylist.labels``; whether a photo is one garment in ``stylist.garment_photo``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from stylist.labels import (CONTEXT_WEIGHTS, CONTEXT_WEIGHTS_WITHOUT_NAMER, WEIGHTS, WEIGHTS_WITHOUT_NAMER,
                            ZERO_SHOT_PROMPT, FusedLabel, FusionWeights, detector_probs, fuse, head_probs,
                            neighbour_probs, zero_shot_probs)
from stylist.protocols import ClassNamer, ClipEncoder, CropEmbedder


@dataclass(frozen=True)
class View:
    """The evidence of one view of a photo (here: the whole photo, as context for its one garment)."""

    vector: np.ndarray | None  # AE (None: not embedded, as no AE source of the context counts)
    clip_vector: np.ndarray | None
    hits: Sequence = ()
    clip_hits: Sequence = ()
    namer: np.ndarray | None = None


NEIGHBOURS_K = 10  # nearest catalog products that vote, in each space


class ItemNamer:
    """Names a photo's items from the evidence the search gathered for them anyway (one batch per photo):
    the detector's class and score, the category head on the AE vector, the classes of the nearest products
    by AE and by CLIP image, and CLIP zero-shot against one prompt per class. Thread-safe."""

    def __init__(self, embedder: CropEmbedder | None, clip: ClipEncoder | None, classes: Sequence[str] | None = None,
                 weights: FusionWeights | None = None, k: int = NEIGHBOURS_K,
                 context_weights: FusionWeights | None = None, garment_namer: ClassNamer | None = None):
        from stylist.schema import CLASSES

        self.embedder = embedder
        self.clip = clip
        self.classes = tuple(classes or CLASSES)
        with_namer = garment_namer is not None
        self.weights = weights or (WEIGHTS if with_namer else WEIGHTS_WITHOUT_NAMER)
        self.context_weights = context_weights or (CONTEXT_WEIGHTS if with_namer else CONTEXT_WEIGHTS_WITHOUT_NAMER)
        self.garment_namer = garment_namer  # stylist.models.namer.GarmentNamer, or None
        self.k = k
        self._class_vectors: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def wants_clip(self) -> bool:
        """Whether the crops' CLIP image vectors are needed (always: the visual ranking blends them too)."""
        return self.clip is not None

    def class_vectors(self) -> np.ndarray:
        """CLIP text vectors of the class prompts, embedded once."""
        with self._lock:
            if self._class_vectors is None:
                prompts = [ZERO_SHOT_PROMPT.format(c.lower()) for c in self.classes]
                self._class_vectors = np.asarray(self.clip.embed_texts(prompts), np.float32)
            return self._class_vectors

    def name(self, targets: Sequence, vectors: np.ndarray, clip_vectors: np.ndarray | None,
             visual_hits: Sequence[Sequence], clip_hits: Sequence[Sequence],
             namer_probs: Sequence[np.ndarray | None] | None = None, context: "View | None" = None,
             in_context: Sequence[bool] | None = None) -> list[FusedLabel]:
        """The fused class of each target (a Detection, or None for the whole photo: no detector vote).

        ``namer_probs``: the garment namer's probabilities per target (None: not run). ``context``: the whole
        photo's evidence, counted (with ``context_weights``) for the targets flagged in ``in_context`` — the
        items of a one-garment photo, whose box is often only a part of the garment.
        A detection already named keeps its detector's class in ``detector_label``; that class, not the
        fused one, is the detector's vote, so naming twice gives the same answer."""
        n = len(vectors)
        namer_probs = list(namer_probs) if namer_probs is not None else [None] * n
        in_context = list(in_context) if in_context is not None and context is not None else [False] * n
        extra = self._context_sources(context) if any(in_context) else {}
        heads = head_probs(self.embedder, vectors, self.classes)
        zero = (zero_shot_probs(clip_vectors, self.class_vectors())
                if clip_vectors is not None and self.clip is not None and n else [None] * n)
        out = []
        for det, head, zs, near, far, nm, ctx in zip(targets, heads, zero, visual_hits, clip_hits, namer_probs,
                                                      in_context):
            w = self.context_weights if ctx else self.weights
            own = (det.detector_label or det.label) if det is not None else ""
            votes = {"detector": detector_probs(own, det.score, self.classes) if det is not None else None,
                     "head": head, "zero_shot": zs, "namer": nm,
                     "neighbours": self._vote(near) if w.neighbours > 0 else None,
                     "clip_neighbours": self._vote(far) if w.clip_neighbours > 0 else None,
                     **(extra if ctx else {})}
            if all(v is None or getattr(w, k) <= 0 for k, v in votes.items()):  # nothing to go on
                out.append(FusedLabel(own, 0.0, own, "", ""))
                continue
            out.append(fuse(self.classes, weights=w, **votes))
        return out

    def _context_sources(self, view: "View") -> dict[str, np.ndarray | None]:
        """The whole photo's evidence, as the ``context_*`` sources."""
        zs = (zero_shot_probs(view.clip_vector[None], self.class_vectors())[0]
              if view.clip_vector is not None and self.clip is not None else None)
        head = head_probs(self.embedder, view.vector[None], self.classes)[0] if view.vector is not None else None
        return {"context_head": head,
                "context_neighbours": self._vote(view.hits), "context_clip_neighbours": self._vote(view.clip_hits),
                "context_zero_shot": zs, "context_namer": view.namer}

    def _vote(self, hits: Sequence) -> np.ndarray | None:
        """The classes of the ``k`` nearest products (stored as classes at index time), similarity-weighted."""
        hits = list(hits)[:self.k]
        return neighbour_probs([str(h.meta.get("category") or "") for h in hits], [h.similarity for h in hits],
                               self.classes, self.k)


__all__ = ["ItemNamer", "View", "NEIGHBOURS_K"]
