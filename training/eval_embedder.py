"""Autoencoder retrieval quality with the whole CTL catalog as the index: category P@5 (with and without the
query itself) and item-level Recall@1/10 and MRR for held-out products cut from test boards by the detector."""
from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist import metrics
from stylist.images import crop_box, load_image
from stylist.results import Detection

QUERY_RESCALE = 0.75  # the query crop is downscaled …
QUERY_JPEG_QUALITY = 75  # … and re-encoded, as a phone photo forwarded through a messenger would be


def embed_paths(embedder, paths: Sequence[Path], desc: str, chunk: int = 256) -> tuple[np.ndarray, float]:
    """Embed image files in chunks (decode outside the timer); returns (N×dim vectors, seconds spent embedding)."""
    out, spent = [], 0.0
    for start in tqdm(range(0, len(paths), chunk), desc=desc, unit=f"×{chunk}"):
        imgs = [load_image(p) for p in paths[start:start + chunk]]
        t = time.perf_counter()
        out.append(embedder.embed(imgs))
        spent += time.perf_counter() - t
    return np.concatenate(out) if out else np.zeros((0, embedder.dim), np.float32), spent


def degrade(crop: Image.Image, scale: float = QUERY_RESCALE, quality: int = QUERY_JPEG_QUALITY) -> Image.Image:
    """Rescale and JPEG re-encode a crop (the query is never the pristine catalogue file)."""
    w, h = max(8, round(crop.width * scale)), max(8, round(crop.height * scale))
    buf = io.BytesIO()
    crop.resize((w, h), Image.BILINEAR).save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def board_queries(boards, images: Sequence[Image.Image], detections: Sequence[list[Detection]],
                  index_ids: Sequence[str]) -> dict:
    """Every true box of an indexed product on the test boards → the detector's best box (IoU ≥ 0.5) as a query.

    Returns query crops (None = the detector missed the item), the target row in the index, the true category
    and the board/box each came from. Boxes of products not in the index (e.g. Fashion-MNIST demo items) are
    left out and counted.
    """
    from stylist.images import CROP_PAD  # crop exactly as the serving path does

    row_of = {pid: i for i, pid in enumerate(index_ids)}
    crops, targets, categories, sources = [], [], [], []
    not_indexed = 0
    for b, (board, img, dets) in enumerate(zip(boards, images, detections)):
        pred_boxes = [d.box for d in dets]
        for item in board.boxes:
            row = row_of.get(item["product_id"])
            if row is None:
                not_indexed += 1
                continue
            match = metrics.best_match(item["box"], pred_boxes, 0.5)
            crops.append(degrade(crop_box(img, dets[match].box, CROP_PAD)) if match >= 0 else None)
            targets.append(row)
            categories.append(item["category"])
            sources.append((b, match))
    return {"crops": crops, "targets": np.asarray(targets, dtype=np.int64), "categories": categories,
            "sources": sources, "not_indexed": not_indexed}


def item_retrieval(embedder, queries: dict, index_emb: np.ndarray, top: int = 10) -> dict:
    """Recall@1/5/10 and MRR of the exact product for each query (detector misses count as failures)."""
    found = [i for i, c in enumerate(queries["crops"]) if c is not None]
    n = len(queries["crops"])
    ranks = np.full(n, metrics.MISS, dtype=np.int64)
    top_rows = np.full((n, top), -1, dtype=np.int64)
    if found:
        q = embedder.embed([queries["crops"][i] for i in found])
        scores = q @ index_emb.T
        ranks[found] = metrics.rank_of_target(scores, queries["targets"][found])
        top_rows[found] = metrics.top_k_neighbours(q, index_emb, top)
    return {
        "queries": n, "detected": len(found),
        "detection_rate": len(found) / n if n else float("nan"),
        "recall_at_1": metrics.recall_at_k(ranks, 1), "recall_at_5": metrics.recall_at_k(ranks, 5),
        "recall_at_10": metrics.recall_at_k(ranks, 10), "mrr": metrics.mrr(ranks),
        "recall_at_10_of_detected": metrics.recall_at_k(ranks[found], 10) if found else float("nan"),
        "_ranks": ranks, "_top": top_rows,
    }


def index_vectors(embedder, paths: Sequence[Path], ids: Sequence[str],
                  stored: Callable[[list[str]], np.ndarray] | None = None, sample: int = 512) -> tuple[np.ndarray, float, str]:
    """The index vectors of every crop, the embedding speed (crops/s) and where the vectors came from.

    The first ``sample`` crops are always embedded here (that times the speed). When ``stored`` gives vectors of
    the same model — the search evaluation's index of the same catalogue, built earlier in this run from the
    same bundled weights — and they equal the fresh ones on that sample, they are used instead of embedding the
    catalogue a second time (ids it lacks are embedded here).
    """
    head, seconds = embed_paths(embedder, paths[:sample], desc=f"embed {embedder.name}")
    speed = len(head) / seconds if seconds > 0 else float("nan")
    vecs = None
    if stored is not None and len(paths) > sample:
        try:
            vecs = np.array(stored(list(ids)), dtype=np.float32)
        except Exception:  # noqa: BLE001 - any failure just means "embed it here"
            vecs = None
        if vecs is None or vecs.shape != (len(paths), head.shape[1]) or np.abs(vecs[:len(head)] - head).max() > 1e-3:
            vecs = None
    if vecs is not None:
        missing = np.nonzero(np.linalg.norm(vecs, axis=1) < 0.5)[0]
        if len(missing):
            vecs[missing] = embed_paths(embedder, [paths[i] for i in missing], desc=f"embed {embedder.name}")[0]
        vecs[:len(head)] = head
        return vecs, speed, f"search-eval index, equal to fresh vectors on {len(head)} crops ({len(missing)} embedded here)"
    if len(paths) <= sample:
        return head, speed, "embedded here"
    rest, more = embed_paths(embedder, paths[sample:], desc=f"embed {embedder.name}")
    total = seconds + more
    return np.concatenate([head, rest]), (len(paths) / total if total > 0 else float("nan")), "embedded here"


def evaluate_embedder(embedder, index_paths: Sequence[Path], index_labels: Sequence[str], queries: dict,
                      index_ids: Sequence[str] = (), stored=None) -> tuple[dict, np.ndarray]:
    """Every autoencoder number of the eval for one model; also returns the index vectors (for the pictures)."""
    emb, speed, source = index_vectors(embedder, index_paths, index_ids or [str(p) for p in index_paths], stored)
    with_self = metrics.category_precision_per_query(emb, index_labels, 5, include_self=True)
    no_self = metrics.category_precision_per_query(emb, index_labels, 5, include_self=False)
    item = item_retrieval(embedder, queries, emb)
    result = {
        "model": embedder.name, "dim": int(emb.shape[1]), "index_size": int(emb.shape[0]),
        "p5_with_self": float(with_self.mean()), "p5_without_self": float(no_self.mean()),
        "p5_without_self_per_class": metrics.per_class_mean(no_self, index_labels),
        **item,
        "index_mb_per_10k_fp32": metrics.index_mb_per_10k(emb.shape[1], 4),
        "index_mb_per_10k_fp16": metrics.index_mb_per_10k(emb.shape[1], 2),
        "crops_per_s": speed, "index_vectors": source,
    }
    return result, emb
