"""The demo's query-photo numbers, counted by hand on made-up results."""
from __future__ import annotations

from demo.measure import QueryOutcome, summarize
from stylist.results import Product


def _p(category: str, color: str, price: float | None) -> Product:
    return Product(id=f"{category}-{color}-{price}", score=0.5, category=category, color=color, price=price)


def test_summarize_counts_categories_colours_and_prices():
    shirt, pants = "Shirts & Tops", "Pants"
    a = QueryOutcome(shirt, plain=[_p(shirt, "black", 40), _p(shirt, "navy", 20), _p(pants, "grey", None)],
                     colored=[_p(shirt, "maroon", 50), _p(pants, "red", 10), _p(shirt, "pink", 20)],
                     priced=[_p(shirt, "black", 29.99), _p(pants, "red", 5), _p(pants, "red", 9)])
    b = QueryOutcome(pants, plain=[_p(pants, "red", 10), _p(pants, "beige", 35), _p(pants, "black", 30)],
                     colored=[_p(pants, "red", 10), _p(pants, "crimson", 12), _p(shirt, "red", 8)],
                     priced=[_p(pants, "beige", 12), _p(pants, "black", 25), _p(shirt, "white", 1)])
    r = summarize([a, b], top=3, color="red", max_price=30)
    assert r.queries == 2 and r.top == 3
    assert r.category_share == 5 / 6 and r.any_right == 2 and r.majority_right == 2 and r.all_right == 1
    assert r.color_before == 1 / 6  # only b's first: navy, maroon-free plain results
    assert r.color_after == 5 / 6  # maroon, red, red, crimson, red are red-family; pink is not
    assert r.color_category_share == 4 / 6
    assert r.price_before == 2 / 6  # 20 and 10; None and 30 are not under 30
    assert r.price_after == 1.0 and r.price_category_share == 3 / 6
    text = "\n".join(r.lines())
    assert '"in red": red-family results 17% -> 83%' in text and "at least one right 2/2, mostly right 2/2, all 3 right 1/2" in text
