"""The per-photo memo (stylist.photo_memo): each picture's own answers, bounded, freed with the picture."""
from __future__ import annotations

import gc
import threading

import numpy as np
from PIL import Image

from stylist.photo_memo import PhotoMemo


def _picture(shade: int) -> Image.Image:
    return Image.new("RGB", (8, 8), (shade, shade, shade))


def _mean(img: Image.Image) -> float:
    """An answer that depends on the picture's pixels, computed independently of the memo."""
    return float(np.asarray(img)[..., 0].mean())


def test_interleaved_pictures_each_get_their_own_answer_computed_once():
    memo, calls = PhotoMemo(), []
    a, b = _picture(10), _picture(200)

    def mean_of(img):
        calls.append(img)
        return _mean(img)

    answers = [memo.once(p, "mean", lambda p=p: mean_of(p)) for p in (a, b, a, b, a)]
    assert answers == [10.0, 200.0, 10.0, 200.0, 10.0]
    assert [c is a for c in calls] == [True, False]  # each computed once: the other picture evicted nothing
    assert memo.get(a, "other") is None and memo.get(_picture(10), "mean") is None  # an equal picture is another


def test_none_is_an_answer_kept_like_any_other():
    memo, calls = PhotoMemo(), []
    a = _picture(1)
    assert memo.once(a, "box", lambda: calls.append(1)) is None
    assert memo.once(a, "box", lambda: calls.append(1)) is None and calls == [1]


def test_only_the_last_pictures_are_kept_and_each_keeps_a_bounded_number_of_answers():
    memo = PhotoMemo(photos=2, answers=3)
    a, b, c = _picture(1), _picture(2), _picture(3)
    memo.put(a, "k", "a")
    memo.put(b, "k", "b")
    assert memo.get(a, "k") == "a"  # a is now the most recently used
    memo.put(c, "k", "c")  # b, the least recently used, goes
    assert len(memo) == 2 and memo.get(b, "k") is None and memo.get(a, "k") == "a" and memo.get(c, "k") == "c"
    for i in range(5):
        memo.put(a, i, i)
    assert [memo.get(a, i) for i in range(5)] == [0, 1, None, None, None]  # "k" + two more: full
    memo.put(a, "k", "again")  # a kept key can still be updated
    assert memo.get(a, "k") == "again"


def test_a_freed_pictures_answers_go_and_a_new_picture_never_gets_them():
    memo = PhotoMemo(photos=4)
    for shade in range(200):  # CPython reuses a freed picture's memory (and id) for the next one at once
        p = _picture(shade)
        assert memo.get(p, "mean") is None
        assert memo.once(p, "mean", lambda: _mean(p)) == shade
        del p
    gc.collect()
    keep = _picture(7)
    memo.put(keep, "mean", 7.0)
    assert len(memo) == 1  # the freed pictures' entries were dropped, not just evicted


def test_many_threads_with_interleaved_pictures_get_only_their_own_answers():
    memo = PhotoMemo(photos=3)
    pictures = [_picture(s) for s in (5, 50, 100, 150, 250)]  # more pictures than kept: evictions happen
    wrong: list[tuple] = []

    def shopper(k: int) -> None:
        for i in range(300):
            p = pictures[(k + i) % len(pictures)]
            got = memo.once(p, "mean", lambda: _mean(p))
            if got != _mean(p):
                wrong.append((k, i, got))

    threads = [threading.Thread(target=shopper, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and len(memo) <= 3
