"""Texts, captions and keyboards: Telegram's limits and what the shopper reads."""
from __future__ import annotations

import pytest

from bot import views
from stylist.results import Detection, ItemResult, ParsedQuery, Product

DETS = [Detection(i, label, 0.9, (0, 0, 10, 10)) for i, label in enumerate(["Dresses", "Scarves & Shawls", "Shoes"])]


def test_button_data_round_trips_and_respects_64_bytes():
    data = views.button_data(views.ITEM, "a1b2c3d4", 12)
    assert views.parse_button(data) == views.Button("i", "a1b2c3d4", 12)
    assert views.parse_button(views.button_data(views.MORE, "a1b2c3d4")) == views.Button("m", "a1b2c3d4")
    with pytest.raises(ValueError):
        views.button_data(views.ITEM, "x" * 70)
    for garbage in (None, "", "zz:abc", "i:", "i:abc:notanumber", "i:a:1:2"):
        assert views.parse_button(garbage) is None


def test_items_keyboard_numbers_items_like_the_boxes():
    markup = views.items_keyboard("n0nce", DETS)
    texts = [[b.text for b in row] for row in markup.inline_keyboard]
    assert texts == [["1 · Dresses", "2 · Scarves & Shawls"], ["3 · Shoes"], ["All items"]]
    assert all(len(b.callback_data.encode()) <= 64 for row in markup.inline_keyboard for b in row)
    assert [[b.text for b in row] for row in views.items_keyboard("n", DETS[:1], with_all=False).inline_keyboard] == [["1 · Dresses"]]


def test_results_keyboard_only_offers_what_exists():
    assert views.results_keyboard("n", has_more=False, other_items=False) is None
    markup = views.results_keyboard("n", has_more=True, other_items=True)
    assert [b.text for b in markup.inline_keyboard[0]] == ["More", "Other item"]


def test_product_caption_has_name_colour_price():
    p = Product(id="d1", score=0.9, name="Floral wrap dress", category="Dresses", color="red", price=39.9,
                url="https://shop.example/d1")
    assert views.product_caption(3, p) == "3. Floral wrap dress\nDresses · red · 39.90\nhttps://shop.example/d1"
    assert views.product_caption(1, Product(id="x7", score=0.1, price=20.0)) == "1. x7\n20"
    long = Product(id="y", score=0, name="n" * 2000)
    assert len(views.product_caption(1, long)) == views.CAPTION_LIMIT


def test_summary_says_what_the_words_were_understood_as():
    q = ParsedQuery(text="red floral dress under 50", colors=["red"], categories=["Dresses"], max_price=50, terms="floral")
    result = ItemResult(0, q, [Product(id=str(i), score=1.0) for i in range(10)])
    text = views.results_summary(result, "item 1 · Dresses", 0, 10, has_more=True)
    assert text.startswith("Matches 1–10 for item 1 · Dresses.")
    assert "Understood as: Dresses · red · under 50 · “floral”" in text
    assert views.EXAMPLE_HINT in text
    assert "last page" in views.results_summary(result, "x", 10, 3, has_more=False)
    assert views.results_summary(ItemResult(None, ParsedQuery(), []), "x", 0, 0, False).startswith(views.NO_MATCHES)
    assert views.results_summary(ItemResult(None, ParsedQuery(), []), "x", 20, 0, False).startswith(views.NO_MORE)


def test_targets_and_errors_read_naturally():
    assert views.target_label(DETS[1]) == "item 2 · Scarves & Shawls"
    assert views.target_label(None) == "the whole photo"
    assert views.target_label(None, text_only=True) == "your words"
    assert views.too_big(25 * 1024 * 1024).startswith("That file is 25 MB")
    assert views.too_big(None).startswith("That file is over 20 MB;")
    assert views.bad_image("the image is corrupt or truncated.") == \
        "I couldn't open that picture: the image is corrupt or truncated. Please try another photo."
    assert "3 items" in views.items_found(DETS, None)
    assert len(views.items_found(DETS, "x" * 5000)) <= views.CAPTION_LIMIT
    assert len(views.HELP) <= views.TEXT_LIMIT and "in red" in views.HELP
