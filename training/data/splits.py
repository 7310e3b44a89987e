"""One deterministic train/val/test split by product id (and by board signature), shared by every model.

A product's split is a hash of its id, so it never depends on load order, subsets or worker counts:
test boards hold only products (and real layouts) that no model saw in training.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

SPLITS: tuple[str, ...] = ("train", "val", "test")
_TRAIN_PCT, _VAL_PCT = 80, 10  # the rest (10 %) is test


def _bucket(key: str, seed: int) -> int:
    digest = hashlib.sha1(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def split_of(product_id: str, seed: int = 0) -> str:
    """'train' (80 %), 'val' (10 %) or 'test' (10 %) for a product id (or a board signature)."""
    bucket = _bucket(str(product_id), seed)
    if bucket < _TRAIN_PCT:
        return "train"
    return "val" if bucket < _TRAIN_PCT + _VAL_PCT else "test"


def fashion_mnist_ids(split: str, n: int) -> list[str]:
    """Product ids of Fashion-MNIST items: ``fmnist-test-<i>`` for t10k, ``fmnist-train-<i>`` for train."""
    return [f"fmnist-{split}-{i}" for i in range(n)]


def fashion_mnist_split(split: str, root: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Fashion-MNIST items of one of our splits: train/val come from its train split (by id hash), test is t10k.

    t10k is the embedded demo catalog, so the detector's test boards use only catalog items it never saw.
    """
    from training.data.sources import load_fashion_mnist

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    source = "test" if split == "test" else "train"
    images, labels = load_fashion_mnist(source, root=root)
    ids = fashion_mnist_ids(source, len(images))
    if split == "test":
        return images, labels, ids
    keep = [i for i, pid in enumerate(ids) if split_of(pid) == split]
    return images[keep], labels[keep], [ids[i] for i in keep]
