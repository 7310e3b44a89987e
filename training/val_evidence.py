"""The val studies' evidence loop: per val picture, the served detections, the items matched to its truth,
and every model's evidence for a list of crops; each study (``training.tune_wild``, ``training.study_views``)
turns a picture into its own rows.

    rows = collect_rows(stylist, samples, rows_of, "val evidence")   # rows_of(picture) -> list of rows
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.hits import Hit
from stylist.results import Detection
from stylist.schema import CLASSES

if TYPE_CHECKING:
    from stylist.search import Stylist


@dataclass
class ValPicture:
    """One val picture as the search served it: ``items`` pairs each truth with the index of its detection
    (a real photo: its one truth with the best detection, None when nothing was detected; a composite or a
    board: each truth matched to a detection, unmatched truths left out)."""

    kind: str
    img: Image.Image
    truths: list[dict]
    detections: list[Detection]
    items: list[tuple[dict, int | None]]


@dataclass
class CropEvidence:
    """Every model's evidence for a list of crops, in one batch per model: AE vectors and category-head
    probabilities, CLIP image vectors, the garment namer's probabilities (None without a namer) and the
    ``k`` nearest catalogue products in each space."""

    ae: np.ndarray
    clip: np.ndarray
    heads: np.ndarray
    namer: list[Any]
    ae_hits: list[list[Hit]]
    clip_hits: list[list[Hit]]


def matched_items(kind: str, truths: list[dict], detections: list[Detection]) -> list[tuple[dict, int | None]]:
    """``ValPicture.items``: which detection each truth is (IoU matching, ``training.eval_wild.match_boxes``)."""
    from training.eval_wild import match_boxes

    if kind == "real":
        return [(truths[0], 0 if detections else None)]
    matched = match_boxes([t["box"] for t in truths], [d.box for d in detections])
    return [(t, m) for t, m in zip(truths, matched) if m >= 0]


def crop_evidence(stylist: Stylist, crops: list[Image.Image], k: int) -> CropEvidence:
    """The evidence the label fusion and the ranking read, for ``crops`` (as ``stylist.labels`` computes it)."""
    from stylist.labels import head_probs
    from stylist.store import CLIP, VISUAL

    ae = stylist.embedder.embed(crops)
    cl = stylist.clip.embed_images(crops)
    gn = stylist.candidates.namer.garment_namer
    return CropEvidence(ae, cl, head_probs(stylist.embedder, ae, CLASSES),
                        list(gn.probs(crops)) if gn is not None else [None] * len(crops),
                        stylist.store.query_many(VISUAL, ae, k), stylist.store.query_many(CLIP, cl, k))


def jpeg(img: Image.Image) -> bytes:
    """A crop kept with its evidence (so a retrained namer can be replayed without collecting again)."""
    import io

    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=92)
    return buf.getvalue()


def collect_rows(stylist: Stylist, samples: Iterable[tuple[str, Any, list[dict]]],
                 rows_of: Callable[[ValPicture], list[dict]], desc: str, progress: bool = True) -> list[dict]:
    """``rows_of`` every sample (kind, image or its path, truths), detected by the served detector."""
    rows: list[dict] = []
    for kind, img, truths in tqdm(list(samples), desc=desc, unit="img", disable=not progress):
        if isinstance(img, str):
            img = stylist.load_image(img)
        dets = stylist.detector.detect(img)
        rows.extend(rows_of(ValPicture(kind, img, truths, dets, matched_items(kind, truths, dets))))
    return rows
