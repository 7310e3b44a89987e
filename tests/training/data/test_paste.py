"""Paste primitives: tight trimming, cut-out masks that keep white inside items, scipy-free fallback."""
from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageDraw

from training.data.paste import border_connected, cut_product, trim_white


def _ring_on(backdrop: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (100, 80), backdrop)
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 10, 79, 69), fill=(30, 30, 120))
    draw.rectangle((35, 25, 64, 54), fill=(255, 255, 255))  # white inside the item (e.g. a bag's handle loop)
    draw.point((2, 77), fill=(0, 0, 0))  # a speck from a neighbouring item
    return img


def test_cut_product_is_tight_and_keeps_enclosed_white():
    for backdrop in ((255, 255, 255), (232, 232, 228)):  # white and the light grey some crops have
        item, mask = cut_product(_ring_on(backdrop))
        assert item.size == (60, 60) and mask.size == (60, 60)
        alpha = np.asarray(mask)
        assert alpha[30, 30] == 255 and alpha[5, 5] == 255  # enclosed white and the item body are opaque


def test_trim_white():
    img = Image.new("RGB", (50, 40), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((10, 5, 29, 34), fill=(0, 0, 0))
    assert trim_white(img).size == (20, 30)
    assert trim_white(Image.new("RGB", (9, 9), (255, 255, 255))).size == (9, 9)


def test_border_fill_without_scipy_matches(monkeypatch):
    rng = np.random.default_rng(0)
    mask = rng.random((40, 50)) < 0.6
    expected = border_connected(mask)
    monkeypatch.setitem(sys.modules, "scipy", None)  # import scipy now raises ImportError
    assert np.array_equal(border_connected(mask), expected)
