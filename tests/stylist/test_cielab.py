"""sRGB -> CIELAB and CIEDE2000 against published reference values."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.cielab import ciede2000, srgb_to_lab


def test_srgb_to_lab_reference_points():
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]]))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.01)
    assert np.allclose(lab[1], [0, 0, 0], atol=0.01)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)


@pytest.mark.parametrize("lab1,lab2,expected", [  # Sharma, Wu & Dalal (2005) test data, pairs 1, 7, 17, 18
    ((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
    ((50, 0, 0), (50, -1, 2), 2.3669),
    ((50, 2.5, 0), (73, 25, -18), 27.1492),
    ((50, 2.5, 0), (61, -5, 29), 22.8977),
])
def test_ciede2000_matches_published_pairs(lab1, lab2, expected):
    assert float(ciede2000(np.array(lab1), np.array(lab2))) == pytest.approx(expected, abs=1e-3)


def test_srgb_to_lab_table_for_8_bit_pixels_equals_the_formula():
    rgb = np.random.default_rng(1).integers(0, 256, size=(500, 3)).astype(np.uint8)
    assert np.array_equal(srgb_to_lab(rgb), srgb_to_lab(rgb.astype(np.float64)))
