"""The item check: a detector box is kept only when its crop looks like a catalogue item.

On a style board the detector scores many real items low — small ones (jewellery, sunglasses), items partly
covered by a neighbour, items on a grey backdrop — and some things that are not items high (a perfume bottle,
a lipstick, a logo, the print of a top). A confidence threshold alone cannot separate them: on cluttered
validation boards 0.25 finds 85 % of the items at 90 % precision, 0.1 finds 93 % at 80 %. So on a picture
with several sure items (a board: ``PROPOSE_AFTER`` boxes above ``conf`` that are not the parts of one
garment, ``stylist.garment_photo.one_garment``) the detector also proposes its boxes down to
``Config.detect_verify_conf``, and every box but the best is checked: a logistic regression on its
crop's CLIP image vector (the same crop the search embeds) and the detector's score, trained on train-split
boards, composites and real photos (``training.train_verifier``; weights and card in
``stylist/weights/item-check.*``). A photo of one garment is served as before (the zoomed-out look, the second
chance and the whole-garment box build on the detector's sure boxes). The check's classifier belongs to one
CLIP model: with another one configured it is off.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from stylist.config import Config
from stylist.crop_vectors import PhotoCrops
from stylist.garment_box import WholeGarmentDetector, whole_garments
from stylist.garment_photo import one_garment
from stylist.models.detector_settings import PROPOSE_AFTER
from stylist.results import Detection

CHECK_PATH = Path(__file__).parent / "weights" / "item-check.json"
log = logging.getLogger(__name__)


def features(clip_vectors: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The check's input per box: the detector score's logit, then the crop's CLIP image vector."""
    s = np.clip(np.asarray(scores, np.float64), 1e-4, 1 - 1e-4)
    return np.concatenate([np.log(s / (1 - s))[:, None], np.asarray(clip_vectors, np.float64)], axis=1)


@dataclass(frozen=True)
class ItemCheck:
    """A fitted check: weights over ``features``, bias, the CLIP model whose vectors it reads."""

    weights: np.ndarray
    bias: float
    clip_model: str

    def probs(self, clip_vectors: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Probability that each box is an item."""
        if len(scores) == 0:
            return np.zeros(0)
        z = features(clip_vectors, scores) @ self.weights + self.bias
        return 1 / (1 + np.exp(-z))


def save_check(path: Path, weights: np.ndarray, bias: float, threshold: float, conf: float, clip_model: str,
               notes: dict) -> None:
    """Write a check (JSON: small, readable, diffable); ``threshold``/``conf`` are recorded as chosen on val."""
    path.write_text(json.dumps({"format": "stylist-item-check-1", "clip_model": clip_model, "bias": bias,
                                "weights": [round(float(x), 6) for x in weights], "threshold": threshold,
                                "conf": conf, "notes": notes}, indent=0))


def load_check(path: Path = CHECK_PATH) -> ItemCheck | None:
    """The bundled check, or None when the file is missing."""
    if not path.is_file():
        return None
    d = json.loads(path.read_text())
    return ItemCheck(np.asarray(d["weights"], np.float64), float(d["bias"]), str(d["clip_model"]))


class CheckedDetector:
    """A detector serving what it served without the check (its boxes above ``conf``, the whole-garment box
    when ``whole_garment``), plus, on a board, its checked lower-scored boxes — and there every box but the
    best must pass ``check`` at ``threshold``; the detections are renumbered 0..n-1, best first. ``check``
    None: nothing is added. Anything else passes through to the wrapped detector."""

    def __init__(self, detector, clip, check: ItemCheck | None, threshold: float, whole_garment: bool = False):
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
        if not several or self.check is None or one_garment([d.box for d in sure]):
            return served  # a shopper's photo of one garment, parts and all, is served as before
        boxes = served + [d for d in found if d.score <= conf]
        vectors = PhotoCrops(img, [d.box for d in boxes]).clip_vectors(self.clip)  # the candidates read them again
        p = self.check.probs(vectors, np.array([d.score for d in boxes]))
        kept = [d for i, d in enumerate(boxes) if i == 0 or p[i] >= self.threshold]
        return [dataclasses.replace(d, index=i) for i, d in enumerate(kept)]

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def serving_detector(config: Config, detector, clip):
    """The detector as a search serves it: the whole-garment boxes (``Config.detect_whole_garment``,
    ``stylist.garment_box``) and, on boards, the item check (``Config.detect_verify``)."""
    if not config.detect_verify:
        return WholeGarmentDetector(detector) if config.detect_whole_garment else detector
    check = load_check()
    if check is None or check.clip_model != config.clip_model:
        log.warning("item check off: %s", "no weights" if check is None else f"trained for {check.clip_model}")
        check = None
    return CheckedDetector(detector, clip, check, config.detect_verify_threshold, bool(config.detect_whole_garment))
