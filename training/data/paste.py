"""Image primitives for composing boards: trim white margins, soft cut-out masks, backgrounds, brand text."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

WHITE_THRESHOLD = 238  # a pixel whose darkest channel is above this counts as catalogue-white
BRANDS = (
    "MAISON LUNE", "shop the look", "Atelier Nord", "@stylebyanna", "weekend edit", "NOVA & CO",
    "the capsule", "OUTFIT OF THE DAY", "Rive Gauche", "fall essentials", "LINEN STUDIO", "city chic",
    "Bloom Boutique", "minimal wardrobe", "STREET / 24", "summer picks",
)


def _background_like(arr: np.ndarray, tolerance: int = 18) -> np.ndarray:
    """Pixels close to the crop's light backdrop (white, or the light grey some crops have), as a bool mask.

    The backdrop colour is the median of the border pixels; a dark border means the crop has no light
    backdrop, and then only near-white pixels count.
    """
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).astype(np.int16)
    backdrop = np.median(border, axis=0)
    if backdrop.min() < 200:
        return arr.min(axis=2) >= WHITE_THRESHOLD
    return np.abs(arr.astype(np.int16) - backdrop).max(axis=2) <= tolerance


def trim_white(img: Image.Image, threshold: int = WHITE_THRESHOLD) -> Image.Image:
    """Cut the white (or light backdrop) margin around a product so its box is tight."""
    img = img.convert("RGB")
    arr = np.asarray(img)
    ink = ~_background_like(arr) if threshold == WHITE_THRESHOLD else arr.min(axis=2) < threshold
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return img
    return img.crop((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))


def border_connected(mask: np.ndarray) -> np.ndarray:
    """The part of ``mask`` connected to the image border (scipy when present, else numpy dilation)."""
    try:
        from scipy import ndimage
    except ImportError:  # e.g. a bare GPU image: slower, same result
        reach = np.zeros_like(mask)
        reach[0, :], reach[-1, :], reach[:, 0], reach[:, -1] = mask[0, :], mask[-1, :], mask[:, 0], mask[:, -1]
        while True:
            grown = reach.copy()
            grown[1:, :] |= reach[:-1, :]
            grown[:-1, :] |= reach[1:, :]
            grown[:, 1:] |= reach[:, :-1]
            grown[:, :-1] |= reach[:, 1:]
            grown &= mask
            if np.array_equal(grown, reach):
                return reach
            reach = grown
    labels, _ = ndimage.label(mask)
    edge = np.unique(np.concatenate([labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]]))
    edge = edge[edge > 0]
    return np.isin(labels, edge)


def cutout_mask(img: Image.Image, threshold: int = WHITE_THRESHOLD) -> Image.Image:
    """Soft alpha mask: backdrop-coloured pixels flood-filled from the border are background (white inside stays)."""
    arr = np.asarray(img.convert("RGB"))
    near = _background_like(arr) if threshold == WHITE_THRESHOLD else arr.min(axis=2) >= threshold
    background = border_connected(near)
    alpha = Image.fromarray(np.where(background, 0, 255).astype(np.uint8), "L")
    return alpha.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.8))


def _drop_specks(foreground: np.ndarray, min_share: float = 0.03) -> np.ndarray:
    """Remove specks (JPEG noise, slivers of a neighbouring item) smaller than ``min_share`` of the largest part."""
    try:
        from scipy import ndimage
    except ImportError:
        return foreground
    labels, n = ndimage.label(foreground)
    if n <= 1:
        return foreground
    areas = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(areas >= min_share * areas.max()) + 1
    return np.isin(labels, keep)


def cut_product(img: Image.Image) -> tuple[Image.Image, Image.Image]:
    """A product crop trimmed to its extent and its soft cut-out mask, both judged against the original backdrop.

    Background = backdrop-coloured pixels connected to the border (white inside the item stays); specks are
    dropped so the box is tight around the product itself.
    """
    img = img.convert("RGB")
    foreground = _drop_specks(~border_connected(_background_like(np.asarray(img))))
    rows, cols = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return img, Image.new("L", img.size, 255)
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    alpha = Image.fromarray(np.where(foreground, 255, 0).astype(np.uint8), "L")
    alpha = alpha.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.8))
    return img.crop(box), alpha.crop(box)


def plain_background(size: tuple[int, int], rng: np.random.Generator) -> tuple[Image.Image, str]:
    """White (60 %, like most real boards), off-white (25 %) or light paper-like texture (15 %), and its kind."""
    w, h = size
    u = rng.random()
    if u < 0.6:
        return Image.new("RGB", size, (255, 255, 255)), "white"
    base = np.array([rng.integers(238, 256), rng.integers(236, 256), rng.integers(232, 256)], dtype=np.float32)
    if u < 0.85:
        return Image.new("RGB", size, tuple(int(c) for c in base)), "off-white"
    small = rng.normal(0.0, rng.uniform(3, 8), size=(max(2, h // 8), max(2, w // 8), 1)).astype(np.float32)
    noise = np.asarray(Image.fromarray(small[..., 0]).resize(size, Image.BICUBIC), dtype=np.float32)[..., None]
    grain = rng.normal(0.0, 2.0, size=(h, w, 1)).astype(np.float32)
    ramp = np.linspace(0, rng.uniform(-8, 8), h, dtype=np.float32)[:, None, None]
    arr = np.clip(base[None, None, :] - 6 + noise + grain + ramp, 200, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB"), "texture"


def photo_background(photo: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """Cover-resize a zoomed-in part of a real photo to ``size``, mirror, blur and darken it.

The photos show whole garments that carry no box; zooming in (1.4–2.4×) and blurring turns them into
photographic clutter instead of teaching the detector to ignore real, unlabelled clothes.
"""
    w, h = size
    scale = max(w / photo.width, h / photo.height) * rng.uniform(1.4, 2.4)
    img = photo.convert("RGB").resize((max(w, round(photo.width * scale)), max(h, round(photo.height * scale))),
                                      Image.BILINEAR)
    x0, y0 = int(rng.integers(0, img.width - w + 1)), int(rng.integers(0, img.height - h + 1))
    img = img.crop((x0, y0, x0 + w, y0 + h))
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    radius = rng.uniform(1.0, 4.0)
    if radius > 0.5:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    factor = rng.uniform(0.7, 1.0)
    return Image.eval(img, lambda v: int(v * factor))


def draw_brand(img: Image.Image, rng: np.random.Generator) -> None:
    """A short brand / caption line at the top or bottom edge, as many real boards carry."""
    text = BRANDS[int(rng.integers(len(BRANDS)))]
    size = int(max(10, min(img.size) * rng.uniform(0.025, 0.05)))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizing
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    tw, th = x1 - x0, y1 - y0
    x = int(rng.choice([img.width * 0.03, (img.width - tw) / 2, img.width * 0.97 - tw]))
    y = int(img.height * 0.015) if rng.random() < 0.5 else int(img.height - th - img.height * 0.02 - y0)
    shade = int(rng.integers(20, 140))
    draw.text((x, y), text, fill=(shade, shade, shade), font=font)
