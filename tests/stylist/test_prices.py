"""Prices in a shopper's words (stylist.prices): amounts in either separator convention, limits, non-prices."""
from __future__ import annotations

import pytest

from stylist.prices import parse_amount, parse_prices


@pytest.mark.parametrize("raw,value", [("1,299", 1299.0), ("1.299.000", 1299000.0), ("1.299,00", 1299.0),
                                       ("1,299.99", 1299.99), ("45.5", 45.5), ("12,5", 12.5), ("$3k", 3000.0),
                                       ("1,000,000", 1e6)])
def test_parse_amount(raw, value):
    assert parse_amount(raw) == value


def test_an_amount_needs_digits():
    with pytest.raises(ValueError, match="no amount"):
        parse_amount("fifty dollars")


@pytest.mark.parametrize("text,lo,hi,words", [
    ("red shoes under $50", None, 50.0, ["red", "shoes"]),
    ("bags between 20 and 40 euros", 20.0, 40.0, ["bags"]),  # the currency word goes with its amount
    ("boots from 10 to 30", 10.0, 30.0, ["boots"]),
    ("at least £15 scarf", 15.0, None, ["scarf"]),
    ("€30 shoes", None, 30.0, ["shoes"]),  # a bare amount with a currency is a budget
    ("top 10 dresses size 8", None, None, ["dresses"]),  # numbers that are not prices go too
    ("50+ hats under 80", 50.0, 80.0, ["hats"]),
])
def test_prices_are_taken_out_of_the_words(text, lo, hi, words):
    rest, got_lo, got_hi = parse_prices(text)
    assert (got_lo, got_hi) == (lo, hi)
    assert rest.split() == words
