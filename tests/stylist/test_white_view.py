"""The white view of a photographed garment (stylist.white_view): the two views averaged, the setting parsed."""
from __future__ import annotations

import numpy as np
import pytest

from stylist.config import load_config
from stylist.white_view import on_white_models, two_views


def test_two_views_average_an_items_rows_and_leave_the_rest():
    table = {"a": [3.0, 4.0], "b": [0.0, 1.0], "a-white": [4.0, 3.0], "ctx": [1.0, 0.0]}
    calls = []

    def run(images):
        calls.append(list(images))
        return np.array([table[i] for i in images])

    out = two_views(run, ["a", "b", "ctx"], {0: "a-white"}, unit=False)
    assert calls == [["a", "b", "ctx", "a-white"]]  # one batch
    assert np.allclose(out, [[3.5, 3.5], [0.0, 1.0], [1.0, 0.0]])
    unit = two_views(run, ["a", "b"], {0: "a-white"})
    assert np.allclose(unit[0], [np.sqrt(0.5), np.sqrt(0.5)]) and np.allclose(unit[1], [0.0, 1.0])
    assert np.allclose(two_views(run, ["a", "b"], {}), [[3.0, 4.0], [0.0, 1.0]])


def test_on_white_names_only_known_models():
    assert on_white_models("ae, Namer") == {"ae", "namer"} and on_white_models("none") == frozenset()
    with pytest.raises(ValueError, match="STYLIST_ON_WHITE names unknown models \\['clap'\\]"):
        on_white_models("ae,clap")
    assert load_config(env={"STYLIST_ON_WHITE": "ae,clip"}).on_white == "ae,clip"
