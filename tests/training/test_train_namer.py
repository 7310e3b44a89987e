"""The namer's training views: parts stay inside the image and near the garment box; an epoch's plan holds
every photo once plus the asked-for samples of catalog and composite crops."""
from __future__ import annotations

from collections import Counter

import numpy as np

from training.data.namer_data import ImageSet
from training.train_namer import NamerConfig, class_weights, epoch_plan, random_part, view


def _set(kinds: list[str], h: int = 60, w: int = 40) -> ImageSet:
    n = len(kinds)
    rng = np.random.default_rng(0)
    buffer = rng.integers(0, 255, n * h * w * 3, dtype=np.uint8)
    return ImageSet(buffer, np.arange(n, dtype=np.int64) * h * w * 3, np.tile([h, w, 3], (n, 1)).astype(np.int32),
                    np.arange(n, dtype=np.int64) % 13, np.asarray(kinds), np.tile([10, 20, 30, 50], (n, 1)).astype(np.int32))


def test_random_parts_stay_inside_the_image_and_the_grown_box():
    rng = np.random.default_rng(1)
    box = np.array([10, 20, 30, 50], float)  # 20×30, grown 10 % per side → x 8..32, y 17..53
    for _ in range(300):
        x0, y0, x1, y1 = random_part(box, 40, 60, rng, (0.2, 1.0))
        assert 8 <= x0 < x1 <= 32 and 17 <= y0 < y1 <= 53
        area = (x1 - x0) * (y1 - y0)
        assert 0.1 * 24 * 36 <= area <= 24 * 36 + 1


def test_views_cut_what_their_mode_says():
    data = _set(["photo"])
    assert view(data, 0, "whole", None).size == (40, 60)
    assert view(data, 0, "box", None).size == (20, 30)  # the exact box for validation
    assert np.array_equal(np.asarray(view(data, 0, "box", None)), data.image(0)[20:50, 10:30])


def test_epoch_plan_holds_every_photo_once_and_the_samples():
    data = _set(["photo"] * 7 + ["ctl"] * 20 + ["composite"] * 9)
    cfg = NamerConfig(ctl_per_epoch=5, composites_per_epoch=30)
    plan = epoch_plan(data, cfg, 0)
    kinds = Counter(str(data.kinds[i]) for i, _ in plan)
    assert kinds == Counter({"photo": 7, "ctl": 5, "composite": 9})  # composites: all 9 (fewer than asked)
    assert sorted(i for i, _ in plan if data.kinds[i] == "photo") == list(range(7))
    assert plan != epoch_plan(data, cfg, 1) and plan == epoch_plan(data, cfg, 0)


def test_class_weights_follow_the_counts_and_keep_the_loss_size():
    labels = np.array([0] * 16 + [1] * 4 + [3] * 1)  # class 2 has no views
    w = class_weights(labels, 4, 0.5)
    assert w[2] == 0.0
    assert np.isclose(w[1] / w[0], 2.0) and np.isclose(w[3] / w[0], 4.0)  # (16/4)^0.5, (16/1)^0.5
    assert np.isclose(w[labels].mean(), 1.0)  # the mean weight over the views stays 1
    assert np.allclose(class_weights(labels, 4, 0.0)[[0, 1, 3]], 1.0)  # balance 0: the plain loss
    full = class_weights(labels, 4, 1.0)
    assert np.isclose(full[0] * 16, full[1] * 4) and np.isclose(full[1] * 4, full[3])  # each class weighs the same


def test_ensemble_export_writes_one_namer_of_its_members(tmp_path):
    import dataclasses

    import torch

    from stylist.config import load_config
    from stylist.models.checkpoints import load_checkpoint, save_checkpoint
    from stylist.models.namer import ARCH, NamerPreprocess, build_namer, load_namer
    from stylist.schema import CLASSES
    from training.train_namer import export_ensemble

    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        path = tmp_path / f"m{seed}.pt"
        save_checkpoint(path, kind="namer", arch={"name": ARCH, **NamerPreprocess(64).spec()},
                        state_dict=build_namer(len(CLASSES)).state_dict(), classes=list(CLASSES),
                        metrics={"best": {"seed": seed}})
        paths.append(str(path))
    out = tmp_path / "ensemble.pt"
    export_ensemble(NamerConfig(out=str(tmp_path / "run"), ensemble=",".join(paths), export=str(out)))
    ckpt = load_checkpoint(out)
    assert ckpt["arch"]["members"] == 2 and ckpt["metrics"]["members"] == [{"seed": 0}, {"seed": 1}]
    namer = load_namer(dataclasses.replace(load_config(env={}, home=tmp_path), runtime="torch"), out)
    assert len(namer.model.members) == 2 and namer.preprocess.image_size == 64
    from PIL import Image

    probs = namer.probs([Image.new("RGB", (50, 70), (200, 30, 40))])
    assert probs.shape == (1, len(CLASSES)) and np.isclose(probs.sum(), 1.0, atol=1e-4)
