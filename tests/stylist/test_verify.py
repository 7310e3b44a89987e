"""The item check (stylist.verify): features, probabilities, the wrapper around the real detector."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from stylist.metrics import box_iou
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
    save_check(tmp_path / "d.json", w, 0.75, 0.5, 0.1, "fashion-lite", {}, detector="0123456789abcdef")
    assert load_check(tmp_path / "d.json").detector == "0123456789abcdef" and back.detector == ""


def test_the_bundled_check_was_fitted_on_the_bundled_detectors_boxes():
    from stylist.config import load_config
    from stylist.models.registry import detector_weights
    from stylist.models.runtime import file_key

    weights = detector_weights(load_config(env={}))
    assert weights is not None and load_check(CHECK_PATH).detector == file_key(weights)


def test_the_bundled_check_belongs_to_the_bundled_clip_and_reads_its_vectors():
    from stylist.config import load_config

    from stylist.verify import LAYOUT

    check = load_check(CHECK_PATH)
    assert check is not None and check.clip_model == load_config(env={}).clip_model
    assert check.places == LAYOUT  # the score's logit, the box's layout, fashion-lite's 256-d image vector
    assert check.weights.shape == (1 + len(LAYOUT) + 256,)


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


def test_a_configured_check_file_is_the_one_served(served, tmp_path):
    from stylist.config import load_config
    from stylist.errors import DataMissingError
    from stylist.verify import serving_detector

    detector, clip, _, _ = served
    w = np.linspace(-1.0, 1.0, 257)
    save_check(tmp_path / "other.json", w, -0.5, 0.35, 0.05, "fashion-lite", {"why": "test"})
    config = load_config(env={"STYLIST_DETECT_VERIFY_CHECK": str(tmp_path / "other.json")})
    served_check = serving_detector(config, detector, clip).check
    assert served_check.weights.tolist() == pytest.approx(w.tolist(), abs=1e-6) and served_check.bias == -0.5
    assert serving_detector(load_config(env={}), detector, clip).check.weights.tolist() == load_check().weights.tolist()
    with pytest.raises(DataMissingError, match="STYLIST_DETECT_VERIFY_CHECK"):
        serving_detector(config.replace(detect_verify_check=tmp_path / "missing.json"), detector, clip)


def test_a_check_fitted_on_another_detector_is_served_with_a_warning(served, tmp_path, caplog):
    from stylist.config import load_config
    from stylist.verify import serving_detector

    detector, clip, _, _ = served
    save_check(tmp_path / "other.json", np.zeros(257), 0.0, 0.35, 0.05, "fashion-lite", {}, detector="ffffffffffffffff")
    with caplog.at_level("WARNING", logger="stylist.verify"):
        check = serving_detector(load_config(env={"STYLIST_DETECT_VERIFY_CHECK": str(tmp_path / "other.json")}),
                                 detector, clip).check
    assert check is not None and "another detector" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="stylist.verify"):
        serving_detector(load_config(env={}), detector, clip)
    assert "another detector" not in caplog.text


def test_a_detector_without_serving_settings_is_served_as_it_is(served):
    from stylist.results import Detection

    class Listed:  # boxes from elsewhere (a caller's own detector): no confidence, nothing proposed
        def detect(self, img):
            return [Detection(index=i, label="Shoes", score=0.9, box=(10.0 + 60 * i, 10.0, 60.0 + 60 * i, 60.0))
                    for i in range(3)]

    _, clip, img, _ = served
    nothing = ItemCheck(np.zeros(257), -50.0, "fashion-lite")
    assert CheckedDetector(Listed(), clip, nothing, 0.5).detect(img) == Listed().detect(img)


def test_layout_says_where_each_box_lies_among_the_others():
    from stylist.verify import LAYOUT, layout

    boxes = [(0, 0, 100, 100), (50, 50, 150, 150), (10, 10, 30, 30), (0, 0, 200, 200)]
    got = layout(boxes, (400, 200))
    assert got.shape == (4, len(LAYOUT)) and LAYOUT == ("inside_better", "holds", "log_area")
    assert got[:, 0].tolist() == pytest.approx([0.0, 0.25, 1.0, 0.25])  # share inside a box ranked before it
    assert got[:, 1].tolist() == [1, 0, 0, 3]  # boxes at least half inside it
    assert got[:, 2].tolist() == pytest.approx([math.log(1e4 / 8e4), math.log(1e4 / 8e4), math.log(400 / 8e4),
                                                math.log(4e4 / 8e4)])
    assert layout([], (10, 10)).shape == (0, len(LAYOUT))


def test_a_check_reads_the_layout_inputs_it_names(tmp_path):
    from stylist.verify import LAYOUT

    rng = np.random.default_rng(1)
    vecs, scores = rng.normal(size=(2, 3)), np.array([0.5, 0.5])
    places = np.array([[0.2, 2.0, -3.0], [0.9, 0.0, -1.0]])
    check = ItemCheck(np.array([0.0, 2.0, -1.0, 0.0, 0.0, 0.0]), 0.0, "fashion-lite", ("log_area", "inside_better"))
    z = 2.0 * places[:, LAYOUT.index("log_area")] - places[:, LAYOUT.index("inside_better")]
    assert check.probs(vecs, scores, places) == pytest.approx(1 / (1 + np.exp(-z)))
    save_check(tmp_path / "c.json", check.weights, 0.0, 0.5, 0.1, "fashion-lite", {}, check.places)
    assert load_check(tmp_path / "c.json").places == ("log_area", "inside_better")


def test_the_wrapper_refuses_a_part_of_a_better_box_by_its_layout(served):
    from stylist.results import Detection

    class Listed:  # a detector with serving settings: two sure items, and a box inside the first
        conf = 0.25

        def detect(self, img):
            return [Detection(index=0, label="Dresses", score=0.9, box=(40.0, 40.0, 240.0, 300.0)),
                    Detection(index=1, label="Handbags", score=0.8, box=(300.0, 60.0, 460.0, 200.0)),
                    Detection(index=2, label="Handbags", score=0.2, box=(60.0, 60.0, 120.0, 120.0))]

    _, clip, img, _ = served
    parts_out = ItemCheck(np.r_[0.0, -100.0, np.zeros(256)], 50.0, "fashion-lite", ("inside_better",))
    out = CheckedDetector(Listed(), clip, parts_out, 0.5).detect(img)
    assert [d.box for d in out] == [d.box for d in Listed().detect(img)[:2]]
