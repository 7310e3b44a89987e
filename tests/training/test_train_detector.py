"""The detector training entry point runs end to end on a tiny made-up board set, offline, and exports."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from stylist.schema import CLASSES


def make_boards(root, n_train: int = 4, n_val: int = 2, size: int = 64):
    """White boards with one coloured rectangle each, labelled as class 0 or 3, in ultralytics' layout."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("val", n_val), ("test", n_val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            arr = np.full((size, size, 3), 255, np.uint8)
            x0, y0 = rng.integers(4, size // 2, 2)
            w, h = rng.integers(12, size // 2 - 2, 2)
            arr[y0:y0 + h, x0:x0 + w] = rng.integers(0, 200, 3)
            Image.fromarray(arr).save(root / "images" / split / f"b{i}.jpg")
            cls = 0 if i % 2 else 3
            (root / "labels" / split / f"b{i}.txt").write_text(
                f"{cls} {(x0 + w / 2) / size} {(y0 + h / 2) / size} {w / size} {h / size}\n")
    spec = {"path": str(root), "train": "images/train", "val": "images/val", "test": "images/test",
            "nc": len(CLASSES), "names": dict(enumerate(CLASSES))}
    (root / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root / "data.yaml"


@pytest.mark.timeout(300)
def test_train_detector_one_epoch_exports_a_loadable_model(tmp_path, stylist_home):
    from training.train_detector import main

    data = make_boards(tmp_path / "boards")
    export = tmp_path / "weights" / "det.pt"
    rc = main(["--data", str(data), "--imgsz", "64", "--epochs", "1", "--batch", "2", "--workers", "0",
               "--cache", "", "--out", str(tmp_path / "run"), "--export", str(export)])
    assert rc == 0 and export.exists()
    assert (tmp_path / "run" / "results.csv").exists()
    from stylist.models.detector import Detector
    import torch

    det = Detector.from_weights(export, imgsz=64, conf=0.001)
    assert det.classes == CLASSES
    assert isinstance(det.detect(Image.new("RGB", (80, 60), "white")), list)
    meta = torch.load(export, map_location="cpu", weights_only=False)["stylist"]
    assert set(meta["metrics"]) >= {"val", "test"} and "mAP50" in meta["metrics"]["test"]


def test_use_cpu_threads_sets_the_threads_ultralytics_trains_with():
    """ultralytics' CPU device selection resets torch's threads; with use_cpu_threads(n) it sets n."""
    import torch
    import ultralytics.utils.torch_utils as torch_utils

    from training.train_detector import use_cpu_threads

    before_setting, before_torch = torch_utils.NUM_THREADS, torch.get_num_threads()
    try:
        use_cpu_threads(0)
        assert torch_utils.NUM_THREADS == before_setting
        use_cpu_threads(3)
        torch_utils.select_device("cpu", verbose=False)
        assert torch.get_num_threads() == 3
    finally:
        torch_utils.NUM_THREADS = before_setting
        torch.set_num_threads(before_torch)
