"""Batch-norm re-estimation: the running statistics become the averages of what the weights produce."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")


def _images(folder, n=5):
    import numpy as np
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = np.full((96, 64 + 16 * i, 3), 245, np.uint8)
        y, x = rng.integers(0, 40), rng.integers(0, 30)
        arr[y:y + 50, x:x + 30] = rng.integers(0, 255, 3)
        Image.fromarray(arr).save(folder / f"img_{i}.jpg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_statistics_are_the_averages_over_the_images(tmp_path):
    import torch

    from stylist.config import WEIGHTS_DIR
    from training.reestimate_bn import letterbox, reestimate, sample_images

    ckpt = torch.load(WEIGHTS_DIR / "yolov5n-fashion.pt", map_location="cpu", weights_only=False)
    model = ckpt["model"].float()
    first = model.model[0]  # Conv: conv -> bn -> act
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(50.0)  # drifted far away, as after a free-backbone fine-tune on CPU
            m.running_var.fill_(1e-4)
    ckpt.update(model=model.half(), ema=None)
    drifted = tmp_path / "drifted.pt"
    torch.save(ckpt, drifted)

    images = sample_images(_images(tmp_path / "imgs"), 10)
    assert len(images) == 5 and all(p.suffix == ".jpg" for p in images)
    out = reestimate(drifted, images, tmp_path / "bn.pt", imgsz=128, batch=8)

    x = torch.stack([letterbox(p, 128) for p in images])
    with torch.no_grad():
        z = first.conv.float()(x)
    got = torch.load(out, map_location="cpu", weights_only=False)
    bn = got["model"].float().model[0].bn
    assert torch.allclose(bn.running_mean, z.mean(dim=(0, 2, 3)), atol=2e-2, rtol=1e-2)
    assert torch.allclose(bn.running_var, z.var(dim=(0, 2, 3), unbiased=True), atol=2e-2, rtol=2e-2)
    assert bn.momentum == 0.03 and got["stylist"]["bn_reestimated"]["images"] == 5


def test_the_result_serves_as_a_detector(tmp_path):
    from stylist.config import WEIGHTS_DIR
    from stylist.models.detector import Detector
    from stylist.schema import CLASSES
    from training.reestimate_bn import reestimate, sample_images

    out = reestimate(WEIGHTS_DIR / "yolov5n-fashion.pt", sample_images(_images(tmp_path / "imgs"), 3),
                     tmp_path / "bn.pt", imgsz=128)
    assert Detector.from_weights(out).classes == CLASSES
    with pytest.raises(ValueError, match="no images"):
        sample_images(tmp_path, 3)
