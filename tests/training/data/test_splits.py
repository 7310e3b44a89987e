"""The product split: deterministic, 80/10/10, disjoint, shared by every model."""
from __future__ import annotations

from collections import Counter

from training.data.splits import SPLITS, fashion_mnist_split, split_of


def test_split_is_deterministic_and_80_10_10():
    ids = [f"product-{k}" for k in range(20_000)]
    first = [split_of(i) for i in ids]
    assert first == [split_of(i) for i in ids]
    counts = Counter(first)
    assert abs(counts["train"] / len(ids) - 0.8) < 0.015
    assert abs(counts["val"] / len(ids) - 0.1) < 0.01 and abs(counts["test"] / len(ids) - 0.1) < 0.01


def test_seed_changes_the_split():
    ids = [f"p{k}" for k in range(500)]
    assert [split_of(i, seed=0) for i in ids] != [split_of(i, seed=1) for i in ids]


def test_fashion_mnist_splits_are_disjoint(tiny_root):
    seen: dict[str, str] = {}
    for split in SPLITS:
        images, labels, ids = fashion_mnist_split(split, tiny_root)
        assert len(images) == len(labels) == len(ids)
        for pid in ids:
            assert pid not in seen, f"{pid} in {seen.get(pid)} and {split}"
            seen[pid] = split
    assert all(pid.startswith("fmnist-test-") for pid, s in seen.items() if s == "test")
    assert all(pid.startswith("fmnist-train-") for pid, s in seen.items() if s != "test")
