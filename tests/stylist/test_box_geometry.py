"""Box geometry (stylist.box_geometry): areas, overlaps and parts of one box."""
from __future__ import annotations

import pytest

from stylist.box_geometry import PART_INSIDE, area, intersection, parts_of_one, share_inside


def test_area_and_overlap_of_boxes():
    a, b = (0, 0, 10, 20), (5, 10, 30, 40)
    assert area(a) == 200 and area((5, 5, 5, 9)) == 0 and area((10, 0, 0, 10)) == 0  # flat and inverted: empty
    assert intersection(a, b) == intersection(b, a) == 5 * 10
    assert intersection(a, (20, 0, 30, 10)) == 0  # apart
    assert share_inside(a, b) == pytest.approx(50 / 200) and share_inside(b, a) == pytest.approx(50 / 750)
    assert share_inside((3, 3, 3, 3), a) == 0.0  # an empty box is inside nothing
    assert share_inside((2, 2, 4, 4), a) == 1.0


def test_parts_of_one_means_one_box_or_parts_inside_the_best_one():
    shirt, collar, pocket = (10, 10, 110, 210), (40, 5, 80, 40), (60, 100, 90, 130)
    assert parts_of_one([shirt])
    assert parts_of_one([shirt, collar, pocket])  # collar: 35 of its 40 px rows inside -> 0.875 inside
    assert not parts_of_one([shirt, (120, 10, 200, 90)])  # a second item beside it: a board, an outfit
    assert parts_of_one([shirt, (90, 10, 150, 60)])  # just two boxes that overlap: halves of one garment
    beside = (120, 150, 200, 230)
    assert not parts_of_one([shirt, (90, 10, 150, 60), beside])  # 1/3 inside (< 0.5), and a third item
    assert not parts_of_one([shirt, (90, 10, 150, 60), collar])  # a third of a box inside is not a part
    assert parts_of_one([shirt, (90, 10, 150, 60), collar], inside=0.3)
    assert not parts_of_one([shirt, (90, 10, 90, 60), collar])  # an empty box is no part
    assert not parts_of_one([])


def test_a_part_needs_at_least_the_part_inside_share():
    best = (0, 0, 100, 100)
    half_in = (50, 0, 150, 10)  # 500 of its 1000 px inside: exactly PART_INSIDE
    assert PART_INSIDE == 0.5 and share_inside(half_in, best) == PART_INSIDE
    assert parts_of_one([best, half_in, (10, 10, 20, 20)])
    assert not parts_of_one([best, (51, 0, 151, 10), (10, 10, 20, 20)])
