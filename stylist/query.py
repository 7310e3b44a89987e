"""Understand a shopper's words: colours, categories, prices and negations, plus the words left for CLIP.

"crimson sneakers under $50" -> colors ["red"], categories ["Shoes"], max_price 50, terms "crimson
sneakers". Structured parts become filters/boosts (stylist.rerank); the terms go to the CLIP text
encoder, which keeps nuances ("leather", "sneakers" vs "boots") that the structure drops. Materials,
patterns and styles ("denim", "striped", "sleeveless") are recognised but only ever CLIP terms; "not
black" / "no heels" become exclusions; numbers without a price cue ("top 10", "size 8") are ignored
(the prices: ``stylist.prices``).
"""
from __future__ import annotations

import re

from stylist.colors import SYNONYMS, COLORS, canonical_color
from stylist.prices import CHEAP_WORDS, parse_prices
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


# The words that name a whole class rather than a sub-kind of it: "not shoes" excludes the class, "no
# heels" only heel-like shoes (a negative CLIP prompt), so that flats and sneakers remain.
_GENERIC_WORDS: dict[str, tuple[str, ...]] = {
    "Shirts & Tops": ("shirt", "top", "tops & tees"), "Skirts": ("skirt",), "Jewelry": ("jewelry", "jewellery"),
    "Shoes": ("shoe", "footwear"), "Pants": ("pant", "pants", "trousers", "trouser"), "Hats": ("hat", "headwear"),
    "Dresses": ("dress",), "Handbags": ("bag", "handbag", "handbags", "purse"),
    "Coats & Jackets": ("coat", "jacket", "outerwear"), "Shorts": ("shorts",),
    "Sunglasses": ("sunglasses", "sunglass", "glasses", "eyewear", "shades"), "Scarves & Shawls": ("scarf", "scarves"),
    "Watches": ("watch", "watches"),
}
CATEGORY_SYNONYMS: dict[str, str] = {}
for _cls, _words in _CATEGORY_WORDS.items():
    CATEGORY_SYNONYMS[_cls.lower()] = _cls
    for _w in _words:
        for _form in _plural(_w):
            CATEGORY_SYNONYMS.setdefault(_form, _cls)
assert set(CATEGORY_SYNONYMS.values()) <= set(CLASSES)
GENERIC_CATEGORY_WORDS: frozenset[str] = frozenset(
    {c.lower() for c in CLASSES} | {f for ws in _GENERIC_WORDS.values() for w in ws for f in _plural(w)})

# Materials, patterns and styles: never filters (catalogs rarely have such columns), always CLIP terms;
# recognised so that "denim" is a material rather than the colour blue, and shown back to the shopper.
ATTRIBUTES: frozenset[str] = frozenset({
    # materials
    "leather", "faux leather", "suede", "denim", "silk", "satin", "velvet", "wool", "woollen", "woolen", "cashmere",
    "linen", "cotton", "knit", "knitted", "lace", "sequin", "sequins", "sequined", "fur", "faux fur", "corduroy",
    "chiffon", "tweed", "patent", "canvas", "mesh", "nylon", "polyester", "jersey", "fleece", "straw", "rattan",
    "crochet", "quilted", "metal", "gold-plated", "sterling",
    # patterns
    "striped", "stripes", "stripe", "pinstripe", "floral", "flowers", "flowery", "polka dot", "polka dots", "dotted",
    "checked", "check", "checkered", "plaid", "tartan", "gingham", "houndstooth", "paisley", "leopard", "leopard print",
    "animal print", "zebra", "snakeskin", "print", "printed", "camo", "camouflage", "tie-dye", "tie dye", "geometric",
    "solid", "plain", "embroidered", "graphic", "logo", "colour block", "color block",
    # styles and cuts
    "sleeveless", "long sleeve", "long sleeves", "long-sleeve", "long-sleeved", "short sleeve", "short sleeves",
    "short-sleeve", "short-sleeved", "strapless", "off-shoulder", "off the shoulder", "one-shoulder", "v-neck",
    "crew neck", "turtle neck", "high-waisted", "high waisted", "cropped", "oversized", "slim", "slim fit", "skinny",
    "wide-leg", "wide leg", "straight leg", "ripped", "distressed", "pleated", "wrap", "bodycon", "a-line", "maxi",
    "midi", "mini", "vintage", "retro", "casual", "formal", "elegant", "sporty", "boho", "chunky", "platform",
    "hooded", "puff sleeve", "ruffled", "ruffle", "fitted", "loose", "flared", "flowy", "backless", "lace-up",
    "ankle-length", "knee-length", "square", "round", "oval", "aviator", "cat eye", "cat-eye", "minimalist",
    "chic", "classic", "summer", "winter", "party", "wedding", "office", "beach", "evening",
})
# Words that open a negation; phrases such as "anything but" are rewritten to "not" first.
NEGATION_CUES: frozenset[str] = frozenset({"not", "no", "without", "except", "excluding", "exclude", "nothing",
                                           "never", "avoid", "minus", "don't", "dont", "isn't", "non"})
_NEGATION_PHRASES = re.compile(r"\b(?:anything|everything|all|any\s+colou?r)\s+but\b|\binstead\s+of\b|\brather\s+than\b"
                               r"|\bother\s+than\b|\bapart\s+from\b|\bno\s+more\b(?!\s+than)")
# Words that keep a negation open ("not in black or grey", "no heels, nor boots").
_SCOPE_FILLERS = frozenset({"in", "a", "an", "the", "any", "or", "nor", "and", "too", "colour", "color", "colours",
                            "colors", "coloured", "colored", "want", "like", "with", "of", "more", "please", ",",
                            "shade", "shades", "tone", "tones"})
_STOPWORDS = {"in", "a", "an", "the", "with", "and", "or", "for", "me", "show", "find", "i", "want", "like", "this",
              "that", "but", "of", "please", "some", "something", "similar", "same", "one", "it", "to", "looking",
              "colour", "color", "any", "get", "need", "would", "look", "instead", "maybe", "just", "only",
              "my", "is", "are", "be", "something", "thing", "things", "them", "these", "those", "now", "also",
              "what", "about", "how", "can", "you", "have", "has", "got", "there"}
_PUNCT = re.compile(r"[,;.!?/]")
_TOKEN = re.compile(r"[a-z][a-z&'-]*|\d+(?:\.\d+)?|[,;.!?/]")
_VOCABULARY = frozenset(SYNONYMS) | frozenset(COLORS) | frozenset(CATEGORY_SYNONYMS) | ATTRIBUTES

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


def _phrases(tokens: list[str]) -> list[str]:
    """Greedy longest-first phrases over the tokens, up to 3 words (known vocabulary only when longer than 1)."""
    out, i = [], 0
    while i < len(tokens):
        for n in (3, 2, 1):
            if i + n <= len(tokens):
                phrase = " ".join(tokens[i:i + n])
                if n == 1 or phrase in _VOCABULARY:
                    out.append(phrase)
                    i += n
                    break
    return out


def _kind(phrase: str) -> tuple[str, str] | None:
    """('attribute'|'color'|'category', value) for a known phrase; materials win over colours ("denim")."""
    if phrase in ATTRIBUTES:
        return "attribute", phrase
    color = canonical_color(phrase)
    if color:
        return "color", color
    category = CATEGORY_SYNONYMS.get(phrase)
    return ("category", category) if category else None


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def parse_query(text: str | None) -> ParsedQuery:
    """Parse free text into colours, categories, prices, exclusions and the CLIP terms (see module docstring).

    Negation ("not black", "no heels", "without leather") covers the run of same-kind words after the cue
    ("not black or grey shoes": black and grey are excluded, shoes are wanted). A negated class name ("not
    shoes") excludes the class unless the class is wanted too; a negated sub-kind ("no heels", "shoes, no
    heels") only excludes the word, for CLIP to avoid (``exclude_terms``): flats and sneakers remain.
    """
    if text is None or not text.strip():
        return ParsedQuery(text=None if text is None else text.strip() or None)
    original = " ".join(text.split())
    lowered = original.lower().replace("t-shirt", "tshirt").replace("t shirt", "tshirt")
    rest, lo, hi = parse_prices(lowered)
    rest = _NEGATION_PHRASES.sub(" not ", rest)
    cheap = False
    for word in sorted(CHEAP_WORDS, key=len, reverse=True):
        rest, hits = re.subn(rf"(?<![\w-]){re.escape(word)}(?![\w-])", " ", rest)
        cheap = cheap or hits > 0
    colors: list[str] = []
    categories: list[str] = []
    attributes: list[str] = []
    no_colors: list[str] = []
    no_categories: list[str] = []
    no_words: list[str] = []
    terms: list[str] = []
    negating, scope = False, None  # inside a negation, and the kind of word it covers
    for phrase in _phrases(_TOKEN.findall(rest)):
        if phrase in NEGATION_CUES or phrase.startswith("non-"):
            negating, scope = True, None
            phrase = phrase[4:] if phrase.startswith("non-") else ""
            if not phrase:
                continue
        known = _kind(phrase)
        if negating and known is not None and scope in (None, known[0]):
            scope = known[0]
            if known[0] == "category":  # the class ("not shoes"), or only a sub-kind of it ("no heels")
                if phrase in GENERIC_CATEGORY_WORDS:
                    _add(no_categories, known[1])
                _add(no_words, phrase)
            else:
                _add(no_colors if known[0] == "color" else no_words, known[1])
            continue
        if negating and (known is not None or phrase not in _SCOPE_FILLERS):
            negating, scope = False, None
        if known is not None:
            _add({"color": colors, "category": categories, "attribute": attributes}[known[0]], known[1])
        if phrase not in _STOPWORDS and phrase not in _SCOPE_FILLERS and not _PUNCT.fullmatch(phrase) \
                and not phrase.replace(".", "").isdigit():
            terms.append(phrase)
    for cat in [c for c in no_categories if c in categories]:  # "shoes, no heels": a kind of shoe to avoid
        no_categories.remove(cat)
    no_words = [w for w in no_words if CATEGORY_SYNONYMS.get(w) not in no_categories]
    return ParsedQuery(text=original, colors=[c for c in colors if c not in no_colors], categories=categories,
                       max_price=hi, min_price=lo, terms=" ".join(terms), exclude_colors=no_colors,
                       exclude_categories=no_categories, exclude_terms=" ".join(no_words), attributes=attributes,
                       cheap=cheap)

