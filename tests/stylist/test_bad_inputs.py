"""Every image row of docs/bad-inputs.md, decoded by stylist.images: a clean RGB image or a clear reason."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from stylist.errors import BadImageError
from stylist.images import load_image

from tests.helpers.bad_samples import PDF, SVG, png_header_only


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _half_red() -> Image.Image:
    arr = np.full((60, 80, 3), 255, np.uint8)
    arr[:, :40] = (200, 30, 30)
    return Image.fromarray(arr)


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (48, 48), c) for c in ((220, 20, 20), (20, 20, 220))]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


REFUSED = {
    "corrupt JPEG": (lambda: b"\xff\xd8\xff\xe0" + b"\x13" * 400, "corrupt or truncated"),
    "truncated JPEG": (lambda: _encode(_half_red(), "JPEG")[:300], "corrupt or truncated"),
    "truncated PNG": (lambda: _encode(_half_red(), "PNG")[:-40], "corrupt or truncated"),
    "SVG": (lambda: SVG, "not an image we can read"),
    "PDF named .jpg": (lambda: PDF, "not an image we can read"),
    "1×1 px": (lambda: _encode(Image.new("RGB", (1, 1)), "PNG"), "too small"),
    "20000×20000 px": (lambda: png_header_only(20_000, 20_000), "too large"),
    "empty file": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_inputs_give_a_reason(case):
    make, reason = REFUSED[case]
    with pytest.raises(BadImageError, match=reason):
        load_image(make())


def test_pdf_named_jpg_on_disk_is_refused_by_content_not_name(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(PDF)
    with pytest.raises(BadImageError, match="photo.jpg is not an image"):
        load_image(path)


def _left_right(img: Image.Image) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return img.getpixel((5, img.height // 2)), img.getpixel((img.width - 5, img.height // 2))


ACCEPTED = {
    "HEIC": lambda: _encode(_half_red(), "HEIF"),
    "CMYK JPEG": lambda: _encode(_half_red().convert("CMYK"), "JPEG"),
    "16-bit PNG": lambda: _encode(Image.fromarray((np.asarray(_half_red().convert("L"), np.uint16) * 257)), "PNG"),
    "progressive JPEG": lambda: _encode(_half_red(), "JPEG", progressive=True),
    "WebP": lambda: _encode(_half_red(), "WEBP", quality=90),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_formats_decode_to_the_same_picture(case):
    img = load_image(ACCEPTED[case]())
    assert img.mode == "RGB" and img.size == (80, 60)
    left, right = _left_right(img)
    if case == "16-bit PNG":  # grayscale: the red half is darker than the white half
        assert left[0] < 120 and right[0] > 240
    else:
        assert left[0] > 150 and left[2] < 90 and min(right) > 220, (left, right)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_give_their_first_frame(fmt):
    img = load_image(_animated(fmt))
    r, g, b = img.getpixel((10, 10))
    assert img.size == (48, 48) and r > 180 and b < 60


def test_heic_registered_even_after_ultralytics_patches_image_open():
    import ultralytics  # noqa: F401 - its Image.open patch must not hide the HEIC opener

    assert load_image(ACCEPTED["HEIC"]()).size == (80, 60)
