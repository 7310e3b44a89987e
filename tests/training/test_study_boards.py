"""The boards study (training.study_boards): the two random halves a change must hold on."""
from __future__ import annotations

from training.study_boards import halves


def test_halves_split_the_boards_in_two_and_count_each_half():
    per_board = [(5, 5, 5)] * 4 + [(5, 0, 10)] * 4  # four perfect boards, four that found nothing
    a, b = halves(per_board, seed=0)
    assert a["boards"] + b["boards"] == 8 and a["boards"] == 4
    total_hit = a["recall"] * a["boards"] * 5 + b["recall"] * b["boards"] * 5
    assert round(total_hit) == 20  # every found item lands in one half
    assert halves(per_board, seed=0) == [a, b]  # the same halves for the same seed
    assert all(0.0 <= h["precision"] <= 1.0 for h in (a, b))


def test_alike_boards_give_alike_halves():
    assert halves([(5, 4, 8)] * 9, seed=3) == [{"boards": 4, "recall": 0.8, "precision": 0.5},
                                                {"boards": 5, "recall": 0.8, "precision": 0.5}]
