"""fashion-lite's in-the-world fine-tuning: a few steps on made-up pairs, the export loads through the product."""
from __future__ import annotations

import csv
import io
import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from stylist.config import load_config
from stylist.models import load_clip
from stylist.models.checkpoints import load_checkpoint

COLOURS = [(200, 30, 30), (30, 160, 40), (30, 60, 200), (230, 200, 20), (120, 40, 160), (20, 20, 20)]


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def _garment(k: int, background: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Product ``k``: a shape of its own colour and form, drawn on ``background`` at a jittered place."""
    img = background.copy()
    d = ImageDraw.Draw(img)
    x, y = rng.integers(2, 10, 2)
    box = (int(x), int(y), int(x) + 36, int(y) + 40)
    colour = COLOURS[k % len(COLOURS)]
    (d.ellipse if k % 2 else d.rectangle)(box, fill=colour)
    if k >= len(COLOURS):
        d.line((box[0], box[1], box[2], box[3]), fill=(255, 255, 255), width=4)
    return img


def _write_pairs(folder, n_products: int, seed: int) -> None:
    """One shard in ``training.data.dae_pairs``' format: world + catalog views with their clean image, photos."""
    rng = np.random.default_rng(seed)
    white = Image.new("RGB", (48, 48), "white")
    part = {"view": [], "clean": [], "label": [], "product": [], "kind": []}
    for k in range(n_products):
        clean = _jpeg(_garment(k, white, np.random.default_rng(k)))
        for kind in ("world", "world", "catalog"):
            bg = Image.fromarray(rng.integers(60, 200, (48, 48, 3), dtype=np.uint8)) if kind == "world" else white
            part["view"].append(_jpeg(_garment(k, bg, rng)))
            part["clean"].append(clean)
            part["label"].append(k % 4)
            part["product"].append(f"p{k}")
            part["kind"].append(kind)
    for j in range(4):
        bg = Image.fromarray(rng.integers(80, 180, (48, 48, 3), dtype=np.uint8))
        part["view"].append(_jpeg(_garment(j, bg, rng)))
        part["clean"].append(None)
        part["label"].append(j % 4)
        part["product"].append(f"cc0-{j}")
        part["kind"].append("photo")
    folder.mkdir(parents=True)
    (folder / "shard-0000.pkl").write_bytes(pickle.dumps(part))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from training.train_clip import main  # through `stylist train clip world`

    base = tmp_path_factory.mktemp("clipworld")
    _write_pairs(base / "train", 8, 0)
    _write_pairs(base / "val", 6, 1)
    # the colour terms on (off by default) at weights small enough for the contrast to fall on the toy shapes
    rc = main(["world", "--pairs", str(base / "train"), "--val", str(base / "val"), "--out", str(base / "run"),
               "--limit-steps", "8", "--epochs", "100", "--batch-size", "24", "--photos-per-batch", "4", "--anchor-per-batch", "8",
               "--checkpoint-minutes", "0", "--lr", "3e-4", "--warmup-steps", "1", "--export", str(base / "fl.pt"),
               "--colour-weight", "1", "--colour-view-weight", "0.5"])
    assert rc == 0
    return base


def test_contrastive_loss_falls_and_proxies_are_logged(run):
    rows = list(csv.DictReader((run / "run" / "log.csv").open()))
    assert len(rows) == 1 + 8  # the start proxies, then a row (and a checkpoint) per step here
    assert rows[0]["step"] == "0" and rows[0]["val_world_R@10"] and rows[0]["val_zs_colour_clean"]
    assert float(rows[0]["val_colour_agree_clean"]) == 1.0 and abs(float(rows[0]["val_colour_kl_clean"])) < 1e-4
    assert all(float(r[k]) >= 0 for r in rows[1:] for k in ("colour", "colour_view"))  # KL: never below 0
    contrast = [float(r["contrast"]) for r in rows[1:]]
    assert np.mean(contrast[-3:]) < 0.8 * np.mean(contrast[:2])  # the same 24 pairs every step: it must learn them
    metrics = json.loads((run / "run" / "metrics.json").read_text())
    assert metrics["steps"] == 8 and metrics["threads"] == 1 and metrics["start"]["val_clean_cos"] == pytest.approx(1.0, abs=1e-4)
    assert (run / "run" / "step-8.pt").exists()


def test_only_the_image_tower_moves_and_bn_stays_frozen(run):
    from stylist.config import WEIGHTS_DIR

    before = load_checkpoint(WEIGHTS_DIR / "fashion-lite.pt")["state_dict"]
    after = load_checkpoint(run / "fl.pt")["state_dict"]
    assert set(before) == set(after) and after["visual.head.proj.weight"].dtype == torch.float16
    assert torch.equal(before["text.proj.weight"], after["text.proj.weight"])
    assert torch.equal(before["logit_scale"], after["logit_scale"])
    assert not torch.equal(before["visual.head.proj.weight"], after["visual.head.proj.weight"])
    running = [k for k in before if k.endswith("running_mean")]
    assert running and all(torch.equal(before[k], after[k]) for k in running)


def test_export_loads_through_the_product_loader(run):
    env = {"STYLIST_RUNTIME": "torch"}
    tuned = load_clip(load_config(env={**env, "STYLIST_CLIP_PRETRAINED": str(run / "fl.pt")}))
    bundled = load_clip(load_config(env=env))
    words = ["a photo of a red dress", "blue shoes"]
    assert np.allclose(tuned.embed_texts(words), bundled.embed_texts(words), atol=1e-6)  # the text side is locked
    img = [Image.new("RGB", (60, 80), "red")]
    a, b = tuned.embed_images(img), bundled.embed_images(img)
    assert a.shape == (1, 256) and np.isclose(np.linalg.norm(a), 1.0, atol=1e-4)
    assert 0.5 < float(a[0] @ b[0]) < 0.99999  # moved, but stayed near (the anchor)


def test_colour_target_is_the_products_colour_reading():
    """The distilled distribution is the one the index reads: ``ClipColours.probs`` of the product's CLIP vector."""
    from stylist.clip_colours import ClipColours
    from training.clip_colour_keep import colour_log_probs, family_prompts
    from training.finetune_clip import ClipInput, embed, load_start

    ckpt, model, tokenizer, _, _ = load_start("")
    prep = ClipInput(ckpt["arch"]["vision_cfg"]["image_size"])
    rng = np.random.default_rng(0)
    blobs = [_jpeg(_garment(k, Image.new("RGB", (48, 64), "white"), rng)) for k in range(6)]
    ours = colour_log_probs(embed(model.visual, prep(blobs)), family_prompts(model, tokenizer)).exp().numpy()
    clip = load_clip(load_config(env={"STYLIST_RUNTIME": "torch"}))
    theirs = ClipColours(clip, cache_dir=None).probs(clip.embed_images([prep.pil(b) for b in blobs]))
    assert ours.shape == theirs.shape == (6, 12)
    assert np.abs(ours - theirs).max() < 2e-3
    assert len(set(ours.argmax(1))) > 1  # red, green, blue, yellow ... shapes are not all read as one colour


def test_colour_distillation_is_zero_at_the_target_and_pulls_towards_it():
    from training.clip_colour_keep import colour_distillation, colour_log_probs

    g = torch.Generator().manual_seed(0)
    prompts = torch.nn.functional.normalize(torch.randn(12, 16, generator=g), dim=-1)
    start = torch.nn.functional.normalize(torch.randn(5, 16, generator=g), dim=-1)
    target = colour_log_probs(start, prompts).exp()
    assert float(colour_distillation(start, target, prompts)) == pytest.approx(0.0, abs=1e-5)
    assert float(colour_distillation(start[:0], target[:0], prompts)) == 0.0
    moved = torch.nn.functional.normalize(start + 0.5 * torch.randn(5, 16, generator=g), dim=-1).requires_grad_(True)
    kl = colour_distillation(moved, target, prompts)
    p, q = target.numpy(), colour_log_probs(moved, prompts).exp().detach().numpy()
    assert float(kl.detach()) == pytest.approx(float(np.mean((p * np.log(p / q)).sum(1))), rel=1e-4)  # KL(target || moved)
    kl.backward()
    stepped = torch.nn.functional.normalize(moved.detach() - 0.01 * moved.grad, dim=-1)
    assert float(colour_distillation(stepped, target, prompts)) < float(kl.detach())


def test_wise_export_lies_on_the_line_from_the_start(run):
    from stylist.config import WEIGHTS_DIR
    from training.finetune_clip import main

    tuned = load_checkpoint(run / "run" / "step-8.pt")["state_dict"]
    start = load_checkpoint(WEIGHTS_DIR / "fashion-lite.pt")["state_dict"]
    for share in (0.0, 0.5):
        assert main(["--export-from", str(run / "run" / "step-8.pt"), "--export", str(run / f"w{share}.pt"),
                     "--wise", str(share)]) == 0
        got = load_checkpoint(run / f"w{share}.pt")
        assert got["train_config"]["wise"]["share"] == share
        for k in ("visual.head.proj.weight", "visual.trunk.conv_stem.weight"):
            want = start[k].float() + share * (tuned[k].float() - start[k].float())
            assert got["state_dict"][k].dtype == torch.float16
            assert torch.allclose(got["state_dict"][k].float(), want, atol=2e-3, rtol=1e-2)
    moved = load_checkpoint(run / "w0.5.pt")["state_dict"]["visual.head.proj.weight"].float()
    assert not torch.allclose(moved, start["visual.head.proj.weight"].float(), atol=1e-4)
