"""Reading untrusted images safely: one function turns bytes or a path into an upright RGB PIL image.

Everything that accepts a user's image (CLI, bot, index builder) goes through ``load_image`` so that
corrupt, truncated, empty, non-image, huge (decompression bomb), tiny, CMYK / 16-bit / palette / RGBA,
animated, HEIC and EXIF-rotated inputs all behave the same way: a clear ``BadImageError`` or a clean image
(docs/bad-inputs.md lists each case and what a shopper sees).
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from stylist.errors import BadImageError

try:  # iPhones send HEIC; pillow-heif teaches PIL to read it (a plain "not an image" where it is missing)
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - it is a declared dependency
    pass

MIN_SIDE = 16  # smaller images carry nothing to search for
DEFAULT_MAX_PIXELS = 40_000_000
CROP_PAD = 0.04  # a little context around a detected box, as the catalog crops have


def _pil_open(fp: io.BytesIO) -> Image.Image:
    """PIL's own ``Image.open``, even after ultralytics is imported.

    ultralytics replaces ``Image.open`` with a wrapper that, on bytes PIL cannot identify, tries to
    pip-install ``pi-heif`` at run time (an ImportError offline, a surprise install online). Untrusted
    uploads must get a plain "not an image" instead, so we call the function it wrapped.
    """
    patches = sys.modules.get("ultralytics.utils.patches")
    if patches is not None and Image.open is getattr(patches, "image_open", None):
        return patches._image_open(fp)
    return Image.open(fp)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten any mode to RGB; transparency becomes white like a catalogue background."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits instead of clipping everything to white
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() or 1.0
        return Image.fromarray((arr / hi * 255).astype("uint8")).convert("RGB")
    return img.convert("RGB")


def load_image(source: bytes | str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None
               ) -> Image.Image:
    """Decode ``source`` into an upright RGB image, or raise ``BadImageError`` with a readable reason.

    ``min_side``: the caller needs no more than this many pixels on the short side, so a JPEG may be decoded
    at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, several times faster) as long as both sides stay at
    least ``min_side`` (never smaller than asked). Other formats decode at full size."""
    name = "the image"
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise BadImageError(f"{path} does not exist") from exc
        except OSError as exc:
            raise BadImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    else:
        data = bytes(source)
    if not data:
        raise BadImageError(f"{name} is empty (0 bytes)")
    try:
        # Image.open reads only the header, so the pixel limit is checked before any decoding.
        # (No global MAX_IMAGE_PIXELS mutation: this runs in many threads at once.)
        img = _pil_open(io.BytesIO(data))
        if img.width * img.height > max_pixels:
            raise BadImageError(
                f"{name} is too large ({img.width}×{img.height} pixels; the limit is {max_pixels:,} pixels)"
            )
        img.seek(0)  # animated GIF / WebP / APNG: the first frame
        if min_side and img.format == "JPEG" and min(img.size) > 2 * min_side:
            scale = min(img.size) / min_side
            img.draft("RGB", (max(1, int(img.width / scale)), max(1, int(img.height / scale))))
        img.load()
        img = ImageOps.exif_transpose(img) or img  # boxes must match the upright picture
        img = _to_rgb(img)
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImageError(f"{name} is too large to open safely (limit {max_pixels:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise BadImageError(f"{name} is not an image we can read (JPEG, PNG, WebP, HEIC, GIF, BMP, TIFF)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImageError(f"{name} is corrupt or truncated ({exc})") from exc
    if min(img.size) < MIN_SIDE:
        raise BadImageError(f"{name} is too small ({img.width}×{img.height}); send at least {MIN_SIDE}×{MIN_SIDE} pixels")
    return img


def crop_box(img: Image.Image, box: tuple[float, float, float, float], pad: float = 0.0) -> Image.Image:
    """Cut ``box`` (x0, y0, x1, y1 in pixels) out of ``img``, optionally padded by a fraction of its size."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    x0, y0 = max(0, int(round(x0 - pad * w))), max(0, int(round(y0 - pad * h)))
    x1, y1 = min(img.width, int(round(x1 + pad * w))), min(img.height, int(round(y1 + pad * h)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return img.copy()
    return img.crop((x0, y0, x1, y1))
