"""The item check: a detector box is kept only when its crop looks like a catalogue item.

On a style board the detector scores many real items low — small ones (jewellery, sunglasses), items partly
covered by a neighbour, items on a grey backdrop — and some things that are not items high (a perfume bottle,
a lipstick, a logo, the print of a top). A confidence threshold alone cannot separate them: on cluttered
validation boards 0.25 finds 85 % of the items at 90 % precision, 0.1 finds 93 % at 80 %. So on a picture
with several sure items (a board: ``PROPOSE_AFTER`` boxes above ``conf`` that are not the parts of one
garment, ``stylist.garment_photo.one_garment``) the detector also proposes its boxes down to
``Config.detect_verify_conf``, and every box but the best is checked: a logistic regression on its
crop's CLIP image vector (the same crop the search embeds), the detector's score and where the box lies among
the picture's boxes (``layout``: a box inside a better one is often a part of that item or a second box on
it, a box holding several others spans several items), trained on train-split boards, composites and real
photos (``training.train_verifier``; weights and card in ``stylist/weights/item-check.*``). A photo of one
garment is served as before (the zoomed-out look, the second chance and the whole-garment box build on the
detector's sure boxes). The check's classifier belongs to one CLIP model: with another one configured it is
off.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.config import Config
from stylist.crop_vectors import PhotoCrops
from stylist.errors import DataMissingError
from stylist.garment_box import WholeGarmentDetector, whole_garments
from stylist.garment_photo import one_garment
from stylist.models.detector_settings import PROPOSE_AFTER
from stylist.models.registry import detector_weights
from stylist.models.runtime import file_key
from stylist.protocols import ClipEncoder, ItemDetector
from stylist.results import Detection

CHECK_PATH = Path(__file__).parent / "weights" / "item-check.json"
log = logging.getLogger(__name__)


LAYOUT = ("inside_better", "holds", "log_area")  # where a box lies among the picture's boxes (``layout``)


def layout(boxes: Sequence[Sequence[float]], size: tuple[int, int]) -> np.ndarray:
    """Per box (best first), the ``LAYOUT`` inputs: the largest share of it lying inside a box ranked before it
    (a part of an item, a second box on it); how many other boxes lie at least half inside it (a box over
    several items); the log of its share of the picture."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(b):
        return np.zeros((0, len(LAYOUT)))
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    iw = np.clip(np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1]), 0, None)
    share = iw * ih / area[:, None]  # share[i, j]: of box i inside box j
    np.fill_diagonal(share, 0.0)
    inside_better = np.tril(share, -1).max(axis=1)  # boxes ranked before i only
    holds = (share >= 0.5).sum(axis=0)
    w, h = size
    return np.stack([inside_better, holds, np.log(area / max(1.0, w * h))], axis=1)


def features(clip_vectors: np.ndarray, scores: np.ndarray, places: np.ndarray | None = None) -> np.ndarray:
    """The check's input per box: the detector score's logit, its ``layout`` inputs when given (``places``),
    then the crop's CLIP image vector."""
    s = np.clip(np.asarray(scores, np.float64), 1e-4, 1 - 1e-4)
    parts = [np.log(s / (1 - s))[:, None]]
    if places is not None:
        parts.append(np.asarray(places, np.float64).reshape(len(s), -1))
    return np.concatenate([*parts, np.asarray(clip_vectors, np.float64)], axis=1)


@dataclass(frozen=True)
class ItemCheck:
    """A fitted check: weights over ``features`` (with the ``layout`` inputs named in ``places``, in that
    order), bias, the CLIP model whose vectors it reads and the detector weights (``runtime.file_key``) whose
    boxes and scores it was fitted on ("" when not recorded)."""

    weights: np.ndarray
    bias: float
    clip_model: str
    places: tuple[str, ...] = ()
    detector: str = ""

    def probs(self, clip_vectors: np.ndarray, scores: np.ndarray, places: np.ndarray | None = None) -> np.ndarray:
        """Probability that each box is an item (``places``: ``layout``'s inputs, all of ``LAYOUT``)."""
        if len(scores) == 0:
            return np.zeros(0)
        cols = [LAYOUT.index(p) for p in self.places]
        chosen = np.asarray(places)[:, cols] if self.places else None
        z = features(clip_vectors, scores, chosen) @ self.weights + self.bias
        return 1 / (1 + np.exp(-z))


def save_check(path: Path, weights: np.ndarray, bias: float, threshold: float, conf: float, clip_model: str,
               notes: dict, places: Sequence[str] = (), detector: str = "") -> None:
    """Write a check (JSON: small, readable, diffable); ``threshold``/``conf`` are recorded as chosen on val."""
    path.write_text(json.dumps({"format": "stylist-item-check-2", "clip_model": clip_model, "detector": detector,
                                "bias": bias,
                                "places": list(places), "weights": [round(float(x), 6) for x in weights],
                                "threshold": threshold, "conf": conf, "notes": notes}, indent=0))


def load_check(path: Path = CHECK_PATH) -> ItemCheck | None:
    """The bundled check, or None when the file is missing."""
    if not path.is_file():
        return None
    d = json.loads(path.read_text())
    return ItemCheck(np.asarray(d["weights"], np.float64), float(d["bias"]), str(d["clip_model"]),
                     tuple(d.get("places", ())), str(d.get("detector", "")))


def is_board(sure: Sequence[Sequence[float]]) -> bool:
    """Whether the boxes above the serving confidence make a board: ``PROPOSE_AFTER`` or more, not the parts
    of one garment (``stylist.garment_photo.one_garment``)."""
    return len(sure) >= PROPOSE_AFTER and not one_garment(list(sure))


class CheckedDetector:
    """A detector serving what it served without the check (its boxes above ``conf``, the whole-garment box
    when ``whole_garment``), plus, on a board, its checked lower-scored boxes — and there every box but the
    best must pass ``check`` at ``threshold``; the detections are renumbered 0..n-1, best first. ``check``
    None: nothing is added. Anything else passes through to the wrapped detector."""

    def __init__(self, detector: ItemDetector, clip: ClipEncoder, check: ItemCheck | None, threshold: float,
                 whole_garment: bool = False):
        self.inner = detector
        self.clip = clip
        self.check = check
        self.threshold = threshold
        self.whole_garment = whole_garment

    def detect(self, img: Image.Image) -> list[Detection]:
        found = self.inner.detect(img)
        conf = getattr(self.inner, "conf", None)  # None: a detector without serving settings proposes nothing
        sure = [d for d in found if conf is not None and d.score > conf]
        several = len(sure) >= PROPOSE_AFTER
        served = sure if several else found  # the detector alone (nothing lower is proposed otherwise)
        if self.whole_garment:
            served = whole_garments(served, img)
        if self.check is None or not is_board([d.box for d in sure]):
            return served  # a shopper's photo of one garment, parts and all, is served as before
        boxes = served + [d for d in found if d.score <= conf]
        vectors = PhotoCrops(img, [d.box for d in boxes]).clip_vectors(self.clip)  # the candidates read them again
        places = layout([d.box for d in boxes], img.size)
        p = self.check.probs(vectors, np.array([d.score for d in boxes]), places)
        kept = [d for i, d in enumerate(boxes) if i == 0 or p[i] >= self.threshold]
        return [dataclasses.replace(d, index=i) for i, d in enumerate(kept)]

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def serving_detector(config: Config, detector: ItemDetector, clip: ClipEncoder) -> ItemDetector:
    """The detector as a search serves it: the whole-garment boxes (``Config.detect_whole_garment``,
    ``stylist.garment_box``) and, on boards, the item check (``Config.detect_verify``)."""
    if not config.detect_verify:
        return WholeGarmentDetector(detector) if config.detect_whole_garment else detector
    if config.detect_verify_check is not None and not config.detect_verify_check.is_file():
        raise DataMissingError(f"no item check at {config.detect_verify_check} (STYLIST_DETECT_VERIFY_CHECK)")
    check = load_check(config.detect_verify_check or CHECK_PATH)  # a CLIP tuned further needs its own check
    if check is None or check.clip_model != config.clip_model:
        log.warning("item check off: %s", "no weights" if check is None else f"trained for {check.clip_model}")
        check = None
    elif check.detector:
        weights = detector_weights(config)
        if weights is None or file_key(weights) != check.detector:  # kept: measure it, or retrain it for yours
            log.warning("item check fitted on another detector's boxes (%s), served with %s: retrain it with "
                        "training.train_verifier for this detector", check.detector, config.detector)
    return CheckedDetector(detector, clip, check, config.detect_verify_threshold, bool(config.detect_whole_garment))
