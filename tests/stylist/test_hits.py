"""The catalog query's words: a hit list merged across queries, and the ``where`` a parsed wish becomes."""
from stylist.hits import Hit, merge_hits, where_filter
from stylist.query import parse_query


def test_merge_hits_keeps_each_product_once_in_first_seen_order():
    a = [Hit("p1", 0.9, {}), Hit("p2", 0.8, {})]
    b = [Hit("p2", 0.99, {"late": True}), Hit("p3", 0.5, {})]
    merged = merge_hits(a, b)
    assert [h.id for h in merged] == ["p1", "p2", "p3"]
    assert merged[1].similarity == 0.8  # the first occurrence wins, not the better score


def test_where_filter_is_none_without_wishes_and_one_clause_bare():
    assert where_filter(None, [], True) is None
    assert where_filter(None, ["Shoes"], True) == {"category": {"$in": ["Shoes"]}}


def test_where_filter_joins_price_colour_and_category():
    where = where_filter(parse_query("red dress under 50"), ["Dresses"], True)
    clauses = where["$and"]
    assert {"category": {"$in": ["Dresses"]}} in clauses
    assert {"price": {"$lte": 50.0}} in clauses
    colours = next(c["color"]["$in"] for c in clauses if "color" in c)
    assert "red" in colours and len(colours) > 1  # the whole red family, not the one word


def test_where_filter_leaves_colour_out_when_asked():
    where = where_filter(parse_query("red"), [], False)
    assert where is None
