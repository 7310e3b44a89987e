"""The item check (stylist.verify): features, probabilities, the wrapper around the real detector."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from stylist.verify import CHECK_PATH, CheckedDetector, ItemCheck, features, load_check, save_check
from tests.helpers.bot_catalog import make_grid_board


def test_features_are_the_score_logit_then_the_clip_vector():
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    f = features(vecs, np.array([0.5, 0.8]))
    assert f.shape == (2, 4)
    assert f[0, 0] == pytest.approx(0.0) and f[1, 0] == pytest.approx(math.log(0.8 / 0.2))
    assert f[1, 1:].tolist() == [3.0, 4.0, 5.0]
    assert np.isfinite(features(vecs, np.array([0.0, 1.0]))).all()  # clipped, never ±inf


def test_probabilities_are_a_logistic_regression_over_the_features():
    rng = np.random.default_rng(0)
    w, vecs, scores = rng.normal(size=5), rng.normal(size=(3, 4)), np.array([0.1, 0.3, 0.9])
    check = ItemCheck(w, -0.2, "fashion-lite")
    for p, v, s in zip(check.probs(vecs, scores), vecs, scores):
        z = w[0] * math.log(s / (1 - s)) + sum(wi * vi for wi, vi in zip(w[1:], v)) - 0.2
        assert p == pytest.approx(1 / (1 + math.exp(-z)))
    assert check.probs(np.zeros((0, 4)), np.zeros(0)).shape == (0,)


def test_a_saved_check_loads_back(tmp_path):
    w = np.array([1.5, -0.25, 0.125])
    save_check(tmp_path / "c.json", w, 0.75, 0.5, 0.1, "fashion-lite", {"why": "test"})
    back = load_check(tmp_path / "c.json")
    assert back.weights.tolist() == w.tolist() and back.bias == 0.75 and back.clip_model == "fashion-lite"
    assert load_check(tmp_path / "missing.json") is None


def test_the_bundled_check_belongs_to_the_bundled_clip_and_reads_its_vectors():
    from stylist.config import load_config

    check = load_check(CHECK_PATH)
    assert check is not None and check.clip_model == load_config(env={}).clip_model
    assert check.weights.shape == (257,)  # the score's logit + fashion-lite's 256-d image vector


@pytest.fixture(scope="module")
def served():
    from stylist.config import load_config
    from stylist.models import load_detector
    from stylist.models.registry import shared_clip

    config = load_config(env={})
    board = make_grid_board([("Dresses", "red"), ("Handbags", "blue"), ("Shoes", "black"), ("Hats", "green")])
    return load_detector(config), shared_clip(config), Image.open(io.BytesIO(board.jpeg)).convert("RGB"), board


def test_the_wrapper_keeps_what_passes_and_always_the_best_box(served):
    detector, clip, img, _ = served
    inner = detector.detect(img)
    assert len(inner) >= 2
    everything = ItemCheck(np.zeros(257), 50.0, "fashion-lite")
    assert CheckedDetector(detector, clip, everything, 0.5).detect(img) == inner
    nothing = ItemCheck(np.zeros(257), -50.0, "fashion-lite")
    out = CheckedDetector(detector, clip, nothing, 0.5).detect(img)
    assert out == [inner[0]]
    # only the detector's score speaks: boxes above 0.4 pass, renumbered in order
    by_score = ItemCheck(np.r_[1.0, np.zeros(256)], -math.log(0.4 / 0.6), "fashion-lite")
    kept = CheckedDetector(detector, clip, by_score, 0.5).detect(img)
    assert [d.box for d in kept] == [d.box for i, d in enumerate(inner) if i == 0 or d.score >= 0.4]
    assert [d.index for d in kept] == list(range(len(kept)))
    assert CheckedDetector(detector, clip, nothing, 0.5).classes == detector.classes


def test_the_served_detector_still_finds_every_drawn_item_the_plain_one_finds(served):
    from stylist.config import load_config
    from stylist.metrics import box_iou
    from stylist.models import load_detector
    from stylist.verify import serving_detector

    detector, clip, img, board = served
    config = load_config(env={})
    wrapped = serving_detector(config, detector, clip)
    assert isinstance(wrapped, CheckedDetector) and wrapped.whole_garment and wrapped.check is not None
    found = wrapped.detect(img)
    plain = load_detector(config.replace(detect_verify=0)).detect(img)  # served at detect_conf, unchecked
    seen = [t for t in board.items if max(box_iou(t.box, d.box) for d in plain) >= 0.5]
    assert len(seen) >= 2 and all(max(box_iou(t.box, d.box) for d in found) >= 0.5 for t in seen)
    off = serving_detector(config.replace(detect_verify=0), detector, clip)
    assert not isinstance(off, CheckedDetector) and not isinstance(off.inner, CheckedDetector)


def test_a_detector_without_serving_settings_is_served_as_it_is(served):
    from stylist.results import Detection

    class Listed:  # boxes from elsewhere (a caller's own detector): no confidence, nothing proposed
        def detect(self, img):
            return [Detection(index=i, label="Shoes", score=0.9, box=(10.0 + 60 * i, 10.0, 60.0 + 60 * i, 60.0))
                    for i in range(3)]

    _, clip, img, _ = served
    nothing = ItemCheck(np.zeros(257), -50.0, "fashion-lite")
    assert CheckedDetector(Listed(), clip, nothing, 0.5).detect(img) == Listed().detect(img)
