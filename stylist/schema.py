"""Contracts written down once: catalog CSV columns, detection classes, Chroma collection and metadata keys."""
from __future__ import annotations

# --- Catalog CSV (the one input format the index builder consumes) -------------------------------
CATALOG_REQUIRED: tuple[str, ...] = ("id", "image")
CATALOG_OPTIONAL: tuple[str, ...] = ("name", "category", "color", "price", "url", "style_id")
CATALOG_COLUMNS: tuple[str, ...] = CATALOG_REQUIRED + CATALOG_OPTIONAL

# --- Detection classes ----------------------------------------------------------------------------
# The 13 Complete the Look labels that have enough crops (>= 470) and boxes in the real layouts to learn.
CLASSES: tuple[str, ...] = (
    "Shirts & Tops", "Skirts", "Jewelry", "Shoes", "Pants", "Hats", "Dresses", "Handbags",
    "Coats & Jackets", "Shorts", "Sunglasses", "Scarves & Shawls", "Watches",
)
# Rare CTL labels (< 70 crops, none in the layouts): merged into the nearest class or dropped (None).
RARE_CLASS_MAP: dict[str, str | None] = {
    "Rings": "Jewelry",
    "Belts": None, "Socks": None, "Jumpsuits & Rompers": None, "Swimwear": None,
    "Gloves & Mittens": None, "Stockings": None, "Neckties": None,
}


# The 17 garment types of the CC0 clothing-dataset (photos in the wild) onto CLASSES. All map: the
# photos are of garments we carry. Undershirt/Body/Polo/Top/Blouse/Hoodie are tops; Blazer/Outwear coats.
CLOTHING_CLASS_MAP: dict[str, str] = {
    "T-Shirt": "Shirts & Tops", "Longsleeve": "Shirts & Tops", "Shirt": "Shirts & Tops",
    "Polo": "Shirts & Tops", "Top": "Shirts & Tops", "Blouse": "Shirts & Tops",
    "Undershirt": "Shirts & Tops", "Body": "Shirts & Tops", "Hoodie": "Shirts & Tops",
    "Outwear": "Coats & Jackets", "Blazer": "Coats & Jackets",
    "Pants": "Pants", "Shorts": "Shorts", "Skirt": "Skirts", "Dress": "Dresses",
    "Shoes": "Shoes", "Hat": "Hats",
}


def canonical_class(label: str) -> str | None:
    """Map a CTL label to one of CLASSES, or None when the label is dropped."""
    if label in CLASSES:
        return label
    return RARE_CLASS_MAP.get(label)


# --- Chroma store -------------------------------------------------------------------------------
DEFAULT_COLLECTION = "catalog"
# Per catalog, same ids: the visual (autoencoder) vectors with the metadata in a Chroma collection, and the
# CLIP image vectors in <collection>-clip.npz beside the embedded store (a collection of that name on a server).
VISUAL_SUFFIX = ""  # <collection>
CLIP_SUFFIX = "-clip"  # <collection>-clip
# Metadata keys stored with every product (strings; price float or absent; missing strings are "").
# Only what search and its replies read: filters (category, colour, price), the reply (name, image, url),
# the incremental build (fingerprint) and how a colour was read. The catalog's style_id stays in the CSV:
# nothing reads it from the index, and every stored key costs ~100 bytes per product in Chroma's sqlite.
# color_source: "catalog" (the CSV's colour column) or "pixels" (read from the product photo);
# color_confidence (float 0-1, pixels only): how sure that reading is.
META_KEYS: tuple[str, ...] = ("name", "category", "color", "price", "url", "image", "fingerprint",
                              "color_source", "color_confidence")
NUMERIC_META_KEYS: tuple[str, ...] = ("price", "color_confidence")
