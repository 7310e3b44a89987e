"""In-the-wild training data: GrabCut boxes from a centred prior, composites on real backgrounds, clutter."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.data.wild import border_background, draw_cosmetic, paste_item, relight
from training.data.wild_boxes import fallback_box, grabcut_box


def _photo(w: int = 200, h: int = 160, garment=(40, 60, 150)) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A textured 'bed' with one flat garment-coloured blob: the truth box is known."""
    rng = np.random.default_rng(0)
    arr = np.clip(rng.normal(200, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    box = (60, 30, 150, 130)
    ImageDraw.Draw(img).ellipse(box, fill=garment)
    return img, box


def test_grabcut_finds_a_centred_garment():
    img, truth = _photo()
    box, method = grabcut_box(img)
    assert method == "grabcut"
    assert all(abs(a - b) <= 6 for a, b in zip(box, truth)), (box, truth)


def test_grabcut_falls_back_to_the_central_box_on_a_featureless_photo():
    img = Image.new("RGB", (120, 90), (128, 128, 128))
    box, method = grabcut_box(img)
    assert method == "fallback" and box == fallback_box((120, 90)) == (6, 4, 114, 86)


def test_border_background_uses_only_pixels_outside_the_garment():
    img, truth = _photo(garment=(0, 255, 0))
    bg = border_background(img, list(truth), (96, 64), np.random.default_rng(1))
    arr = np.asarray(bg, dtype=int)
    assert bg.size == (96, 64)
    assert (arr[..., 1] - arr[..., 0]).max() < 60  # no green garment pixel leaked into the surface


def test_paste_item_returns_the_visible_tight_box_and_drops_mostly_hidden_items():
    board = Image.new("RGB", (100, 80), (255, 255, 255))
    item = Image.new("RGB", (20, 10), (0, 0, 0))
    mask = Image.new("L", (20, 10), 0)
    ImageDraw.Draw(mask).rectangle((2, 1, 17, 8), fill=255)
    rng = np.random.default_rng(0)
    assert paste_item(board, item, mask, (10, 20), rng, shadow=False) == [12, 21, 28, 29]
    assert paste_item(board, item, mask, (93, 20), rng, shadow=False) is None  # 5 of 16 columns in the frame
    assert paste_item(board, item, mask, (-8, 20), rng, shadow=False, min_visible=0.5) == [0, 21, 10, 29]


def test_relight_shifts_colour_but_keeps_the_picture():
    img, _ = _photo()
    out = relight(img, np.random.default_rng(3))
    a, b = np.asarray(img, dtype=float), np.asarray(out, dtype=float)
    assert out.size == img.size and np.abs(a - b).mean() > 1
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_drawn_cosmetics_have_a_mask_inside_their_canvas():
    for seed in range(3):
        img, mask = draw_cosmetic(np.random.default_rng(seed), 60)
        m = np.asarray(mask) > 127
        assert img.size == mask.size and 0.15 < m.mean() < 0.95


@pytest.mark.shared_data
def test_real_photo_boxes_and_wild_renderers(shared_data):
    from training.data.boards import load_board_sources
    from training.data.sources import load_clothing
    from training.data.splits import split_of
    from training.data.wild import RENDERERS, load_wild_sources
    from training.data.wild_boxes import photo_record

    photos = sorted(load_clothing(shared_data), key=lambda p: p.path.name)
    test = [p for p in photos if split_of(p.path.stem) == "test"][:4]
    records = [photo_record(p) for p in test]
    assert all(r["split"] == "test" and r["category"] for r in records)
    src = load_wild_sources(shared_data, records, load_board_sources(shared_data, False, False))
    assert src.distractors["test"] and src.items["test"]
    for kind, render in RENDERERS.items():
        img, rec = render(src, "test", 256, np.random.default_rng(0))
        assert max(img.size) <= 256
        for b in rec["boxes"]:
            x0, y0, x1, y1 = b["box"]
            assert 0 <= x0 < x1 <= img.width and 0 <= y0 < y1 <= img.height


def test_distractor_only_boards_have_no_labels_but_do_have_things_on_them():
    from training.data.wild import WildSources
    from training.data.wild_dataset import parse_counts, render_empty

    src = WildSources(items={"train": []}, distractors={"train": []}, photos={"train": []})
    for k in range(4):
        img, rec = render_empty(src, "train", 128, np.random.default_rng([5, k]))
        assert rec["boxes"] == [] and max(img.size) == 128
        arr = np.asarray(img).reshape(-1, 3)
        assert (np.abs(arr.astype(int) - arr[0]).sum(1) > 30).mean() > 0.01  # not a blank canvas
    assert parse_counts("busy=3,empty=2,board=1") == {"busy": 3, "empty": 2, "board": 1}
    with pytest.raises(ValueError, match="unknown kind"):
        parse_counts("mosaic=2")
