"""A photo's crops embedded once (stylist.crop_vectors): the item check's vectors read back by the candidates,
never another picture's, box's or CLIP model's."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylist.crop_vectors import PhotoCrops
from stylist.images import item_crop
from tests.helpers.bot_catalog import make_grid_board
from tests.helpers.counting import CountingClip as Counted

BOXES = [(10.0, 10.0, 150.0, 150.0), (160.0, 20.0, 300.0, 200.0), None]  # None: the whole picture


@pytest.fixture(scope="module")
def clip():
    from stylist.config import load_config
    from stylist.models.registry import shared_clip

    return shared_clip(load_config(env={}))


@pytest.fixture(scope="module")
def boards():
    def board(items):
        return Image.open(io.BytesIO(make_grid_board(items).jpeg)).convert("RGB")

    return (board([("Dresses", "red"), ("Handbags", "blue"), ("Shoes", "black"), ("Hats", "green")]),
            board([("Shoes", "yellow"), ("Pants", "black"), ("Shirts & Tops", "red"), ("Handbags", "white")]))


def _direct(clip, img, boxes) -> np.ndarray:
    """What the crops' vectors are, computed without the memo (each crop alone)."""
    return np.concatenate([clip.embed_images([item_crop(img, b)]) for b in boxes])


def test_the_vectors_are_the_crops_own_and_embedded_once_per_photo(clip, boards):
    a, b = boards
    counted = Counted(clip)
    first_a = PhotoCrops(a, BOXES).clip_vectors(counted)
    first_b = PhotoCrops(b, BOXES).clip_vectors(counted)  # the same boxes on another picture
    assert counted.embedded == 6
    again_a = PhotoCrops(a, BOXES).clip_vectors(counted)  # interleaved: a, b, then a again
    again_b = PhotoCrops(b, BOXES[:2]).clip_vectors(counted)
    assert counted.embedded == 6  # all read back
    np.testing.assert_allclose(first_a, _direct(clip, a, BOXES), atol=1e-5)
    np.testing.assert_allclose(first_b, _direct(clip, b, BOXES), atol=1e-5)
    assert np.array_equal(again_a, first_a) and np.array_equal(again_b, first_b[:2])
    assert np.abs(again_a[:2] - first_b[:2]).max() > 0.05  # a wrong picture's vector would be caught


def test_another_box_or_clip_model_is_embedded_afresh(clip, boards):
    a, _ = boards
    counted, other = Counted(clip), Counted(clip)
    PhotoCrops(a, BOXES[:1]).clip_vectors(counted)
    moved = [(12.0, 10.0, 150.0, 150.0)]
    np.testing.assert_allclose(PhotoCrops(a, moved).clip_vectors(counted), _direct(clip, a, moved), atol=1e-5)
    assert counted.embedded == 2
    PhotoCrops(a, BOXES[:1]).clip_vectors(other)
    assert other.embedded == 1  # each model's vectors are its own


def test_a_batch_with_other_views_reads_the_known_crops_and_embeds_the_rest_in_order(clip, boards):
    _, b = boards
    counted = Counted(clip)
    crops = PhotoCrops(b, BOXES[:2])
    known = crops.clip_vectors(counted)
    view = crops.crops[1].transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # e.g. a crop painted on white
    out = crops.clip_embedder(counted)([crops.crops[1], view, crops.crops[0]])
    assert counted.embedded == 3  # only the new view
    np.testing.assert_allclose(out, np.stack([known[1], clip.embed_images([view])[0], known[0]]), atol=1e-5)
    assert crops.clip_embedder(counted)([]).shape[0] == 0


def test_the_candidates_read_the_item_checks_vectors(clip, boards):
    from stylist.config import load_config
    from stylist.models import load_detector
    from stylist.verify import CheckedDetector, ItemCheck

    a, _ = boards
    counted = Counted(clip)
    everything = ItemCheck(np.zeros(257), 50.0, "fashion-lite")
    kept = CheckedDetector(load_detector(load_config(env={})), counted, everything, 0.5).detect(a)
    assert len(kept) >= 2 and counted.embedded >= len(kept)  # the check embedded every proposed box
    before = counted.embedded
    vectors = PhotoCrops(a, [d.box for d in kept]).clip_vectors(counted)  # what CandidateFinder.gather asks
    assert counted.embedded == before
    np.testing.assert_allclose(vectors, _direct(clip, a, [d.box for d in kept]), atol=1e-5)
