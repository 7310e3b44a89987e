"""Names you can trust: an item's class from the detector's score fused with evidence that generalises better.

The detector learned classes on catalogue boards; on a shopper's photo its class is often wrong even when
its box is right (a skirt called a handbag). Two other views of the same crop name it more reliably: the
embedder's category head, and the categories of the crop's nearest catalog products (when the catalog
has categories). Each source becomes a probability vector over the classes; the fused class maximises
their weighted sum of log-probabilities (a product of experts), so a confident, agreeing pair of sources
outvotes the third. Pure functions on numpy: the search pipeline gathers the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

FLOOR = 0.02  # no source may veto a class outright: its probability never drops below this share


@dataclass(frozen=True)
class FusionWeights:
    """How much each source counts (log-linear weights); 0 switches a source off.

    Chosen on held-out (val split) items the detector found. Bundled detector, 83 items on cluttered boards:
    detector alone 0.71 right, detector + head 0.81, + neighbours at 0.5 0.83. A detector fine-tuned on real
    photos, 90 board items / 44 real CC0 photos: detector alone 0.72 / 0.73, detector + head 0.81 / 0.73,
    + neighbours at 0.5 0.81 / 0.66 (on real photos the nearest catalog products are often of another kind).
    So the neighbours are off by default, which also saves a Chroma query per detected item.
    """

    detector: float = 1.0
    head: float = 1.0
    neighbours: float = 0.0


@dataclass(frozen=True)
class FusedLabel:
    """The fused class, its probability, and each source's own guess (for debugging and --json)."""

    label: str
    confidence: float
    detector_label: str
    head_label: str
    neighbour_label: str


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


def fuse(classes: Sequence[str], detector: np.ndarray | None = None, head: np.ndarray | None = None,
         neighbours: np.ndarray | None = None, weights: FusionWeights = FusionWeights()) -> FusedLabel:
    """The class maximising Σ weight · log p over the sources that are present (at least one must be)."""
    sources = [(detector, weights.detector), (head, weights.head), (neighbours, weights.neighbours)]
    present = [(_smooth(p), w) for p, w in sources if p is not None and w > 0]
    if not present:
        raise ValueError("fuse needs at least one source of evidence")
    logits = sum(w * np.log(p) for p, w in present)
    post = np.exp(logits - logits.max())
    post /= post.sum()
    best = int(post.argmax())

    def top(p: np.ndarray | None) -> str:
        return classes[int(np.argmax(p))] if p is not None else ""

    return FusedLabel(classes[best], float(post[best]), top(detector), top(head), top(neighbours))


def head_probs(embedder, vectors: np.ndarray, classes: Sequence[str]) -> list[np.ndarray | None]:
    """The embedder's category head on already-computed embeddings, re-ordered to ``classes`` (None per row
    when the embedder has no head or names other classes). Numpy only: the ONNX-served embedder has the
    same head (its export carries it), so fusion works without torch."""
    head = getattr(embedder, "head", None)
    names = tuple(getattr(embedder, "classes", ()))
    if head is None or not names or not set(classes) & set(names) or len(vectors) == 0:
        return [None] * len(vectors)
    weight, bias = head
    logits = np.asarray(vectors, np.float32) @ weight.T + bias
    logits -= logits.max(1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(1, keepdims=True)
    order = [names.index(c) if c in names else -1 for c in classes]
    out = []
    for row in probs:
        p = np.array([row[j] if j >= 0 else 0.0 for j in order])
        out.append(p if p.sum() > 0 else None)
    return out


def label_detections(img, detections: Sequence, embedder, store, classes: Sequence[str], pad: float = 0.0,
                     k: int = 10, weights: FusionWeights = FusionWeights(), vectors: np.ndarray | None = None) -> list:
    """``detections`` with ``label`` replaced by the fused class and the detector's own kept in ``detector_label``.

    Evidence per item: the detector's score, the embedder's category head on the item's crop, and the
    classes of its ``k`` nearest products in the visual index (skipped when the catalog has no categories).
    ``vectors``: the crops' embeddings when the caller already has them (one embedding per item per photo).
    """
    import dataclasses

    from stylist.images import crop_box
    from stylist.query import category_of
    from stylist.store import VISUAL

    if not detections:
        return []
    if vectors is None:
        vectors = embedder.embed([crop_box(img, d.box, pad) for d in detections])
    heads = head_probs(embedder, vectors, classes)
    out = []
    for det, vec, head in zip(detections, vectors, heads):
        hits = store.query(VISUAL, vec, k) if weights.neighbours > 0 else []
        cats = [category_of(str(h.meta.get("category") or "")) for h in hits]
        near = neighbour_probs(cats, [h.similarity for h in hits], classes, k)
        fused = fuse(classes, detector_probs(det.label, det.score, classes), head, near, weights)
        out.append(dataclasses.replace(det, label=fused.label, detector_label=det.detector_label or det.label))
    return out


def detect_and_label(img, detector, embedder, store) -> tuple[list, np.ndarray | None]:
    """Detect, embed every item's crop once, and name each item by the fused class: (detections, their
    crop vectors) — the search reuses the vectors for its candidates instead of embedding the crops again."""
    from stylist.images import CROP_PAD, item_crop
    from stylist.schema import CLASSES

    found = detector.detect(img)
    if not found:
        return [], None
    vectors = embedder.embed([item_crop(img, d.box) for d in found])
    return label_detections(img, found, embedder, store, CLASSES, CROP_PAD, vectors=vectors), vectors
