"""Colour vocabulary shared by the text parser and the index: names, synonyms, families, and pixel colour.

One vocabulary everywhere, so that "crimson" in a query, "Maroon" in a catalog row and the red pixels of
a product crop all land in the same family ("red") and a colour filter can actually match (a catalog that
labels navy "black" would otherwise never match "navy").
"""
from __future__ import annotations

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

def dominant_color(img: Image.Image, max_side: int = 96, category: str | None = None) -> str:
    """The product's main colour name from its own pixels, in COLORS' vocabulary ('navy', 'cream', ...).

    The garment is masked first (background, shadows and a model's skin are not its colour), then its
    pixels are clustered and named in CIELAB by CIEDE2000 distance (stylist.garment_color). ``category``
    (a detection class such as "Pants"), when known, tells where a worn garment sits on the body.
    """
    from stylist.garment_color import garment_color  # numpy/cv2 work; the vocabulary above needs none

    return garment_color(img, category, max_side).name
