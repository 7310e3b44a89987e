"""Retrieval, classification and detection quality metrics, the L2 normalisation they assume, and softmax: pure,
no I/O.

Conventions (so every number in ``reports/metrics.json`` means one thing):
- embeddings are L2-normalised (``l2_normalize``, the one home of that step: the embedders, the index and
  the vector stores call it too), similarity is the dot product (cosine);
- a *rank* is 0-based (0 = first result); a missing query (e.g. the detector found no box) has rank -1
  and counts as "not retrieved" in every recall and MRR;
- ties are broken pessimistically: an item tied with the target is ranked ahead of it, so a degenerate
  model that returns the same vector for everything scores zero, not one.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

MISS = -1  # rank of a query that never reached the index (no detection)


# --- unit vectors ----------------------------------------------------------------------------------
def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length, as float32 (the one home of L2 normalisation for numpy vectors)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        return x / max(float(np.linalg.norm(x)), eps)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


# --- probabilities ---------------------------------------------------------------------------------
def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Probabilities along ``axis`` (each row of a matrix, or a vector), computed after subtracting the max so
    large logits do not overflow. The one home of softmax for numpy arrays: the result keeps the logits'
    dtype (a namer's float32 logits give float32 probabilities, a calibration's float64 give float64)."""
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


# --- neighbours ------------------------------------------------------------------------------------
def top_k_neighbours(
    queries: np.ndarray, index: np.ndarray, k: int, exclude: np.ndarray | None = None, batch: int = 2048
) -> np.ndarray:
    """Row ``i``: indices into ``index`` of the ``k`` most similar vectors to ``queries[i]``, best first.

    ``exclude[i]`` (an index row, or -1 for none) is never returned for query ``i`` — how the query's own
    vector is left out when every index vector is used as a query.
    """
    queries = np.asarray(queries, dtype=np.float32)
    index = np.asarray(index, dtype=np.float32)
    k = min(k, index.shape[0] - (0 if exclude is None else 1))
    out = np.empty((queries.shape[0], max(k, 0)), dtype=np.int64)
    for start in range(0, queries.shape[0], batch):
        sims = queries[start : start + batch] @ index.T
        if exclude is not None:
            rows = np.arange(sims.shape[0])
            ex = np.asarray(exclude[start : start + batch])
            valid = ex >= 0
            sims[rows[valid], ex[valid]] = -np.inf
        if k < sims.shape[1]:
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[start : start + batch] = np.take_along_axis(part, order, axis=1)
    return out


def precision_at_k(retrieved_labels: np.ndarray, query_labels: Sequence, k: int = 5) -> float:
    """Mean over queries of the share of the first ``k`` results whose label equals the query's label."""
    retrieved = np.asarray(retrieved_labels)[:, :k]
    truth = np.asarray(query_labels).reshape(-1, 1)
    if retrieved.shape[0] == 0:
        return float("nan")
    return float((retrieved == truth).mean(axis=1).mean())


def category_precision_at_k(
    embeddings: np.ndarray, labels: Sequence, k: int = 5, include_self: bool = False
) -> float:
    """Category precision@k with every index vector as a query against the same index.

    ``include_self=True`` is the original Smart Stylist's metric (its "mAP 0.53"): the query's own vector
    is the first of the ``k`` results, so 1/k is the floor. ``include_self=False`` is the honest version.
    """
    return float(np.mean(category_precision_per_query(embeddings, labels, k, include_self)))


def category_precision_per_query(
    embeddings: np.ndarray, labels: Sequence, k: int = 5, include_self: bool = False
) -> np.ndarray:
    """Per-query category precision@k (see ``category_precision_at_k``), for per-class breakdowns."""
    labels = np.asarray(labels)
    others = k - 1 if include_self else k
    nbrs = top_k_neighbours(embeddings, embeddings, others, exclude=np.arange(len(labels)))
    hits = (labels[nbrs] == labels.reshape(-1, 1)).sum(axis=1)
    # the self-match is placed first explicitly: with near-duplicate vectors a float tie could push it out
    return (hits + (1 if include_self else 0)) / k


def per_class_mean(values: np.ndarray, labels: Sequence) -> dict[str, float]:
    """Mean of ``values`` per label, labels sorted — the per-class column of a table."""
    labels = np.asarray(labels)
    values = np.asarray(values, dtype=np.float64)
    return {str(c): float(values[labels == c].mean()) for c in sorted(set(labels.tolist()))}


# --- ranks, recall, MRR ----------------------------------------------------------------------------
def rank_of_target(scores: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """0-based rank of column ``targets[i]`` in row ``i`` of ``scores`` (higher = better; ties count against).

    A target of -1 (the query had no detection, or its item is not in the gallery) gives rank -1 (a miss).
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    ranks = np.full(len(targets), MISS, dtype=np.int64)
    ok = targets >= 0
    if ok.any():
        rows = np.nonzero(ok)[0]
        target_scores = scores[rows, targets[ok]]
        ranks[ok] = (scores[rows] >= target_scores[:, None]).sum(axis=1) - 1
    return ranks


def recall_at_k(ranks: Sequence[int], k: int) -> float:
    """Share of queries whose target is in the first ``k`` results; misses (rank -1) count as failures."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return float("nan")
    return float(((ranks >= 0) & (ranks < k)).mean())


def mrr(ranks: Sequence[int]) -> float:
    """Mean reciprocal rank, 1/(rank+1); a miss contributes 0."""
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        return float("nan")
    return float((1.0 / (np.maximum(ranks, 0) + 1.0) * (ranks >= 0)).mean())


def recall_at_k_multi(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Share of query rows with at least one relevant gallery item (boolean ``relevant`` row) in the top ``k``.

    For text→image retrieval where several catalogue images share one title: any of them is a hit.
    Ties are pessimistic: a relevant item is in the top k only if fewer than k items score at least as high.
    """
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant, dtype=bool)
    if scores.shape[0] == 0:
        return float("nan")
    best_relevant = np.where(relevant, scores, -np.inf).max(axis=1)
    ahead = (scores >= best_relevant[:, None]).sum(axis=1) - 1  # items tied with or above the best relevant one
    return float(((ahead < k) & np.isfinite(best_relevant)).mean())


def average_precision(ranked_relevance: Sequence[bool], n_relevant: int | None = None) -> float:
    """Average precision of one ranked list (``n_relevant`` = all relevant items, default those in the list)."""
    rel = np.asarray(ranked_relevance, dtype=bool)
    total = int(rel.sum()) if n_relevant is None else n_relevant
    if total == 0:
        return 0.0
    hits = np.cumsum(rel)
    return float((hits[rel] / (np.nonzero(rel)[0] + 1)).sum() / total)


# --- classification --------------------------------------------------------------------------------
def top1_accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Share of rows whose highest-scoring column is the true label (zero-shot top-1)."""
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    return float((scores.argmax(axis=1) == labels).mean())


def zero_shot_scores(image_embs: np.ndarray, class_text_embs: np.ndarray) -> np.ndarray:
    """Cosine scores images × classes, where each class is the re-normalised mean of its prompt embeddings.

    ``class_text_embs`` is (classes, templates, dim): averaging several prompt templates per class is the
    CLIP paper's prompt ensembling.
    """
    class_embs = np.asarray(class_text_embs, dtype=np.float32).mean(axis=1)
    class_embs /= np.linalg.norm(class_embs, axis=1, keepdims=True).clip(1e-12)
    return np.asarray(image_embs, dtype=np.float32) @ class_embs.T


# --- detection helpers -----------------------------------------------------------------------------
def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def best_match(true_box: Sequence[float], pred_boxes: Sequence[Sequence[float]], min_iou: float = 0.5) -> int:
    """Index of the predicted box with the highest IoU ≥ ``min_iou`` to ``true_box`` (class-agnostic), else -1."""
    best, best_iou = -1, min_iou
    for i, box in enumerate(pred_boxes):
        v = box_iou(true_box, box)
        if v >= best_iou and (best < 0 or v > best_iou):
            best, best_iou = i, v
    return best


# --- sizes, speed, targets -------------------------------------------------------------------------
def index_mb_per_10k(dim: int, bytes_per_value: int = 4) -> float:
    """Raw vector storage for 10,000 items in MB (10^6 bytes), as the original's 25 MB for 12,225×512 fp32."""
    return 10_000 * dim * bytes_per_value / 1e6


def percentile_ms(seconds: Sequence[float], q: float = 50) -> float:
    """The ``q``-th percentile of per-call durations, in milliseconds."""
    if len(seconds) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def meets(value: float | None, target: float | None, higher_is_better: bool = True) -> bool | None:
    """Whether ``value`` reaches ``target`` (None when there is no target or no value)."""
    if target is None or value is None or not np.isfinite(value):
        return None
    return bool(value >= target) if higher_is_better else bool(value <= target)
