"""Fine-tune fashion-lite's image tower so a garment photographed in the world embeds next to its catalog image.

    stylist data dae-pairs --out runs/dae/pairs            # the autoencoder's rendered pairs, shared
    stylist data dae-pairs --out runs/dae/val --split val --items 600 --photo-repeats 1
    stylist train clip world --pairs runs/dae/pairs --val runs/dae/val --out runs/clipworld --minutes 30
    stylist train clip world --export-from runs/clipworld/step-546.pt --export fl.pt --wise 0.3   # WiSE-FT

The CLIP twin of ``training.finetune_autoencoder`` (its pairs, its in-batch InfoNCE, its frozen BatchNorm).
Only the image tower and its projection train; the locked MiniLM text tower, the text projection and the
logit scale stay as bundled. Per step:

* contrastive: a world view (the item on a real floor/bed, cut by a jittered box) or a degraded catalogue
  view ↔ its clean catalog image as the FROZEN starting tower embeds it (in-batch InfoNCE, other views of
  one product not counted as negatives): world crops move to where catalogue-on-white retrieval works;
* anchor: ``2·(1 − cos)`` between the clean image's new embedding and the starting one (first
  ``--anchor-per-batch`` pairs): the catalog index and the text–image alignment — the colour and category
  words, scored against a text tower that never moves — stay in place;
* text: the class prompt the product's zero-shot uses (``stylist.labels.ZERO_SHOT_PROMPT``) through the
  locked text tower, cross-entropy over the classes at the model's logit scale, on world views and real
  CC0 photos (these have no clean view: only this term);
* colour (optional, off by default — see ``ClipWorldConfig.colour_weight``): the product's colour reading
  (``stylist.clip_colours``' family prompts) of the clean image by the starting tower is distilled (KL)
  into the trained tower's reading of the clean image (``--colour-weight``)
  and, optionally, of its world and catalogue views (``--colour-view-weight``, off by default: forcing a
  relit view's reading to the clean one moved the clean reading too; ``training.clip_colour_keep``): the
  contrastive term alone teaches relit views to ignore colour, and the stored colours of products without a
  catalog colour come from that reading.

Inputs are the 128-px rendered squares brought to fashion-lite's 96 px by its own preprocess (longest side,
white pad, OpenAI stats). Stops at ``--minutes`` (wall clock) or ``--epochs``; a checkpoint (fp32, the whole
bundle) every ``--checkpoint-minutes`` as ``out/step-N.pt`` and ``out/last.pt`` so the best by the val
proxies can be picked; ``--export-from`` writes one of them fp16 in the bundled format.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from stylist.clip_colours import CLIP_FAMILIES
from stylist.colors import color_family
from stylist.models.checkpoints import load_checkpoint, save_checkpoint
from stylist.models.clip import create_fashion_lite, trained_state
from stylist.models.fast import OPENAI_MEAN, OPENAI_STD
from stylist.models.registry import get_model_config
from stylist.labels import ZERO_SHOT_PROMPT
from stylist.schema import CLASSES
from training.clip_colour_keep import colour_distillation, colour_log_probs, family_prompts
from training.common import add_dataclass_args, warmup_cosine
from training.data.dae_pairs import PairIndex, load_pairs, load_training_pairs
from training.finetune_autoencoder import freeze_batchnorm
from training.finetune_loop import (Budget, StepLog, contrastive_loss, export_fp16, gallery_recalls, optimizer_step,
                                    val_gallery)
from training.train_clip import pad_resize, colour_prompt


@dataclass
class ClipWorldConfig:
    pairs: str = "runs/dae/pairs"  # rendered training pairs (training.data.dae_pairs, train split)
    val: str = ""  # rendered val-split pairs for the logged proxies ("" = none)
    init: str = ""  # fashion-lite checkpoint to start from (also the teacher); "" = the bundled one
    out: str = "runs/clipworld"
    export: str = ""  # fp16 bundle written at the end (never the bundled file by default)
    minutes: float = 30.0  # wall-clock budget; 0 = epochs only
    epochs: float = 4.0
    batch_size: int = 48  # world/catalog pairs per step
    photos_per_batch: int = 16  # real CC0 photos per step (text term only)
    anchor_per_batch: int = 16  # pairs whose clean view also passes the trained tower
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_steps: int = 20
    contrast_weight: float = 1.0
    anchor_weight: float = 2.0
    text_weight: float = 0.5
    # KL(start's colour reading of the clean image ‖ the trained tower's of it). Off by default: at lr 5e-5 on
    # the real pairs, weight 20 neither held the reading (val KL on clean 0.089 at step 175, 0.078 without the
    # term) nor let the world views learn (world→product R@1 0.58 vs 0.73); only in 31-step low-lr smokes
    # did it help (KL 0.035 → 0.017 at weight 16). What holds colour is the WiSE export (``--wise``).
    colour_weight: float = 0.0
    # the same KL for the views' reading: it moved the clean reading further (smokes: 0.040 with 1 + 1)
    colour_view_weight: float = 0.0
    temperature: float = 0.07
    threads: int = 1
    checkpoint_minutes: float = 4.0
    limit_steps: int = 0  # stop after N steps (tiny runs / tests); 0 = no limit
    export_from: str = ""  # only write --export (fp16) from this checkpoint, e.g. out/step-800.pt
    wise: float = 1.0  # with --export-from: export start + wise·(tuned − start), start = --init or the bundled
    seed: int = 0


class ClipInput:
    """Rendered JPEG squares → fashion-lite's normalised input (its own resize/pad, OpenAI stats)."""

    def __init__(self, size: int):
        self.resize, self.pad = pad_resize(size)
        self.mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)

    def pil(self, blob: bytes) -> Image.Image:
        return self.pad(self.resize(Image.open(io.BytesIO(blob)).convert("RGB"))).convert("RGB")

    def __call__(self, blobs: list[bytes]) -> torch.Tensor:
        arr = np.stack([np.asarray(self.pil(b)) for b in blobs]).transpose(0, 3, 1, 2)
        return (torch.from_numpy(arr.copy()).float().div_(255.0) - self.mean) / self.std


def load_start(init: str) -> tuple[dict, torch.nn.Module, object, torch.Tensor, float]:
    """(checkpoint, open_clip model with its weights, tokenizer, class prompt vectors, logit scale) at the start."""
    from stylist.config import WEIGHTS_DIR

    ckpt = load_checkpoint(init or WEIGHTS_DIR / get_model_config("fashion-lite")["weights"])
    model, _, tokenizer = create_fashion_lite(ckpt["arch"], ckpt["state_dict"])
    model.eval()
    with torch.no_grad():
        classes = F.normalize(model.encode_text(tokenizer([ZERO_SHOT_PROMPT.format(c.lower()) for c in CLASSES])).float(), dim=-1)
    return ckpt, model, tokenizer, classes, float(model.logit_scale.detach().exp())


@torch.no_grad()
def embed(tower: torch.nn.Module, x: torch.Tensor, bs: int = 128) -> torch.Tensor:
    was = tower.training
    tower.eval()
    out = torch.cat([F.normalize(tower(x[i:i + bs]).float(), dim=-1) for i in range(0, len(x), bs)])
    tower.train(was)
    if was:
        freeze_batchnorm(tower)
    return out


class ValProxies:
    """Val-split pairs: world → product and catalogue → product R@1/R@10 (gallery: the val products' clean
    images as the tower being trained embeds them), the clean embeddings' cosine to the start model's,
    zero-shot category on clean images, world views and real photos, zero-shot colour on clean images
    against the colour word read from their pixels (``stylist.colors.dominant_color``), and the product's
    colour-family reading (``stylist.clip_colours``): how often it agrees with the start model's reading of
    the clean image, on the clean image and on the world views, its mean KL from the start's on clean images,
    and its agreement with the pixels' colour family on clean images."""

    def __init__(self, val: dict[str, list], prep: ClipInput, teacher: torch.nn.Module, classes: torch.Tensor,
                 text: torch.nn.Module, tokenizer) -> None:
        from stylist.colors import dominant_color

        kinds = np.array(val["kind"])
        self.kinds, self.labels = kinds, np.array(val["label"])
        self.pairs, first, self.target = val_gallery(val)
        self.photos = np.flatnonzero(kinds == "photo")
        self.clean = prep([val["clean"][i] for i in first])
        self.clean_labels = self.labels[first]
        self.views = prep([val["view"][i] for i in self.pairs])
        self.photo_x = prep([val["view"][i] for i in self.photos])
        self.start_clean = embed(teacher, self.clean)
        colours = [dominant_color(prep.pil(val["clean"][i])) for i in first]
        self.palette = sorted(set(colours))
        self.colour_target = np.array([self.palette.index(c) for c in colours])
        with torch.no_grad():
            self.colour_vectors = F.normalize(text.encode_text(tokenizer(
                [colour_prompt(c, "product") for c in self.palette])).float(), dim=-1)
        self.classes = classes
        self.families = family_prompts(text, tokenizer)
        self.start_family = colour_log_probs(self.start_clean, self.families)
        fam = [color_family(c) for c in colours]
        self.pixel_family = np.array([CLIP_FAMILIES.index(f) if f in CLIP_FAMILIES else -1 for f in fam])

    def __call__(self, tower: torch.nn.Module) -> dict[str, float]:
        gallery = embed(tower, self.clean)
        views = embed(tower, self.views)
        out = gallery_recalls((views @ gallery.t()).numpy(), self.target, self.kinds[self.pairs], keep_absent=True)
        out["val_clean_cos"] = float((gallery * self.start_clean).sum(1).mean())
        zs = lambda e, y: float(((e @ self.classes.t()).argmax(1).numpy() == y).mean())  # noqa: E731
        out["val_zs_cat_clean"] = zs(gallery, self.clean_labels)
        world = self.kinds[self.pairs] == "world"
        out["val_zs_cat_world"] = zs(views[torch.from_numpy(world)], self.labels[self.pairs][world])
        out["val_zs_cat_photo"] = zs(embed(tower, self.photo_x), self.labels[self.photos])
        out["val_zs_colour_clean"] = float(((gallery @ self.colour_vectors.t()).argmax(1).numpy()
                                            == self.colour_target).mean())
        start = self.start_family.argmax(1).numpy()
        clean = colour_log_probs(gallery, self.families)
        out["val_colour_agree_clean"] = float((clean.argmax(1).numpy() == start).mean())
        out["val_colour_agree_world"] = float((colour_log_probs(views[torch.from_numpy(world)], self.families)
                                               .argmax(1).numpy() == start[self.target[world]]).mean())
        out["val_colour_kl_clean"] = float((self.start_family.exp() * (self.start_family - clean)).sum(1).mean())
        known = self.pixel_family >= 0
        out["val_colour_pixels_clean"] = float((clean.argmax(1).numpy()[known] == self.pixel_family[known]).mean())
        return {k: round(v, 4) for k, v in out.items()}


def _save(path: Path, ckpt: dict, model: torch.nn.Module, cfg: ClipWorldConfig, metrics: dict, fp16: bool) -> None:
    """The bundle format (``stylist/weights/fashion-lite.pt``): the LiT-trained parts, the image tower fine-tuned."""
    save_checkpoint(path, kind="clip", arch=ckpt["arch"], state_dict=trained_state(model),
                    train_config={**ckpt.get("train_config", {}), "world": asdict(cfg)}, metrics=metrics, fp16=fp16)


def finetune(cfg: ClipWorldConfig, progress: bool = True) -> dict:
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt, model, tokenizer, classes, scale = load_start(cfg.init)
    prep = ClipInput(ckpt["arch"]["vision_cfg"]["image_size"])
    teacher = copy.deepcopy(model.visual).eval()
    tower = model.visual
    for p in list(teacher.parameters()) + list(model.text.parameters()) + [model.logit_scale]:
        p.requires_grad_(False)
    data = load_training_pairs(cfg.pairs)
    proxies = ValProxies(load_pairs(cfg.val), prep, teacher, classes, model, tokenizer) if cfg.val else None
    families = family_prompts(model, tokenizer)
    opt = torch.optim.AdamW([p for p in tower.parameters()], lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = proxies(tower) if proxies else {}
    tqdm.write(json.dumps({"samples": len(data["kind"]), "start": start}))
    tower.train()
    freeze_batchnorm(tower)
    index = PairIndex.of(data)
    kinds, pair_idx, photo_idx, labels, products = index.kinds, index.pairs, index.photos, index.labels, index.products
    cached: dict[int, torch.Tensor] = {}  # the frozen teacher's clean embeddings (no augmentation: fixed)
    budget = Budget(cfg.minutes, cfg.epochs, cfg.limit_steps)
    cpu0 = time.process_time()
    last_ckpt, step, seen = budget.t0, 0, 0.0
    losses = ["loss", "contrast", "anchor", "text", "colour", "colour_view"]
    log = StepLog(out / "log.csv", ["step", "epoch", "seconds", "cpu_seconds", "lr", *losses, *start], first={"step": 0, "epoch": 0, "seconds": 0, "cpu_seconds": 0, "lr": 0, **start})
    bar = tqdm(desc="fine-tune clip", unit="step", disable=not progress)
    done = False
    while not done:
        lr = warmup_cosine(cfg.lr, step, cfg.warmup_steps, budget.progress(step, seen))
        for g in opt.param_groups:
            g["lr"] = lr
        idx, ph = index.sample(rng, cfg.batch_size, cfg.photos_per_batch)
        a = min(cfg.anchor_per_batch, len(idx))
        todo = [int(j) for j in idx if int(j) not in cached]
        if todo:
            for j, e in zip(todo, embed(teacher, prep([data["clean"][j] for j in todo]))):
                cached[j] = e
        t_clean = torch.stack([cached[int(j)] for j in idx])
        x = prep([data["view"][j] for j in idx] + [data["view"][j] for j in ph] + [data["clean"][j] for j in idx[:a]])
        emb = F.normalize(tower(x).float(), dim=-1)
        e_view, e_photo, e_clean = emb[:len(idx)], emb[len(idx):len(idx) + len(ph)], emb[len(idx) + len(ph):]
        pid = products[idx]
        contrast = contrastive_loss(e_view, t_clean, cfg.temperature, same=pid[:, None] == pid[None, :])
        anchor = 2.0 * (1.0 - (e_clean * t_clean[:a]).sum(1)).mean() if a else torch.zeros(())
        world = torch.from_numpy(kinds[idx] == "world")
        worded = torch.cat([e_view[world], e_photo])
        text = (F.cross_entropy(scale * worded @ classes.t(), torch.cat([labels[idx][world], labels[ph]]))
                if len(worded) else torch.zeros(()))
        target = colour_log_probs(t_clean, families).exp()  # the start's reading of each pair's clean image
        colour = colour_distillation(e_clean, target[:a], families)
        colour_view = colour_distillation(e_view, target, families)
        loss = (cfg.contrast_weight * contrast + cfg.anchor_weight * anchor + cfg.text_weight * text
                + cfg.colour_weight * colour + cfg.colour_view_weight * colour_view)
        optimizer_step(opt, loss, tower.parameters())
        step += 1
        seen += len(idx) / len(pair_idx)
        bar.update(1)
        log.add(zip(losses, (loss, contrast, anchor, text, colour, colour_view)))
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}", contrast=f"{float(contrast.detach()):.3f}")
        done = budget.spent(step, seen)
        if not (done or time.time() - last_ckpt > cfg.checkpoint_minutes * 60):
            continue
        row = log.record(step, {"epoch": round(seen, 3), "seconds": round(time.time() - budget.t0, 1),
                                "cpu_seconds": round(time.process_time() - cpu0, 1), "lr": lr},
                         proxies(tower) if proxies else {})
        _save(out / f"step-{step}.pt", ckpt, model, cfg, row, fp16=False)
        _save(out / "last.pt", ckpt, model, cfg, row, fp16=False)
        last_ckpt = time.time()
    bar.close()
    log.close()
    metrics = log.summary(out, start, step, cpu_seconds=log.history[-1]["cpu_seconds"], pairs=int(len(pair_idx)),
                          photos=int(len(photo_idx)), threads=cfg.threads, device="cpu",
                          init=cfg.init or "bundled fashion-lite")
    if cfg.export:
        _save(Path(cfg.export), ckpt, model, cfg, metrics, fp16=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylist train clip world", description=__doc__.split("\n")[0])
    cfg = ClipWorldConfig(**vars(add_dataclass_args(parser, ClipWorldConfig).parse_args(argv)))
    if cfg.export_from:
        if not cfg.export:
            parser.error("--export-from needs --export")
        from stylist.config import WEIGHTS_DIR

        start = cfg.init or WEIGHTS_DIR / get_model_config("fashion-lite")["weights"]
        export_fp16(cfg.export_from, cfg.export, start, cfg.wise)
        print(f"wrote {cfg.export} (fp16) from {cfg.export_from}" + (f", {cfg.wise} of the way from {start}"
                                                                     if cfg.wise != 1.0 else ""))
        return 0
    print(json.dumps(finetune(cfg), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
