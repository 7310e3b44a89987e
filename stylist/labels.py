"""Names you can trust: an item's class from the detector's score fused with evidence that generalises better.

The detector learned classes on catalogue boards; on a shopper's photo its class is often wrong even when
its box is right (a skirt called a handbag). Two other views of the same crop name it more reliably: the
embedder's category head, and the categories of the crop's nearest catalog products (when the catalog
has categories). Each source becomes a probability vector over the classes; the fused class maximises
their weighted sum of log-probabilities (a product of experts), so a confident, agreeing pair of sources
outvotes the third. CLIP's image tower is a fourth view that survives backgrounds (a bed, a floor behind
the garment) far better than the autoencoder: the classes of the crop's nearest catalog products in CLIP
image space, and CLIP zero-shot against one prompt per class. The garment namer (stylist.models.namer), a
classifier trained on real photos as well as catalogue crops, is the fifth and strongest on photos.
A shopper's photo of one garment is often detected as a part of it (a collar, a pocket), and every source
then names the part; when the detections look like one garment (``stylist.garment_photo``), the whole photo
is evidence too (the ``context_*`` sources). The functions are pure numpy; ``stylist.item_namer.ItemNamer``
applies them to the evidence the search gathers for a photo's items anyway (stylist.candidates).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np

from stylist.metrics import softmax
from stylist.protocols import CropEmbedder

FLOOR = 0.02  # no source may veto a class outright: its probability never drops below this share


ZERO_SHOT_PROMPT = "a photo of {}"  # CLIP's text for each class, compared with the item's image vector
ZERO_SHOT_SCALE = 50.0  # CLIP image-text cosines span ~0.1: this temperature turns them into probabilities


@dataclass(frozen=True)
class FusionWeights:
    """How much each source counts (log-linear weights); 0 switches a source off.

    The defaults are the detector + category head (a caller without CLIP vectors or a namer); the search uses
    ``WEIGHTS``, or ``CONTEXT_WEIGHTS`` for the items of a one-garment photo (``stylist.garment_photo``), or the
    ``*_WITHOUT_NAMER`` pair when no garment namer is bundled. All chosen on the val split (never test) with
    the bundled models and the final namer weights, by replaying collected evidence (training/tune_wild.py,
    training/study_views.py) over a 0/0.5/1/2 grid:

    * ``WEIGHTS``, items the detector found: 300 real CC0 photos / 103 composites on real backgrounds /
      307 cluttered-board items / 267 catalogue-board items. The namer alone is right for 0.72 / 0.78 /
      0.88 / 0.85, CLIP image neighbours alone 0.44 / 0.79 / 0.92 / 0.87, the previous fusion (detector 1,
      head 1, AE neighbours 0.5, CLIP neighbours 1, zero-shot 0.5) 0.49 / 0.82 / 0.93 / 0.91; detector 1,
      AE neighbours 1, CLIP neighbours 0.5, zero-shot 0.5, namer 0.5 (head 0): 0.54 / 0.84 / 0.95 / 0.93,
      the best mean over the three board/composite sets (real photos mostly get ``CONTEXT_WEIGHTS``).
    * ``CONTEXT_WEIGHTS``, one-garment items (407 real photos, 40 composites): the best box is often a part
      of the garment (its IoU with the GrabCut garment box is < 0.5 on 44 % of real val photos), and every
      source names the part. On the box the namer is right for 0.77 / 0.78; on the whole photo for 0.90 /
      0.63 (the AE head 0.72 / 0.28, CLIP neighbours 0.64 / 0.58). Head 0.5 and namer 1 on the box with the
      namer 2 on the whole photo: 0.90 / 0.85 (the previous fusion on the box: 0.57 / 0.83); adding the
      whole photo's AE head or CLIP neighbours gained nothing, so only the namer sees the whole photo.

    Re-checked for the ensemble namer (two networks averaged) by replaying the votes the serving path fused
    (training/study_labels.py; 482 real val photos, 120 composites, 263 cluttered-board and 230 catalogue-board
    items): the shipped weights give 0.880 / 0.775 / 0.954 / 0.900. The best one-garment weights for real photos
    (the whole photo's namer 2, detector 0.25, nothing on the box) reach only 0.888 (halves 0.876 / 0.900 against
    0.871 / 0.888) while composites fall to 0.59: a catalogue item is small in its photo, so the box's namer is
    the one that sees it. A logit adjustment of the namer (its probabilities divided by its training class prior
    to a power tau; a third of its views were tops) lifts dresses 0.62 -> 0.68 and skirts 0.60 -> 0.70 at tau
    0.6 but costs tops 0.92 -> 0.86: real photos 0.880 -> 0.876 / 0.871 / 0.861 at tau 0.2 / 0.4 / 0.6, boards
    down too. Neither was adopted. Most wrong labels left are the namer's own (the whole photo wrong too); the 5 %
    of real photos not judged one garment were 0.29 right (the whole photo's namer right for 23 of 24): the
    garment namer now decides half of those (``stylist.garment_photo``, rule 4).
    """

    detector: float = 1.0
    head: float = 1.0
    neighbours: float = 0.0
    clip_neighbours: float = 0.0
    zero_shot: float = 0.0
    namer: float = 0.0  # the garment namer (stylist.models.namer) on the item's crop
    # the same views of the whole photo, for an item of a one-garment photo (``stylist.garment_photo``)
    context_head: float = 0.0
    context_neighbours: float = 0.0
    context_clip_neighbours: float = 0.0
    context_zero_shot: float = 0.0
    context_namer: float = 0.0


@dataclass(frozen=True)
class FusedLabel:
    """The fused class, its probability, and each source's own guess (for debugging and --json)."""

    label: str
    confidence: float
    detector_label: str
    head_label: str
    neighbour_label: str
    clip_label: str = ""
    zero_shot_label: str = ""
    namer_label: str = ""
    context_label: str = ""  # the whole photo's own guess (namer, else AE head), when it counted (one garment)
    runner_up: str = ""  # the second most probable class and its probability: how close the fusion came to it
    runner_up_confidence: float = 0.0


def expand_box(box: Sequence[float], factor: float, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """``box`` (x0, y0, x1, y1) scaled by ``factor`` about its centre, clipped to an image of ``size`` (w, h)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, factor * (x1 - x0) / 2, factor * (y1 - y0) / 2
    return (max(0.0, cx - hw), max(0.0, cy - hh), min(float(size[0]), cx + hw), min(float(size[1]), cy + hh))


def _smooth(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    total = p.sum()
    if total <= 0:
        return np.full(len(p), 1.0 / len(p))
    p = p / total
    p = (1 - FLOOR * len(p)) * p + FLOOR if FLOOR * len(p) < 1 else np.full(len(p), 1.0 / len(p))
    return p / p.sum()


def detector_probs(label: str, score: float, classes: Sequence[str]) -> np.ndarray | None:
    """The detector's box score on its class, the rest spread evenly (the serving detector keeps only its top
    class). None when the label is not one of ``classes``."""
    if label not in classes:
        return None
    n = len(classes)
    score = float(np.clip(score, 0.0, 1.0))
    p = np.full(n, (1.0 - score) / max(1, n - 1))
    p[list(classes).index(label)] = score
    return p


def neighbour_probs(categories: Sequence[str | None], similarities: Sequence[float], classes: Sequence[str],
                    k: int = 10) -> np.ndarray | None:
    """Similarity-weighted vote of the ``k`` nearest catalog products' classes (None entries = unknown
    category, skipped). None when no neighbour has a known class (a catalog without categories)."""
    p = np.zeros(len(classes))
    index = {c: i for i, c in enumerate(classes)}
    for cat, sim in list(zip(categories, similarities))[:k]:
        if cat in index:
            p[index[cat]] += max(float(sim), 0.0) + 1e-3
    return p if p.sum() > 0 else None


def zero_shot_probs(clip_vectors: np.ndarray, class_vectors: np.ndarray, scale: float = ZERO_SHOT_SCALE) -> np.ndarray:
    """CLIP zero-shot: per item, softmax over the classes of ``scale`` · cosine(image vector, class prompt vector)."""
    return softmax(scale * (np.asarray(clip_vectors, np.float64) @ np.asarray(class_vectors, np.float64).T))


SOURCES = tuple(f.name for f in fields(FusionWeights))  # every source a FusionWeights weighs, in order


def fuse(classes: Sequence[str], detector: np.ndarray | None = None, head: np.ndarray | None = None,
         neighbours: np.ndarray | None = None, weights: FusionWeights = FusionWeights(),
         clip_neighbours: np.ndarray | None = None, zero_shot: np.ndarray | None = None,
         **more: np.ndarray | None) -> FusedLabel:
    """The class maximising Σ weight · log p over the sources that are present (at least one must be).
    ``more``: the other sources by their ``FusionWeights`` name (namer, context_head, ...)."""
    unknown = set(more) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown evidence sources: {sorted(unknown)}")
    given = {"detector": detector, "head": head, "neighbours": neighbours, "clip_neighbours": clip_neighbours,
             "zero_shot": zero_shot, **more}
    present = [(_smooth(p), getattr(weights, name)) for name, p in given.items()
               if p is not None and getattr(weights, name) > 0]
    if not present:
        raise ValueError("fuse needs at least one source of evidence")
    logits = sum(w * np.log(p) for p, w in present)
    post = softmax(logits)
    best = int(post.argmax())
    second = int(np.where(np.arange(len(post)) == best, -1.0, post).argmax())

    def top(p: np.ndarray | None) -> str:
        return classes[int(np.argmax(p))] if p is not None else ""

    return FusedLabel(classes[best], float(post[best]), top(detector), top(head), top(neighbours),
                      top(clip_neighbours), top(zero_shot), top(more.get("namer")), top(_first(more.get("context_namer"), more.get("context_head"))),
                      *((classes[second], float(post[second])) if second != best else ("", 0.0)))


def _first(*probs: np.ndarray | None) -> np.ndarray | None:
    return next((p for p in probs if p is not None), None)


def head_probs(embedder: CropEmbedder | None, vectors: np.ndarray, classes: Sequence[str]) -> list[np.ndarray | None]:
    """The embedder's category head on already-computed embeddings, re-ordered to ``classes`` (None per row
    when the embedder has no head or names other classes). Numpy only: the ONNX-served embedder has the
    same head (its export carries it), so fusion works without torch."""
    head = getattr(embedder, "head", None)
    names = tuple(getattr(embedder, "classes", ()))
    if head is None or not names or not set(classes) & set(names) or len(vectors) == 0:
        return [None] * len(vectors)
    weight, bias = head
    probs = softmax(np.asarray(vectors, np.float32) @ weight.T + bias)
    order = [names.index(c) if c in names else -1 for c in classes]
    out = []
    for row in probs:
        p = np.array([row[j] if j >= 0 else 0.0 for j in order])
        out.append(p if p.sum() > 0 else None)
    return out


# see FusionWeights for how these were chosen
WEIGHTS = FusionWeights(detector=1.0, head=0.0, neighbours=1.0, clip_neighbours=0.5, zero_shot=0.5, namer=0.5)
CONTEXT_WEIGHTS = FusionWeights(detector=0.0, head=0.5, namer=1.0, context_namer=2.0)  # one-garment photos
# without a garment namer (no weights bundled): the fusion chosen before it existed, the whole photo seen by the AE head
WEIGHTS_WITHOUT_NAMER = FusionWeights(detector=1.0, head=1.0, neighbours=0.5, clip_neighbours=1.0, zero_shot=0.5)
CONTEXT_WEIGHTS_WITHOUT_NAMER = FusionWeights(detector=0.0, head=0.5, neighbours=0.5, clip_neighbours=1.0,
                                              zero_shot=0.5, context_head=2.0)
