"""Colour vocabulary shared by the text parser and the index: names, synonyms, families, and pixel colour.

One vocabulary everywhere, so that "crimson" in a query, "Maroon" in a catalog row and the red pixels of
a product crop all land in the same family ("red") and a colour filter can actually match (a catalog that
labels navy "black" would otherwise never match "navy").
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# Canonical colour names -> family. Families are what filters compare; names are what we display.
COLORS: dict[str, str] = {
    "black": "black", "white": "white", "grey": "grey", "silver": "grey", "charcoal": "grey",
    "red": "red", "maroon": "red", "burgundy": "red",
    "pink": "pink", "magenta": "pink", "peach": "orange",
    "orange": "orange", "rust": "orange", "copper": "orange",
    "yellow": "yellow", "mustard": "yellow", "gold": "yellow",
    "green": "green", "olive": "green", "teal": "blue",
    "blue": "blue", "navy": "blue", "turquoise": "blue",
    "purple": "purple", "lavender": "purple", "mauve": "purple",
    "brown": "brown", "tan": "brown", "bronze": "brown",
    "beige": "beige", "cream": "beige", "khaki": "beige",
    "multi": "multi",
}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(COLORS.values()))

# Words people (and catalogs such as Fashion Product Images) use -> canonical name.
SYNONYMS: dict[str, str] = {
    "gray": "grey", "grey melange": "grey", "steel": "silver", "metallic": "silver", "slate": "grey",
    "ash": "grey", "jet black": "black", "onyx": "black", "ebony": "black",
    "off white": "white", "off-white": "white", "ivory": "white", "snow": "white", "pearl": "white",
    "crimson": "red", "scarlet": "red", "cherry": "red", "ruby": "red", "wine": "burgundy",
    "oxblood": "burgundy", "brick": "red", "claret": "burgundy",
    "rose": "pink", "blush": "pink", "fuchsia": "magenta", "hot pink": "pink", "salmon": "pink",
    "coral": "orange", "tangerine": "orange", "apricot": "peach", "terracotta": "rust",
    "lemon": "yellow", "canary": "yellow", "golden": "gold", "ochre": "mustard",
    "lime": "green", "lime green": "green", "mint": "green", "emerald": "green", "sage": "green",
    "forest green": "green", "sea green": "green", "fluorescent green": "green", "army green": "olive",
    "navy blue": "navy", "midnight blue": "navy", "dark blue": "navy", "cobalt": "blue", "royal blue": "blue",
    "sky blue": "blue", "light blue": "blue", "baby blue": "blue", "denim": "blue", "azure": "blue",
    "indigo": "navy", "turquoise blue": "turquoise", "aqua": "turquoise", "cyan": "turquoise",
    "violet": "purple", "lilac": "lavender", "plum": "purple", "amethyst": "purple",
    "chocolate": "brown", "coffee": "brown", "coffee brown": "brown", "mushroom brown": "brown",
    "camel": "tan", "cognac": "tan", "taupe": "brown", "mocha": "brown", "chestnut": "brown",
    "nude": "beige", "skin": "beige", "sand": "beige", "stone": "beige", "ecru": "cream",
    "multicolor": "multi", "multicolour": "multi", "multi-color": "multi", "multi-colour": "multi",
    "multicoloured": "multi", "multicolored": "multi",
}
# Families that get confused by cameras and catalogs alike: a partial match rather than a miss.
NEAR_FAMILIES: dict[str, tuple[str, ...]] = {
    "blue": ("black", "purple"), "black": ("grey", "blue"), "grey": ("black", "white"), "white": ("beige", "grey"),
    "beige": ("white", "brown"), "brown": ("beige", "orange"), "red": ("pink", "orange"), "pink": ("red", "purple"),
    "orange": ("red", "yellow", "brown"), "yellow": ("orange",), "green": ("blue",), "purple": ("blue", "pink"),
}


def canonical_color(word: str) -> str | None:
    """'Navy Blue' -> 'navy', 'crimson' -> 'red', 'Grey Melange' -> 'grey'; None when not a colour."""
    key = " ".join(word.lower().replace("_", " ").split())
    if key in COLORS:
        return key
    return SYNONYMS.get(key)


def color_family(name: str) -> str | None:
    """The family a colour (any vocabulary word) belongs to: 'navy' -> 'blue'."""
    canon = canonical_color(name) if name else None
    return COLORS.get(canon) if canon else None


def family_members(family: str) -> list[str]:
    """All canonical names of a family (what a Chroma ``$in`` filter on ``color`` needs)."""
    return [name for name, fam in COLORS.items() if fam == family]


def color_match(product_color: str, wanted: list[str]) -> float:
    """1.0 when the product's family is a wanted family, 0.5 for a commonly confused one, else 0."""
    fam = color_family(product_color)
    if fam is None or not wanted:
        return 0.0
    wanted_fams = {color_family(w) for w in wanted} - {None}
    if fam in wanted_fams:
        return 1.0
    return 0.5 if any(fam in NEAR_FAMILIES.get(w, ()) for w in wanted_fams) else 0.0


# --- colour from pixels -----------------------------------------------------------------------------

def _pixel_names(rgb: np.ndarray) -> np.ndarray:
    """Name every pixel (N×3 uint8) with a canonical colour by hue/saturation/value rules."""
    x = rgb.astype(np.float32) / 255.0
    mx, mn = x.max(axis=1), x.min(axis=1)
    v, c = mx, mx - mn
    s = np.where(mx > 0, c / np.maximum(mx, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe = np.maximum(c, 1e-6)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60.0

    names = np.full(len(x), "grey", dtype=object)
    chroma = ((s >= 0.2) & (c >= 0.1)) | ((s >= 0.4) & (c >= 0.07) & (v >= 0.15))
    names[~chroma & (v >= 0.8)] = "white"
    names[~chroma & (v < 0.8) & (v >= 0.3)] = "grey"
    names[v < 0.3] = "black"
    hue_rules = [
        ((h >= 345) | (h < 12), "red"), ((h >= 12) & (h < 40), "orange"), ((h >= 40) & (h < 68), "yellow"),
        ((h >= 68) & (h < 165), "green"), ((h >= 165) & (h < 255), "blue"), ((h >= 255) & (h < 290), "purple"),
        ((h >= 290) & (h < 345), "pink"),
    ]
    for mask, name in hue_rules:
        names[chroma & (v >= 0.15) & mask] = name
    warm = chroma & (v >= 0.2) & ((h < 50) | (h >= 345))
    names[warm & (v < 0.55) & (h >= 8)] = "brown"  # dark orange/yellow is brown
    names[warm & (h >= 18) & (h < 50) & (s < 0.5) & (v >= 0.55)] = "beige"
    names[chroma & (v >= 0.2) & ((h >= 345) | (h < 12)) & (s < 0.55) & (v >= 0.7)] = "pink"  # light red
    names[chroma & (v >= 0.15) & (v < 0.5) & (h >= 200) & (h < 255)] = "navy"
    names[chroma & (v >= 0.2) & (v < 0.45) & ((h >= 345) | (h < 8))] = "maroon"
    # weak-chroma light warm tones read as beige/cream, not grey
    names[~chroma & (v >= 0.55) & (v < 0.9) & (s >= 0.12) & (h >= 18) & (h < 60)] = "beige"
    return names


def _foreground_mask(arr: np.ndarray) -> np.ndarray:
    """True for product pixels: drop near-white and pixels close to the (uniform) border colour."""
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).astype(np.int32)
    bg = np.median(border, axis=0)
    spread = np.abs(border - bg).sum(axis=1)
    flat = arr.astype(np.int32)
    mask = flat.min(axis=2) < 225  # near-white catalogue background and its halo
    if np.mean(spread < 40) > 0.6:  # a near-uniform border: treat its colour as background
        mask &= np.abs(flat - bg).sum(axis=2) > 60
    # erode once: edge pixels are blends of product and background
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner if inner.sum() >= 0.5 * mask.sum() else mask


def dominant_color(img: Image.Image, max_side: int = 64) -> str:
    """The product's main colour name from its own pixels (background excluded), in COLORS' vocabulary.

    Small thumbnails are enough; the border's colour is treated as background when the border is near
    uniform (catalog crops, Fashion-MNIST), and near-white is never counted. Falls back to the whole
    image when almost nothing is left (a white product on white).
    """
    small = img.convert("RGB")
    small.thumbnail((max_side, max_side))
    arr = np.asarray(small)
    mask = _foreground_mask(arr)
    pixels = arr[mask] if mask.sum() >= max(12, 0.03 * mask.size) else arr.reshape(-1, 3)
    names = _pixel_names(pixels)
    values, counts = np.unique(names, return_counts=True)
    counts = counts.astype(np.float64)
    # neutrals (edges, shadows, seams) are everywhere: a chromatic colour wins once it covers a fair share
    neutral = np.isin(values, ("black", "grey", "white"))
    if (~neutral).any() and counts[~neutral].max() >= 0.3 * counts.sum():
        counts[neutral] *= 0.6
    return str(values[int(np.argmax(counts))])
