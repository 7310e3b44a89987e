"""Prices in a shopper's words: "under $50", "between 20 and 40 euros", "€30 shoes", "2k or less" become a
minimum and a maximum; numbers that are not prices ("top 10", "size 8", "5 results") are dropped with them.

``stylist.query.parse_query`` takes the prices out first, so their numbers and currency words never reach
the colour, category and CLIP words. Amounts are read as catalogue prices are (``stylist.catalog.parse_price``),
so "1,299" asks for what a catalogue's "1,299" costs.
"""
from __future__ import annotations

import re

from stylist.catalog import parse_price

# An amount: optional currency sign, digits with thousands/decimal separators in either convention
# ("1,299", "1.299,00", "45.5"), an optional "k", an optional currency word or sign after it.
_CUR = r"(?:[$€£]|(?:usd|eur|gbp|dollars?|euros?|bucks|pounds|quid)\b)"
_AMOUNT = rf"((?:[$€£]\s*)?\d+(?:[.,]\d+)*(?:\s*k\b)?(?:\s*{_CUR})?)"
_MAX_CUES = (r"under|below|less\s+than|cheaper\s+than|up\s+to|max(?:imum)?|at\s+most|within|no\s+more\s+than|"
             r"not\s+more\s+than|not\s+over|not\s+above|budget(?:\s+of)?|for\s+less\s+than|<=?|≤")
_MIN_CUES = r"over|above|more\s+than|at\s+least|from|min(?:imum)?|starting\s+at|>=?|≥"
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bbetween\s+{_AMOUNT}\s+(?:and|to|-|&)\s+{_AMOUNT}"), "range"),
    (re.compile(rf"\bfrom\s+{_AMOUNT}\s+to\s+{_AMOUNT}"), "range"),
    (re.compile(rf"(?<![\w.,]){_AMOUNT}\s*(?:-|–|to)\s*{_AMOUNT}(?![\w.,])"), "range"),
    (re.compile(rf"(?:(?<!\w)(?:{_MAX_CUES}))\s*{_AMOUNT}"), "max"),
    (re.compile(rf"(?<![\w.,]){_AMOUNT}\s*(?:or\s+less|or\s+under|or\s+below|or\s+cheaper|and\s+under|and\s+below|"
                rf"max(?:imum)?|tops|at\s+most)\b"), "max"),
    (re.compile(rf"(?:(?<!\w)(?:{_MIN_CUES}))\s*{_AMOUNT}"), "min"),
    (re.compile(rf"(?<![\w.,]){_AMOUNT}\s*(?:or\s+more|or\s+above|or\s+over|and\s+up|and\s+above|plus\b|\+)"), "min"),
    # a bare amount with a currency ("€30 shoes", "30 dollars") is a budget: an upper limit
    (re.compile(rf"(?<![\w.,])((?:[$€£]\s*\d+(?:[.,]\d+)*(?:\s*k\b)?)|(?:\d+(?:[.,]\d+)*(?:\s*k\b)?\s*{_CUR}))"), "max"),
]
# numbers that are not prices: "top 10", "size 8", "size 10-12", "5 results"
_NOT_PRICES = re.compile(r"\b(?:top|best|first|last)\s+\d+\b|\bsize\s+(?:uk|us|eu|it|fr)?\s*\d+(?:[.,]\d+)?"
                         r"(?:\s*(?:-|–|/|to)\s*\d+(?:[.,]\d+)?)?|\b\d+\s+(?:results?|items?|options?|products?|ideas?)\b")
# words that ask for low prices without an amount: no limit, the cheaper candidates rank higher (stylist.rerank)
CHEAP_WORDS = ("cheap", "cheapest", "cheaper", "inexpensive", "affordable", "budget", "bargain", "low-cost", "low cost",
               "economical", "on a budget")


def parse_amount(raw: str) -> float:
    """'$1,299' -> 1299, '1.299,00 €' -> 1299, '45.5' -> 45.5, '12,50 €' -> 12.5, '2k' -> 2000.

    The number itself is read as catalog prices are (``stylist.catalog.parse_price``: the last of ``,``/``.``
    is the decimal mark when both appear; "1,299" is thousands), after the currency words and a "k" go.
    """
    text = raw.lower()
    thousand = re.search(r"\d\s*k\b", text) is not None
    digits = re.search(r"\d+(?:[.,]\d+)*", text)
    if digits is None:
        raise ValueError(f"no amount in {raw!r}")
    value = parse_price(digits.group())
    if value is None:
        raise ValueError(f"no amount in {raw!r}")
    return value * 1000 if thousand else value


def parse_prices(text: str) -> tuple[str, float | None, float | None]:
    """Remove price phrases (and numbers that are not prices) from ``text``; return (rest, min, max)."""
    text = _NOT_PRICES.sub(" ", text)
    lo = hi = None
    for pattern, kind in _PRICE_PATTERNS:
        while (match := pattern.search(text)) is not None:
            if kind == "range":
                a, b = sorted((parse_amount(match.group(1)), parse_amount(match.group(2))))
                lo, hi = (a if lo is None else lo), (b if hi is None else hi)
            elif kind == "max" and hi is None:
                hi = parse_amount(match.group(1))
            elif kind == "min" and lo is None:
                lo = parse_amount(match.group(1))
            text = text[:match.start()] + " " + text[match.end():]
    return text, lo, hi


__all__ = ["parse_amount", "parse_prices", "CHEAP_WORDS"]
