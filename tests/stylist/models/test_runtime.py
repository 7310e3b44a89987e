"""Fast runtimes: each ONNX Runtime model matches its torch original (embeddings cosine ≥ 0.999, boxes IoU ≥ 0.99)."""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest
from PIL import Image

from stylist.config import load_config
from stylist.models import registry, runtime
from stylist.models.detector_settings import nms
from stylist.models.onnx_detector import letterbox
from stylist.protocols import ClipEncoder, CropEmbedder, ItemDetector

COSINE_MIN = 0.999
IOU_MIN = 0.99


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union > 0 else 0.0


def _pictures(n: int, seed: int = 0) -> list[Image.Image]:
    """Blocky colour pictures of varied sizes and aspect ratios (no data needed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w, h = int(rng.integers(90, 700)), int(rng.integers(90, 700))
        arr = np.full((h, w, 3), 240, np.uint8)
        for _ in range(3):
            x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
            arr[y0:y0 + int(rng.integers(30, h)), x0:x0 + int(rng.integers(30, w))] = rng.integers(0, 255, 3)
        out.append(Image.fromarray(arr))
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(torch models, ONNX Runtime models) from the same bundled weights; exports in a private home."""
    home = tmp_path_factory.mktemp("runtime-home")
    base = load_config(env={}, home=home)
    models = {}
    for rt in ("torch", "onnx"):
        cfg = dataclasses.replace(base, runtime=rt, detect_conf=0.05)
        models[rt] = (registry.load_detector(cfg), registry.load_embedder(cfg), registry.load_clip(cfg))
    return models


def test_runtime_choice_and_errors():
    assert runtime.chosen_runtime(load_config(env={"STYLIST_RUNTIME": "torch"})) == "torch"
    assert runtime.chosen_runtime(load_config(env={"STYLIST_RUNTIME": "auto"})) == "onnx"  # onnxruntime installed
    assert runtime.chosen_runtime(load_config(env={"STYLIST_RUNTIME": "onnx", "STYLIST_DEVICE": "cuda"})) == "torch"
    with pytest.raises(ValueError, match="STYLIST_RUNTIME"):
        runtime.chosen_runtime(load_config(env={"STYLIST_RUNTIME": "tensorflow"}))
    assert runtime.cpu_threads(load_config(env={"STYLIST_THREADS": "3"})) == 3
    assert runtime.cpu_threads(load_config(env={})) >= 1


def test_onnx_models_are_really_onnx(pair):
    det, emb, clip = pair["onnx"]
    assert type(det).__name__ == "OnnxDetector"
    assert isinstance(emb.runner, runtime.OrtRunner) and isinstance(clip.image_runner, runtime.OrtRunner)
    assert pair["torch"][1].runner is None and pair["torch"][2].image_runner is None
    for rt in ("torch", "onnx"):  # either runtime serves the interfaces the search relies on
        d, e, c = pair[rt]
        assert isinstance(d, ItemDetector) and isinstance(e, CropEmbedder) and isinstance(c, ClipEncoder), rt


def test_embeddings_match_torch(pair):
    imgs = _pictures(12)
    for k, name in ((1, "autoencoder"), (2, "clip")):
        embed = (lambda m: m.embed(imgs)) if k == 1 else (lambda m: m.embed_images(imgs))
        a, b = embed(pair["torch"][k]), embed(pair["onnx"][k])
        assert a.shape == b.shape
        cos = (a * b).sum(1)
        assert cos.min() >= COSINE_MIN, f"{name}: worst cosine {cos.min():.5f}"
        # and not trivially: different pictures still get different vectors
        assert (a[0] * a[1]).sum() < 0.9999


def test_boxes_match_torch(pair):
    checked = 0
    for img in _pictures(8, seed=1):
        a, b = pair["torch"][0].detect(img), pair["onnx"][0].detect(img)
        assert abs(len(a) - len(b)) <= max(1, len(a) // 10)  # a box right at the threshold may flip
        for d in a:
            if d.score < pair["torch"][0].conf + 0.01:
                continue  # borderline scores can cross the threshold either way
            best = max(b, key=lambda e: _iou(d.box, e.box))
            assert _iou(d.box, best.box) >= IOU_MIN and best.label == d.label
            assert best.score == pytest.approx(d.score, abs=0.01)
            checked += 1
    assert checked >= 5, "the trained detector at conf 0.05 should find boxes on these pictures"


def test_exports_are_reused(pair):
    """A second load finds the cached exports (same weights -> same file), nothing re-exported."""
    files = [pair["onnx"][1].runner.path, pair["onnx"][2].image_runner.path]
    mtimes = [f.stat().st_mtime_ns for f in files]
    home = files[0].parents[2]  # <home>/cache/runtime/<file>
    cfg = dataclasses.replace(load_config(env={}, home=home), runtime="onnx")
    assert registry.load_embedder(cfg).runner.path == files[0]
    assert registry.load_clip(cfg).image_runner.path == files[1]
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert not list(files[0].parent.glob("*.tmp"))  # each export's own work folder was moved in or removed


def test_nms_matches_torchvision():
    torchvision = pytest.importorskip("torchvision")
    import torch

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 200, (300, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 80, (300, 2))], 1).astype(np.float32)
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    ours = nms(boxes, scores, 0.5)
    ref = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).tolist()
    assert ours == ref


def test_letterbox_matches_ultralytics():
    from ultralytics.data.augment import LetterBox

    rgb = np.asarray(_pictures(1, seed=5)[0])
    ours, *_ = letterbox(rgb, 512)
    ref = LetterBox((512, 512), auto=True, stride=32)(image=rgb)
    assert ours.shape[2:] == ref.shape[:2]
    np.testing.assert_allclose(ours[0].transpose(1, 2, 0), ref.astype(np.float32) / 255, atol=1e-6)


def test_numpy_preprocessing_equals_torch_preprocessing(pair):
    """The fast path's numpy batches are the torch path's tensors, value for value."""
    import torch

    imgs = _pictures(5, seed=7)
    emb, clip = pair["onnx"][1], pair["onnx"][2]
    np.testing.assert_allclose(emb.preprocess.batch(imgs), torch.stack([emb.preprocess(i) for i in imgs]).numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(clip._numpy_batch(imgs), torch.stack([clip.preprocess(i) for i in imgs]).numpy(),
                               atol=1e-5)


def test_later_loads_serve_from_the_export_without_torch(pair):
    """Once exported, a new process loads detector, embedder and CLIP from the cache and searches
    without importing torch; the vectors equal the torch model's and the index signature is unchanged."""
    import subprocess
    import sys

    from stylist.models.signature import model_signature

    home = pair["onnx"][1].runner.path.parents[2]
    torch_sig = model_signature(pair["torch"][1], pair["torch"][2])
    imgs = _pictures(3, seed=9)
    for i, im in enumerate(imgs):
        im.save(home / f"p{i}.png")
    code = f"""
import sys, json, numpy as np
from PIL import Image
from stylist.config import load_config
from stylist.models import registry
from stylist.models.signature import model_signature
from pathlib import Path
cfg = load_config(env={{}}, home=Path({str(home)!r})).replace(runtime="onnx", detect_conf=0.05)
det, emb, clip = registry.load_detector(cfg), registry.load_embedder(cfg), registry.load_clip(cfg)
imgs = [Image.open({str(home)!r} + f"/p{{i}}.png").convert("RGB") for i in range(3)]
vecs = emb.embed(imgs)
boxes = [len(det.detect(im)) for im in imgs]
words = clip.embed_texts(["soft leather with stitched trim", "in red"])
looks = clip.embed_images(imgs)
from stylist.labels import head_probs
from stylist.schema import CLASSES
heads = [h.tolist() for h in head_probs(emb, vecs, CLASSES)]
print(json.dumps({{"torch": "torch" in sys.modules, "heads": heads, "types": [type(m).__name__ for m in (det, emb, clip)],
                  "sig": model_signature(emb, clip), "vecs": vecs.tolist(), "boxes": boxes,
                  "words": words.tolist(), "looks": looks.tolist()}}))
"""
    import json
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.getcwd(),
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["types"] == ["OnnxDetector", "OnnxEmbedder", "LazyClip"]
    assert got["torch"] is False
    assert got["sig"] == torch_sig  # an index built with torch still matches
    ref = pair["torch"][1].embed(imgs)
    assert (np.asarray(got["vecs"]) * ref).sum(1).min() >= COSINE_MIN
    assert got["boxes"] == [len(pair["onnx"][0].detect(im)) for im in imgs]
    words = pair["torch"][2].embed_texts(["soft leather with stitched trim", "in red"])
    assert (np.asarray(got["words"]) * words).sum(1).min() >= COSINE_MIN  # words without torch too
    looks = pair["torch"][2].embed_images(imgs)
    assert (np.asarray(got["looks"]) * looks).sum(1).min() >= COSINE_MIN  # and images
    # the category head travels with the export: label fusion gives torch's class probabilities, torch-free
    from stylist.labels import head_probs
    from stylist.schema import CLASSES

    want = np.stack(head_probs(pair["torch"][1], ref, CLASSES))
    assert want.shape == (3, len(CLASSES)) and np.allclose(want.sum(1), 1.0, atol=1e-4)
    assert np.abs(np.asarray(got["heads"]) - want).max() < 1e-3


def test_lazy_clip_loads_torch_only_for_images(pair):
    from stylist.models.fast import LazyClip

    home = pair["onnx"][1].runner.path.parents[2]
    clip = registry.load_clip(load_config(env={}, home=home).replace(runtime="onnx"))
    assert isinstance(clip, LazyClip) and not clip.loaded
    assert clip._text is None  # the ONNX text session opens on first use, not with the model
    assert clip.text_runner is not None and clip.text_runner is clip.text_runner
    assert clip.dim == pair["torch"][2].dim
    texts = ["red dress", "Crimson  sneakers under $50!", "café crème " * 20]
    np.testing.assert_array_equal(clip.text_runner.tokenize(texts), pair["torch"][2].tokenizer(texts).numpy())
    np.testing.assert_allclose(clip.embed_texts(texts), pair["torch"][2].embed_texts(texts), atol=1e-4)
    assert not clip.loaded  # words went through the ONNX text tower
    imgs = _pictures(2, seed=3)
    np.testing.assert_allclose(clip.embed_images(imgs), pair["torch"][2].embed_images(imgs), atol=1e-4)
    assert not clip.loaded  # images too: the export recorded open_clip's preprocessing, checked equal
    assert clip.embed_images([]).shape == (0, clip.dim)
    assert clip.logit_scale == pytest.approx(pair["torch"][2].logit_scale) and clip.loaded  # the rest loads torch


def test_torch_free_clip_preprocessing_equals_open_clips(pair):
    import torch

    from stylist.models.export import _image_preprocess_spec
    from stylist.models.fast import ClipImagePreprocess
    from stylist.models.runtime import clip_image_size

    clip = pair["torch"][2]
    spec = _image_preprocess_spec(clip)
    assert spec is not None and spec["size"] == clip_image_size(clip)
    imgs = _pictures(6, seed=11) + [im.convert("L") for im in _pictures(1, seed=12)]
    imgs += [Image.new("RGB", (300, 7), "red"), Image.new("RGB", (5, 5), "blue")]  # extreme shapes
    np.testing.assert_allclose(ClipImagePreprocess(spec).batch(imgs),
                               torch.stack([clip.preprocess(im.convert("RGB")) for im in imgs]).numpy(), atol=1e-5)


def test_torch_free_preprocessing_equals_the_autoencoders():
    import torch

    from stylist.models.autoencoder import Preprocess
    from stylist.models.fast import SquarePreprocess

    assert issubclass(Preprocess, SquarePreprocess)  # one home for padding and resizing
    imgs = _pictures(6, seed=11)
    for bg in ((255, 255, 255), (0, 0, 0)):
        per_crop = torch.stack([Preprocess(128, bg)(im) for im in imgs]).numpy()  # the torch path, crop by crop
        np.testing.assert_array_equal(SquarePreprocess(128, bg).batch(imgs), per_crop)


@contextlib.contextmanager
def _settings(detectors, **values):
    """Serving settings changed on both runtimes' detectors for one test, restored afterwards."""
    saved = [{k: getattr(d, k) for k in values} for d in detectors]
    try:
        for d in detectors:
            for k, v in values.items():
                setattr(d, k, v)
        yield
    finally:
        for d, old in zip(detectors, saved):
            for k, v in old.items():
                setattr(d, k, v)


def test_second_chance_matches_torch(pair):
    """Nothing reaches an unreachable threshold: both runtimes fall back to the same single best box."""
    dets = (pair["torch"][0], pair["onnx"][0])
    with _settings(dets, conf=0.999, fallback_conf=0.05):
        checked = 0
        for img in _pictures(8, seed=1):
            a, b = dets[0].detect(img), dets[1].detect(img)
            assert len(a) <= 1 and len(b) <= 1
            if a and b and a[0].score > 0.06:  # not right at the second threshold
                assert _iou(a[0].box, b[0].box) >= IOU_MIN and a[0].label == b[0].label
                assert a[0].score < 0.999
                checked += 1
        assert checked >= 3, "these pictures have boxes above 0.05 (see test_boxes_match_torch)"


def test_zoomed_out_look_matches_torch(pair):
    """With the second look at 256 px both runtimes return the same boxes (large ones may come from it)."""
    dets = (pair["torch"][0], pair["onnx"][0])
    with _settings(dets, zoom_imgsz=256, zoom_min_area=0.1):
        checked = 0
        for img in _pictures(8, seed=1):
            a, b = dets[0].detect(img), dets[1].detect(img)
            assert abs(len(a) - len(b)) <= max(1, len(a) // 10)
            for d in a:
                if d.score < dets[0].conf + 0.01:
                    continue
                best = max(b, key=lambda e: _iou(d.box, e.box))
                assert _iou(d.box, best.box) >= IOU_MIN and best.label == d.label
                checked += 1
        assert checked >= 5
