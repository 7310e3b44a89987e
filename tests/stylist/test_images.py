"""Untrusted image decoding: every bad input gives a BadImageError with a reason, odd modes come out RGB."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylist.errors import BadImageError
from stylist.images import crop_box, load_image


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture()
def jpeg() -> bytes:
    arr = np.zeros((60, 80, 3), np.uint8)
    arr[:, :40] = (200, 30, 30)
    return _encode(Image.fromarray(arr), "JPEG")


def test_reads_bytes_and_paths(jpeg, tmp_path):
    assert load_image(jpeg).size == (80, 60)
    p = tmp_path / "a.jpg"
    p.write_bytes(jpeg)
    assert load_image(p).mode == "RGB"


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image at all", "not an image"),
    (b"\x00" * 1000, "not an image"),
])
def test_rejects_non_images(data, reason):
    with pytest.raises(BadImageError, match=reason):
        load_image(data)


def test_rejects_truncated(jpeg):
    with pytest.raises(BadImageError, match="corrupt or truncated"):
        load_image(jpeg[: len(jpeg) // 2])


def test_rejects_missing_file(tmp_path):
    with pytest.raises(BadImageError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _encode(Image.new("1", (20_000, 20_000)), "PNG")  # 400 Mpx, a few KB on disk
    assert len(bomb) < 200_000
    with pytest.raises(BadImageError, match="too large"):
        load_image(bomb, max_pixels=40_000_000)


def test_tiny_image_is_refused():
    with pytest.raises(BadImageError, match="too small"):
        load_image(_encode(Image.new("RGB", (10, 10)), "PNG"))


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16", "LA"])
def test_modes_become_rgb(mode):
    img = Image.new(mode, (40, 30))
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    out = load_image(_encode(img, fmt))
    assert out.mode == "RGB" and out.size == (40, 30)


def test_transparent_background_becomes_white():
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    out = load_image(_encode(img, "PNG"))
    assert out.getpixel((5, 5)) == (255, 255, 255)


def test_sixteen_bit_keeps_contrast():
    arr = (np.linspace(0, 65535, 64 * 32).reshape(32, 64)).astype(np.uint16)
    out = np.asarray(load_image(_encode(Image.fromarray(arr), "PNG")))
    assert out.min() < 10 and out.max() > 245


def test_animated_gif_takes_first_frame():
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = load_image(buf.getvalue())
    r, g, b = out.getpixel((10, 10))
    assert r > 200 and b < 50


def test_exif_rotation_is_applied():
    img = Image.new("RGB", (80, 40), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways: display rotated 90°
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert out.size == (40, 80)


def test_crop_box_clips_and_pads():
    img = Image.new("RGB", (100, 50))
    assert crop_box(img, (10, 10, 30, 40)).size == (20, 30)
    assert crop_box(img, (-20, -5, 200, 80)).size == (100, 50)
    assert crop_box(img, (10, 10, 30, 30), pad=0.5).size == (40, 40)


def test_non_image_stays_a_clear_error_after_ultralytics_is_imported():
    import ultralytics.utils.patches  # noqa: F401  (patches Image.open to pip-install pi-heif)

    with pytest.raises(BadImageError, match="not an image"):
        load_image(b"%PDF-1.4 not an image at all")


def test_min_side_decodes_big_jpegs_smaller_but_never_below_it():
    import io as _io

    from PIL import Image as _Image

    from stylist.images import load_image as _load

    buf = _io.BytesIO()
    _Image.new("RGB", (2400, 1300), (200, 30, 30)).save(buf, "JPEG")
    full = _load(buf.getvalue())
    small = _load(buf.getvalue(), min_side=256)
    assert full.size == (2400, 1300)
    assert min(small.size) >= 256 and small.width < 1200  # 1/4 scale: 600×325
    assert abs(small.width / small.height - 2400 / 1300) < 0.02  # same picture, same shape
    assert small.getpixel((10, 10))[0] > 180  # and the same colour
    png = _io.BytesIO()
    _Image.new("RGB", (2400, 1300)).save(png, "PNG")
    assert _load(png.getvalue(), min_side=256).size == (2400, 1300)  # only JPEG has reduced-scale decoding
