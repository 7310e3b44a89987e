"""Garment colour from pixels: palette names, masks (the Lab maths: test_cielab)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from stylist.colors import color_family, dominant_color
from stylist.cielab import srgb_to_lab
from stylist.garment_color import garment_color, garment_mask, name_lab


@pytest.mark.parametrize("rgb,name", [  # common web values of the colour words shoppers use
    ((0, 0, 128), "navy"), ((128, 0, 32), "burgundy"), ((128, 128, 0), "olive"), ((195, 176, 145), "khaki"),
    ((255, 253, 208), "cream"), ((10, 10, 10), "black"), ((255, 0, 0), "red"), ((0, 128, 0), "green"),
])
def test_palette_names_shoppers_colours(rgb, name):
    assert name_lab(srgb_to_lab(np.array([rgb])))[0] == name


@pytest.mark.parametrize("rgb,family", [((0, 0, 128), "blue"), ((128, 0, 32), "red"), ((245, 245, 220), "beige"),
                                        ((255, 192, 203), "pink"), ((128, 0, 128), "purple"), ((255, 165, 0), "orange")])
def test_palette_families(rgb, family):
    assert color_family(name_lab(srgb_to_lab(np.array([rgb])))[0]) == family


def _shirt(fill, outline=(150, 150, 150), bg=(255, 255, 255)) -> Image.Image:
    img = Image.new("RGB", (80, 100), bg)
    ImageDraw.Draw(img).polygon([(20, 15), (60, 15), (75, 35), (62, 42), (62, 90), (18, 90), (18, 42), (5, 35)],
                                fill=fill, outline=outline)
    return img


def test_a_white_shirt_on_white_keeps_its_inside():
    img = _shirt((246, 246, 246))
    mask = garment_mask(np.asarray(img))
    assert mask[50, 40] and not mask[3, 3]
    assert color_family(dominant_color(img)) == "white"


def test_navy_shirt_is_blue_and_backdrop_ignored():
    assert color_family(dominant_color(_shirt((25, 35, 90), bg=(200, 200, 60)))) == "blue"


def test_worn_top_is_read_above_the_waist():
    img = Image.new("RGB", (60, 120), (255, 255, 255))
    d = ImageDraw.Draw(img)
    skin = (224, 172, 140)
    d.ellipse((22, 2, 38, 20), fill=skin)  # head
    d.rectangle((14, 22, 46, 60), fill=(200, 30, 40))  # red top
    d.rectangle((8, 22, 13, 55), fill=skin)
    d.rectangle((47, 22, 52, 55), fill=skin)  # arms
    d.rectangle((16, 61, 44, 115), fill=(20, 20, 22))  # black trousers, as large as the top
    assert color_family(dominant_color(img, category="Shirts & Tops")) == "red"
    assert color_family(dominant_color(img, category="Pants")) == "black"


def _tight_crop(fill, bg) -> np.ndarray:
    """A red shirt cropped tightly: its sleeves and hem touch three edges, so under 70 % of the border is
    backdrop (as in a crop cut from a style board)."""
    img = Image.new("RGB", (80, 96), bg)
    ImageDraw.Draw(img).polygon([(22, 10), (58, 10), (79, 22), (79, 64), (64, 56), (64, 95), (16, 95), (16, 56),
                                 (0, 64), (0, 22)], fill=fill)
    return np.asarray(img)


def test_a_garment_touching_the_edges_on_white_is_cut_out_without_grabcut(monkeypatch):
    import stylist.garment_color as gc

    rgb = _tight_crop((200, 25, 35), (255, 255, 255))
    lab = srgb_to_lab(rgb.reshape(-1, 3)).reshape(rgb.shape)
    border = gc._border(lab)
    plain = np.mean(np.linalg.norm(border - np.median(border, axis=0), axis=1) < gc.BACKDROP_DE)
    assert gc.TOUCHED_BORDER <= plain <= gc.PLAIN_BORDER  # the case the cheap mask is for

    def no_grabcut(_):
        raise AssertionError("GrabCut ran on a plain backdrop")

    monkeypatch.setattr(gc, "_grabcut", no_grabcut)
    mask = garment_mask(rgb)
    drawn = np.all(rgb == (200, 25, 35), axis=2)
    inner = drawn & ~np.asarray(Image.fromarray(~drawn).filter(ImageFilter.MaxFilter(5)))  # the shirt minus its rim
    assert mask[inner].mean() > 0.98 and mask[~drawn].mean() < 0.02
    assert color_family(garment_color(Image.fromarray(rgb)).name) == "red"


def test_a_garment_touching_the_edges_on_a_grey_floor_still_gets_grabcut(monkeypatch):
    import stylist.garment_color as gc

    calls = []
    real = gc._grabcut
    monkeypatch.setattr(gc, "_grabcut", lambda x: calls.append(1) or real(x))
    rgb = _tight_crop((200, 25, 35), (128, 128, 128))  # a grey band across a photo may be the product itself
    assert color_family(garment_color(Image.fromarray(rgb)).name) == "red" and calls == [1]
    shirt = np.asarray(_shirt((200, 25, 35), outline=(200, 25, 35), bg=(128, 128, 128)))  # clear of the edges
    garment_mask(shirt)
    assert calls == [1]  # a plain floor all round: the silhouette, no GrabCut


def test_a_doubtful_cut_out_falls_back_to_grabcut(monkeypatch):
    import stylist.garment_color as gc

    calls = []
    rgb = np.full((96, 80, 3), (200, 25, 35), np.uint8)
    rgb[0], rgb[:, 0] = 255, 255  # half the border is white backdrop, but the "garment" is the whole photo
    monkeypatch.setattr(gc, "_grabcut", lambda x: calls.append(1) or np.ones(x.shape[:2], bool))
    garment_mask(rgb)
    assert calls == [1]


def test_busy_background_photo_uses_grabcut():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, size=(90, 90, 3), dtype=np.uint8)
    arr[25:70, 25:65] = (40, 150, 60)  # a green garment in the middle of a noisy photo
    got = garment_color(Image.fromarray(arr))
    assert color_family(got.name) == "green" and got.share > 0.4

