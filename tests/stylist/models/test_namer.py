"""The garment namer: preprocessing, class order, ONNX Runtime equal to torch, serving from the manifest."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from stylist.config import load_config
from stylist.models.checkpoints import bundled_weights, save_checkpoint
from stylist.models.namer import ARCH, NAMER_FILE, GarmentNamer, NamerPreprocess, build_namer, load_namer
from stylist.schema import CLASSES

MAX_ABS_DIFF = 1e-3
VAL_PHOTO_BAR = 0.7  # whole val photos; see stylist/weights/garment-namer.md for the measured value


def _pictures(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w, h = int(rng.integers(20, 300)), int(rng.integers(20, 300))
        out.append(Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)))
    return out


def test_preprocess_pads_square_on_white_and_scales_to_minus_one_one():
    pre = NamerPreprocess(64)
    img = Image.new("RGB", (32, 64), (0, 0, 0))  # a black strip, half as wide as tall
    x = pre.batch([img])
    assert x.shape == (1, 3, 64, 64) and x.dtype == np.float32
    assert np.allclose(x[0, :, :, :8], 1.0)  # white padding on the left → +1
    assert np.allclose(x[0, :, :, 24:40], -1.0)  # the black garment in the middle → −1


def test_probs_come_in_schema_class_order():
    """A model trained with another column order still answers in CLASSES order."""
    shuffled = list(reversed(CLASSES))
    target = "Skirts"
    logits = np.full((1, len(CLASSES)), -5.0, np.float32)
    logits[0, shuffled.index(target)] = 5.0
    namer = GarmentNamer(NamerPreprocess(32), shuffled, runner=lambda batch: np.repeat(logits, len(batch), 0))
    probs = namer.probs(_pictures(3))
    assert probs.shape == (3, len(CLASSES)) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert namer.name_of(_pictures(2)) == [target, target]
    assert namer.probs([]).shape == (0, len(CLASSES))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A randomly initialised namer saved as a stylist checkpoint (fp16, like the bundled one)."""
    import torch

    torch.manual_seed(0)
    model = build_namer(len(CLASSES)).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so the export must carry them right
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("namer") / "namer.pt"
    save_checkpoint(path, kind="namer", arch={"name": ARCH, **NamerPreprocess(96).spec()},
                    state_dict=model.state_dict(), classes=list(CLASSES))
    return path


def test_onnx_runtime_matches_torch_and_serves_from_the_manifest(random_weights, tmp_path):
    base = load_config(env={}, home=tmp_path)
    torch_namer = load_namer(dataclasses.replace(base, runtime="torch"), random_weights)
    onnx_namer = load_namer(dataclasses.replace(base, runtime="onnx"), random_weights)
    assert torch_namer.runner is None and onnx_namer.runner is not None
    assert onnx_namer.preprocess.image_size == 96
    pics = _pictures(5)
    expected = torch_namer.probs(pics)
    assert float(np.abs(onnx_namer.probs(pics) - expected).max()) <= MAX_ABS_DIFF
    # a later process: the manifest alone (no torch model is built)
    again = load_namer(dataclasses.replace(base, runtime="onnx"), random_weights)
    assert again.model is None
    assert float(np.abs(again.probs(pics) - expected).max()) <= MAX_ABS_DIFF
    # batch 1 equals a batch of 5 row for row
    assert float(np.abs(again.probs(pics[:1]) - expected[:1]).max()) <= MAX_ABS_DIFF


def test_flip_averages_each_crop_with_its_mirror_image(random_weights, tmp_path):
    from PIL import ImageOps

    namer = load_namer(load_config(env={}, home=tmp_path, runtime="torch"), random_weights)
    rng = np.random.default_rng(1)  # square at the namer's size: no padding or resizing to break the symmetry
    pics = [Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)) for _ in range(3)]
    namer.flip = False
    plain, mirrored = namer.probs(pics), namer.probs([ImageOps.mirror(p) for p in pics])
    assert float(np.abs(plain - mirrored).max()) > 1e-3  # the random network does see left from right
    namer.flip = True
    both = namer.probs(pics)
    assert np.allclose(both, (plain + mirrored) / 2, atol=1e-5) and np.allclose(both.sum(1), 1.0, atol=1e-5)
    assert np.allclose(namer.probs([ImageOps.mirror(p) for p in pics]), both, atol=1e-5)  # orientation-free


def test_an_ensemble_answers_its_members_mean_and_loads_from_its_checkpoint(random_weights, tmp_path):
    import torch

    from stylist.models.namer import ensemble, namer_from_checkpoint
    from stylist.models.checkpoints import load_checkpoint

    first, pre, _ = namer_from_checkpoint(load_checkpoint(random_weights))
    torch.manual_seed(1)
    second = build_namer(len(CLASSES)).eval()
    both = ensemble([first, second]).eval()
    x = torch.from_numpy(pre.batch(_pictures(3, seed=2)))
    with torch.inference_mode():
        mean = (first(x).softmax(-1) + second(x).softmax(-1)) / 2
        assert torch.allclose(both(x).softmax(-1), mean, atol=1e-5)
    path = tmp_path / "ensemble.pt"
    save_checkpoint(path, kind="namer", arch={"name": ARCH, "members": 2, **pre.spec()},
                    state_dict=both.state_dict(), classes=list(CLASSES))
    base = load_config(env={}, home=tmp_path)
    served = load_namer(dataclasses.replace(base, runtime="torch"), path)
    onnx = load_namer(dataclasses.replace(base, runtime="onnx"), path)
    expected = mean.numpy()  # fp16 weights in the checkpoint: close, not equal
    assert float(np.abs(served.probs(_pictures(3, seed=2)) - expected).max()) < 0.02
    assert float(np.abs(onnx.probs(_pictures(3, seed=2)) - served.probs(_pictures(3, seed=2))).max()) <= MAX_ABS_DIFF


def test_rejects_a_checkpoint_of_another_kind(tmp_path):
    path = tmp_path / "other.pt"
    save_checkpoint(path, kind="embedder", arch={}, state_dict={}, classes=list(CLASSES))
    with pytest.raises(ValueError, match="namer"):
        load_namer(load_config(env={}, home=tmp_path, runtime="torch"), path)


def test_bundled_weights_exist_and_are_small():
    path = bundled_weights(NAMER_FILE)
    assert path.exists(), "stylist/weights/garment-namer.pt is bundled"
    assert path.stat().st_size <= 16 * 2**20  # two EfficientNet-Lite0 members, fp16


def test_bundled_namer_names_real_val_photos(shared_data, tmp_path):
    """The bundled weights on 40 held-out (val split) CC0 photos, whole: most are named right. The bar sits
    well under the measured val accuracy (model card) and far over chance and over the old fused label."""
    from stylist.schema import CLOTHING_CLASS_MAP
    from training.data.sources import load_clothing
    from training.data.splits import split_of

    photos = sorted((p for p in load_clothing(shared_data) if split_of(p.path.stem) == "val"
                     and p.label in CLOTHING_CLASS_MAP), key=lambda p: p.path.name)[:40]
    namer = load_namer(load_config(env={}, home=tmp_path, runtime="torch"))
    imgs = []
    for p in photos:
        with Image.open(p.path) as im:
            imgs.append(im.convert("RGB"))
    names = namer.name_of(imgs)
    accuracy = np.mean([n == CLOTHING_CLASS_MAP[p.label] for n, p in zip(names, photos)])
    assert accuracy >= VAL_PHOTO_BAR, (accuracy, list(zip(names, [p.label for p in photos])))
