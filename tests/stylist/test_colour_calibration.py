"""The colour calibration: the fit, the reading an index stores, and the bundled weights on real products."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.clip_colours import CLIP_FAMILIES, read_colour
from stylist.colour_calibration import CALIBRATION_PATH, ColourCalibration, fit
from stylist.metrics import softmax
from stylist.garment_color import GarmentColor
from stylist.schema import CLASSES


def test_fit_separates_a_separable_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = np.hstack([np.eye(3)[y] + 0.1 * rng.normal(size=(300, 3)), np.ones((300, 1))])
    w = fit(x, y, 3, l2=1e-4, steps=500)
    assert (softmax(x @ w).argmax(axis=1) == y).mean() == 1.0


def test_the_bundled_weights_are_for_the_bundled_clip_only(tmp_path):
    assert ColourCalibration.load("fashion-lite") is not None
    assert ColourCalibration.load("some-other-clip") is None
    assert ColourCalibration.load("fashion-lite", tmp_path / "missing.json") is None


def _calibration_trusting(family_feature: int) -> ColourCalibration:
    """Weights that follow one feature block: 0 = CLIP's log-probabilities, 1 = the pixels' shares."""
    k = len(CLIP_FAMILIES)
    w = np.zeros((2 * k + 3 + len(CLASSES) + 1, k))
    w[family_feature * k:(family_feature + 1) * k] = 50.0 * np.eye(k)
    return ColourCalibration("test", CLIP_FAMILIES, w, {})


def test_read_colour_keeps_the_pixels_name_within_the_chosen_family():
    pixels = GarmentColor("navy", (20.0, 10.0, -40.0), 0.8, {"blue": 0.8, "black": 0.2})
    clip = np.full(len(CLIP_FAMILIES), 0.01)
    clip[CLIP_FAMILIES.index("black")] = 0.89
    assert read_colour(pixels, clip, "Shirts & Tops", _calibration_trusting(1))[0] == "navy"
    name, conf = read_colour(pixels, clip, "Shirts & Tops", _calibration_trusting(0))
    assert name == "black" and conf > 0.9
    assert read_colour(pixels, clip, None, None)[0] == "black"  # uncalibrated: CLIP is sure (0.89 > 0.8 share)


def test_bundled_calibration_agrees_with_fpi_more_than_pixels_or_clip(shared_data):
    """200 FPI validation products (not fitted on), judged by FPI's own colour names."""
    from PIL import Image

    from stylist.clip_colours import ClipColours
    from stylist.colors import color_family
    from stylist.config import load_config
    from stylist.garment_color import garment_color
    from stylist.models import shared_clip
    from stylist.query import category_of
    from training.train_colour_calibration import split_items

    from training.data.sources import resolve_data_root

    try:
        items = split_items(resolve_data_root(shared_data), "val", 200, seed=1)
    except (FileNotFoundError, OSError):
        pytest.skip("no FPI data")
    clip = shared_clip(load_config())
    colours = ClipColours(clip)
    assert colours.calibration is not None and CALIBRATION_PATH.is_file()
    probs = colours.probs(clip.embed_images([Image.open(it.image).convert("RGB") for it in items]))
    truth = [color_family(it.color) for it in items]
    pix, cal = [], []
    for it, p in zip(items, probs):
        with Image.open(it.image) as img:
            g = garment_color(img, category_of(it.category))
        pix.append(color_family(g.name))
        cal.append(color_family(colours.read(g, p, category_of(it.category))[0]))
    agree = lambda got: float(np.mean([a == b for a, b in zip(got, truth)]))  # noqa: E731
    clip_alone = agree([CLIP_FAMILIES[i] for i in probs.argmax(axis=1)])
    assert agree(cal) > max(agree(pix), clip_alone) and agree(cal) >= 0.65, (agree(pix), clip_alone, agree(cal))
