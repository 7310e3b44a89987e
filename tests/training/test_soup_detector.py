"""Weight interpolation of two detector checkpoints: the served weights lie where alpha says, names kept."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")


def test_interpolate_between_the_bundled_detector_and_a_shifted_copy(tmp_path):
    import torch

    from stylist.config import WEIGHTS_DIR
    from training.soup_detector import interpolate

    base = WEIGHTS_DIR / "yolov5n-fashion.pt"
    ckpt = torch.load(base, map_location="cpu", weights_only=False)
    shifted = ckpt["model"].float()
    with torch.no_grad():
        for p in shifted.parameters():
            p.add_(1.0)
    ckpt.update(model=shifted.half(), ema=None)
    tuned = tmp_path / "tuned.pt"
    torch.save(ckpt, tuned)

    out = interpolate(base, tuned, 0.25, tmp_path / "soup.pt")
    soup = torch.load(out, map_location="cpu", weights_only=False)
    ref = torch.load(base, map_location="cpu", weights_only=False)["model"].float().state_dict()
    got = soup["model"].float().state_dict()
    weight = next(k for k in ref if k.endswith("conv.weight"))
    assert torch.allclose(got[weight], ref[weight] + 0.25, atol=2e-2)  # fp16 storage
    assert soup["model"].names == ckpt["model"].names and soup["stylist"]["soup"]["alpha"] == 0.25
    with pytest.raises(ValueError, match="alpha"):
        interpolate(base, tuned, 1.5, tmp_path / "bad.pt")


def test_the_soup_loads_as_a_detector(tmp_path):
    from stylist.config import WEIGHTS_DIR
    from stylist.models.detector import Detector
    from stylist.schema import CLASSES
    from training.soup_detector import interpolate

    base = WEIGHTS_DIR / "yolov5n-fashion.pt"
    out = interpolate(base, base, 0.5, tmp_path / "same.pt")
    assert Detector.from_weights(out).classes == CLASSES
