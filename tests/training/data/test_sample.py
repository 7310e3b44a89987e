"""The contact sheet renders boards of every style with boxes drawn."""
from __future__ import annotations

import numpy as np
from PIL import Image

from training.data.sample import write_sample


def test_contact_sheet(tiny_root, tmp_path):
    out = write_sample(tiny_root, tmp_path / "sheet.png", n=3, imgsz=200, cols=3, tile=150)
    img = Image.open(out)
    assert img.size == (3 * 158 + 8, 158 + 8)
    assert len(np.unique(np.asarray(img).reshape(-1, 3), axis=0)) > 50  # real content, not a blank sheet
