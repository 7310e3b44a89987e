"""Understand a shopper's words: colours, categories and price limits, plus the words left for CLIP.

"crimson sneakers under $50" -> colors ["red"], categories ["Shoes"], max_price 50, terms "crimson
sneakers". Structured parts become filters/boosts (stylist.rerank); the terms go to the CLIP text
encoder, which keeps nuances ("leather", "sneakers" vs "boots") that the structure drops.
"""
from __future__ import annotations

import re

from stylist.colors import SYNONYMS, COLORS, canonical_color
from stylist.results import ParsedQuery
from stylist.schema import CLASSES

# Words for each detection class (singular and plural; multi-word phrases allowed).
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "Shirts & Tops": ("shirt", "top", "tee", "t-shirt", "tshirt", "t shirt", "blouse", "sweater", "hoodie", "jumper",
                      "pullover", "tank", "tank top", "camisole", "cami", "polo", "sweatshirt", "tunic", "crop top",
                      "cardigan", "bodysuit", "henley", "turtleneck", "kurta", "kurti", "shirts & tops", "tops & tees"),
    "Skirts": ("skirt", "miniskirt", "maxi skirt", "midi skirt"),
    "Jewelry": ("jewelry", "jewellery", "necklace", "earring", "bracelet", "ring", "pendant", "bangle", "chain",
                "anklet", "brooch", "choker", "necklace and chains"),
    "Shoes": ("shoe", "sneaker", "trainer", "boot", "heel", "sandal", "loafer", "pump", "flats", "footwear", "slipper",
              "flip flop", "flip-flop", "stiletto", "mule", "espadrille", "ankle boot", "casual shoe",
              "sports shoe", "formal shoe", "ankle boots", "high heels"),
    "Pants": ("pant", "pants", "trousers", "trouser", "jean", "jeans", "legging", "chino", "jogger", "slacks",
              "track pants", "trackpants", "capri", "capris", "culottes", "denims"),
    "Hats": ("hat", "cap", "beanie", "beret", "fedora", "bucket hat", "headwear"),
    "Dresses": ("dress", "gown", "frock", "sundress", "maxi dress", "midi dress", "mini dress"),
    "Handbags": ("bag", "handbag", "purse", "clutch", "tote", "backpack", "satchel", "crossbody", "shoulder bag",
                 "wallet", "hobo", "handbags"),
    "Coats & Jackets": ("coat", "jacket", "blazer", "parka", "trench", "puffer", "windbreaker", "gilet", "overcoat",
                        "raincoat", "bomber", "coats & jackets", "outerwear"),
    "Shorts": ("shorts", "bermuda", "bermudas", "hot pants"),
    "Sunglasses": ("sunglasses", "sunglass", "shades", "sunnies", "eyewear", "glasses", "aviators"),
    "Scarves & Shawls": ("scarf", "scarves", "shawl", "stole", "muffler", "pashmina", "dupatta", "scarves & shawls"),
    "Watches": ("watch", "watches", "wristwatch", "timepiece"),
}


def _plural(word: str) -> list[str]:
    if word.endswith(("s", "sh", "ch", "x")):
        return [word, word + "es"] if not word.endswith("s") else [word]
    if word.endswith("f"):
        return [word, word + "s", word[:-1] + "ves"]
    return [word, word + "s"]


CATEGORY_SYNONYMS: dict[str, str] = {}
for _cls, _words in _CATEGORY_WORDS.items():
    CATEGORY_SYNONYMS[_cls.lower()] = _cls
    for _w in _words:
        for _form in _plural(_w):
            CATEGORY_SYNONYMS.setdefault(_form, _cls)
assert set(CATEGORY_SYNONYMS.values()) <= set(CLASSES)

_NUM = r"\$?\s*(\d+(?:[.,]\d+)?)\s*(?:\$|€|£|usd|eur|gbp|dollars?|euros?|bucks|pounds)?"
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bbetween\s+{_NUM}\s+(?:and|to|-)\s+{_NUM}"), "range"),
    (re.compile(rf"\bfrom\s+{_NUM}\s+to\s+{_NUM}"), "range"),
    (re.compile(rf"(?<![\w.]){_NUM}\s*(?:-|–|to)\s*{_NUM}(?![\w.])"), "range"),
    (re.compile(rf"(?:\bunder|\bbelow|\bless\s+than|\bcheaper\s+than|\bup\s+to|\bmax(?:imum)?|\bat\s+most|\bwithin|<=?|≤)\s*{_NUM}"), "max"),
    (re.compile(rf"(?:\bover|\babove|\bmore\s+than|\bat\s+least|\bfrom|\bmin(?:imum)?|>=?|≥)\s*{_NUM}"), "min"),
]
_STOPWORDS = {"in", "a", "an", "the", "with", "and", "or", "for", "me", "show", "find", "i", "want", "like", "this",
              "that", "but", "of", "please", "some", "something", "similar", "same", "one", "it", "to", "looking",
              "colour", "color", "something", "any", "get", "need", "would", "look"}
_TOKEN = re.compile(r"[a-z][a-z&'-]*|\d+(?:\.\d+)?")


def category_of(label: str) -> str | None:
    """Map a catalog category or a query word to one of CLASSES ('Sneakers' -> 'Shoes'); None if unknown."""
    key = " ".join(label.lower().replace("_", " ").split())
    if key in CATEGORY_SYNONYMS:
        return CATEGORY_SYNONYMS[key]
    words = key.split()
    for n in (3, 2, 1):  # longest phrase inside a label like "Casual Shoes" or "Women's Ankle Boots"
        for i in range(len(words) - n + 1):
            hit = CATEGORY_SYNONYMS.get(" ".join(words[i:i + n]))
            if hit:
                return hit
    return None


def _number(raw: str) -> float:
    return float(raw.replace(",", "."))


def _parse_prices(text: str) -> tuple[str, float | None, float | None]:
    """Remove price phrases from ``text`` and return (rest, min_price, max_price)."""
    lo = hi = None
    for pattern, kind in _PRICE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        if kind == "range":
            a, b = sorted((_number(match.group(1)), _number(match.group(2))))
            lo, hi = a, b
        elif kind == "max" and hi is None:
            hi = _number(match.group(1))
        elif kind == "min" and lo is None:
            lo = _number(match.group(1))
        text = text[:match.start()] + " " + text[match.end():]
    return text, lo, hi


def _phrases(tokens: list[str]) -> list[tuple[int, int, str]]:
    """Greedy longest-first (start, end, phrase) spans over the tokens, up to 3 words."""
    spans, i = [], 0
    while i < len(tokens):
        for n in (3, 2, 1):
            if i + n <= len(tokens):
                phrase = " ".join(tokens[i:i + n])
                if n == 1 or phrase in SYNONYMS or phrase in COLORS or phrase in CATEGORY_SYNONYMS:
                    spans.append((i, i + n, phrase))
                    i += n
                    break
    return spans


def parse_query(text: str | None) -> ParsedQuery:
    """Parse free text into colours, categories, price limits and the CLIP terms (see module docstring)."""
    if text is None or not text.strip():
        return ParsedQuery(text=None if text is None else text.strip() or None)
    original = " ".join(text.split())
    lowered = original.lower().replace("t-shirt", "tshirt").replace("t shirt", "tshirt")
    rest, lo, hi = _parse_prices(lowered)
    tokens = _TOKEN.findall(rest)
    colors: list[str] = []
    categories: list[str] = []
    terms: list[str] = []
    for _, _, phrase in _phrases(tokens):
        color = canonical_color(phrase)
        category = CATEGORY_SYNONYMS.get(phrase)
        if color and color not in colors:
            colors.append(color)
        if category and category not in categories:
            categories.append(category)
        if phrase not in _STOPWORDS and not phrase.replace(".", "").isdigit():
            terms.append(phrase)
    return ParsedQuery(text=original, colors=colors, categories=categories, max_price=hi, min_price=lo,
                       terms=" ".join(terms))
