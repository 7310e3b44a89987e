"""Train the garment namer (``stylist.models.namer``): EfficientNet-Lite0 from ImageNet, fine-tuned on CPU.

    stylist train namer --out runs/namer --export stylist/weights/garment-namer.pt

Sized for 2 shared CPU cores: the stem and first blocks stay ImageNet (frozen) and each augmented view passes
through them ONCE (``--rounds`` views per training image, cached under ``<out>/feats-b*``, which a rerun
reuses); then the classifier is trained on pooled features, then the last blocks + head on the cached maps, with
``<out>/last.pt`` written after every epoch (``--resume true`` continues from it).

Each round of views holds every CC0 training photo once — whole, as its GrabCut box (jittered), or as a random part of
it (scale 0.2–1 of the box: detector boxes often hold only a sleeve or a pocket) — plus a sample of CTL
catalog crops and of composite crops (catalog items on real backgrounds), all augmented (flip, mild colour
jitter, small rotation, blur, low resolution). Validation per epoch: (a) whole val photos, (b) their GrabCut
boxes, (c) fixed random parts of them, (d) CTL val crops, (e) val composite crops. The epoch with the best
mean of (a)–(d) is exported (fp16). The test split is never read here.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter
from tqdm import tqdm

from stylist.config import load_config
from stylist.models.checkpoints import save_checkpoint
from stylist.models.namer import ARCH, IMAGE_SIZE, NamerPreprocess, build_namer
from stylist.schema import CLASSES
from training.common import add_dataclass_args, warmup_cosine
from training.data.namer_data import ImageSet, build_sets

PHOTO_MODES = ("whole", "box", "part")
VAL_SETS = ("a_photo_whole", "b_photo_box", "c_photo_part", "d_ctl", "e_composite")
SELECT_ON = VAL_SETS[:4]
SPLIT_AT = 5  # blocks[:5] stay ImageNet (frozen, cached once per view, 112×8×8 at 128 px); the rest is trained


@dataclass
class NamerConfig:
    out: str = "runs/namer"  # run dir: data cache, last.pt, best.pt, log.jsonl
    data: str = ""  # data cache dir (default <out>/data)
    root: str = ""  # shared data root (default: ../shared/data)
    val_boxes: str = ""  # cached GrabCut boxes of the val photos (default <STYLIST_HOME>/cache/wild-boxes-val.jsonl)
    export: str = ""  # write the best epoch here (fp16 stylist checkpoint)
    stage: str = "all"  # extract (image caches + trunk features only) | all (then train)
    resume: bool = False  # continue training after the last finished epoch (<out>/last.pt)
    rounds: int = 3  # augmented views of every training image (one round = one pass of the epoch plan)
    head_epochs: int = 30  # stage 1: the classifier alone on pooled features
    head_lr: float = 3e-3
    epochs: int = 3  # stage 2: blocks[train_from:], conv_head and classifier on cached trunk features
    train_from: int = SPLIT_AT  # first block trained in stage 2 (SPLIT_AT..6); earlier ones run frozen
    ctl_per_epoch: int = 1500
    composites_per_epoch: int = 800
    photo_limit: int = 0  # >0: only this many photos (smoke runs)
    ctl_limit: int = 0  # >0: only this many CTL train crops in the cache
    composites: int = 1500  # composite boards rendered into the train cache
    batch: int = 64
    lr: float = 5e-4
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    balance: float = 0.0  # loss weight of class c ∝ (views of c)^-balance: 0 none, 0.5 sqrt-inverse, 1 balanced
    ensemble: str = ""  # comma-separated namer checkpoints: instead of training, write their ensemble to --export
    image_size: int = IMAGE_SIZE
    threads: int = 2
    seed: int = 0


# --- views and augmentation ------------------------------------------------------------------------
def _clip_box(b: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(v)) for v in b)
    x0, y0 = max(0, min(x0, w - 2)), max(0, min(y0, h - 2))
    return x0, y0, max(x0 + 2, min(x1, w)), max(y0 + 2, min(y1, h))


def random_part(box: np.ndarray, w: int, h: int, rng: np.random.Generator, scale: tuple[float, float]) -> tuple:
    """A random sub-rectangle of ``box`` (grown 10 %) holding ``scale`` of its area, aspect 3/4–4/3."""
    x0, y0, x1, y1 = box.astype(float)
    gx, gy = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
    x0, y0, x1, y1 = max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx), min(h, y1 + gy)
    bw, bh = x1 - x0, y1 - y0
    area = bw * bh * rng.uniform(*scale)
    ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw, ch = min(bw, np.sqrt(area * ratio)), min(bh, np.sqrt(area / ratio))
    cx, cy = x0 + rng.uniform(0, bw - cw), y0 + rng.uniform(0, bh - ch)
    return _clip_box(np.array([cx, cy, cx + cw, cy + ch]), w, h)


def view(data: ImageSet, i: int, mode: str, rng: np.random.Generator) -> Image.Image:
    """The crop a training step (or a fixed val view) sees of image ``i``."""
    arr = data.image(i)
    h, w = arr.shape[:2]
    box = data.boxes[i].astype(float)
    if mode == "whole":
        rect = (0, 0, w, h)
    elif mode == "box":  # jittered in training, exact for validation (rng None)
        bw, bh = box[2] - box[0], box[3] - box[1]
        jitter = 0 if rng is None else rng.uniform(-0.08, 0.08, 4) * np.array([bw, bh, bw, bh])
        rect = _clip_box(box + jitter, w, h)
    elif mode == "part":
        rect = random_part(box, w, h, rng, (0.2, 1.0))
    elif mode == "crop_part":  # a catalog crop cut by a loose detector box
        rect = random_part(np.array([0, 0, w, h], float), w, h, rng, (0.5, 1.0))
    else:
        raise ValueError(mode)
    x0, y0, x1, y1 = rect
    return Image.fromarray(np.ascontiguousarray(arr[y0:y1, x0:x1]))


def augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Flip, mild colour jitter, small rotation, blur or low resolution (what a phone or a detector crop adds)."""
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        if rng.random() < 0.6:
            img = enhancer(img).enhance(rng.uniform(0.8, 1.2))
    if rng.random() < 0.3:
        img = img.rotate(rng.uniform(-12, 12), Image.BILINEAR, expand=True, fillcolor=(255, 255, 255))
    r = rng.random()
    if r < 0.15:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    elif r < 0.3:
        side = max(img.size)
        small = rng.uniform(24, 64)
        if side > small:
            s = small / side
            img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.BILINEAR)
    return img


def epoch_plan(train: ImageSet, cfg: NamerConfig, epoch: int) -> list[tuple[int, str]]:
    """(image index, view mode) for one epoch, shuffled: every photo once, a sample of CTL and composites."""
    rng = np.random.default_rng([cfg.seed, 100, epoch])
    plan: list[tuple[int, str]] = []
    for kind, n, modes, p in (("photo", None, PHOTO_MODES, (0.25, 0.35, 0.4)),
                              ("ctl", cfg.ctl_per_epoch, ("whole", "crop_part"), (0.75, 0.25)),
                              ("composite", cfg.composites_per_epoch, ("whole", "crop_part"), (0.8, 0.2))):
        idx = np.flatnonzero(train.kinds == kind)
        if n is not None and len(idx):
            idx = rng.choice(idx, min(n, len(idx)), replace=False)
        plan += [(int(i), str(rng.choice(modes, p=p))) for i in idx]
    order = rng.permutation(len(plan))
    return [plan[i] for i in order]


def val_views(val: ImageSet, pre: NamerPreprocess, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The fixed validation sets as (uint8 N×S×S×3, labels)."""
    rng = np.random.default_rng([seed, 7])
    out = {}
    for name, kind, mode in (("a_photo_whole", "photo", "whole"), ("b_photo_box", "photo", "box"),
                             ("c_photo_part", "photo", "part"), ("d_ctl", "ctl", "whole"),
                             ("e_composite", "composite", "whole")):
        idx = np.flatnonzero(val.kinds == kind)
        if not len(idx):
            continue
        imgs = [np.asarray(pre.square(view(val, int(i), mode, rng if mode == "part" else None))) for i in idx]
        out[name] = (np.stack(imgs), val.labels[idx])
    return out


# --- training on cached trunk features ----------------------------------------------------------------
def trunk(model, x):
    """The frozen ImageNet part: stem and blocks[:SPLIT_AT]."""
    x = model.bn1(model.conv_stem(x))
    for block in model.blocks[:SPLIT_AT]:
        x = block(x)
    return x


def top_features(model, f, train_from: int = SPLIT_AT):
    """From cached trunk features to the pooled 1280-d features: blocks[SPLIT_AT:], conv_head, bn2, pool.
    Blocks before ``train_from`` run without gradients (frozen too, when the CPU allows less training)."""
    import torch

    with torch.no_grad():
        for block in model.blocks[SPLIT_AT:train_from]:
            f = block(f)
    for block in model.blocks[train_from:]:
        f = block(f)
    return model.global_pool(model.bn2(model.conv_head(f)))


def top_modules(model, stage: str, train_from: int) -> list:
    """The modules a stage trains: the classifier alone, or the last blocks from ``train_from`` and the head."""
    if stage == "head":
        return [model.classifier]
    return [*model.blocks[train_from:], model.conv_head, model.bn2, model.classifier]


def extract(model, images: list[np.ndarray], pre: NamerPreprocess, desc: str, batch: int = 32):
    """(trunk features fp16, pooled ImageNet features fp16 N×1280) of square uint8 images."""
    import torch

    model.eval()
    feats, pooled = [], []
    with torch.inference_mode():
        for s in tqdm(range(0, len(images), batch), desc=desc, unit="batch"):
            f = trunk(model, torch.from_numpy(pre.normalise(np.stack(images[s:s + batch]))))
            feats.append(f.half().numpy())
            pooled.append(top_features(model, f).half().numpy())
    return np.concatenate(feats), np.concatenate(pooled)


def extract_round(model, train_set: ImageSet, cfg: NamerConfig, pre: NamerPreprocess, r: int, path: Path) -> None:
    """One augmented view of every image in round ``r``'s plan, through the frozen trunk, saved to ``path``."""
    rng = np.random.default_rng([cfg.seed, 200, r])
    plan = epoch_plan(train_set, cfg, r)
    imgs = [np.asarray(pre.square(augment(view(train_set, i, m, rng), rng))) for i, m in
            tqdm(plan, desc=f"round {r} views", unit="img")]
    feats, pooled = extract(model, imgs, pre, f"round {r} trunk")
    idx = np.asarray([i for i, _ in plan])
    np.savez(path, feats=feats, pooled=pooled, labels=train_set.labels[idx], kinds=train_set.kinds[idx],
             modes=np.asarray([m for _, m in plan]))


def pool_all(model, feats: np.ndarray, batch: int = 256):
    """Pooled features of cached trunk features with the current (frozen) top, float32 torch."""
    import torch

    model.eval()
    with torch.inference_mode():
        return torch.cat([top_features(model, torch.from_numpy(feats[s:s + batch]).float())
                          for s in range(0, len(feats), batch)])


def evaluate(model, val: dict, pooled: dict | None = None) -> dict[str, float]:
    """Accuracy per val set; with ``pooled`` (the top unchanged: head stage) only the classifier runs."""
    import torch

    model.eval()
    res = {}
    with torch.inference_mode():
        for name, (feats, labels) in val.items():
            z = pooled[name] if pooled is not None else pool_all(model, feats)
            hit = model.classifier(z).argmax(1).numpy() == labels
            res[name] = round(float(hit.mean()), 4)
            if name.startswith(("a_", "b_")):  # macro: mean over the garment classes present
                res[f"{name}_macro"] = round(float(np.mean([hit[labels == c].mean() for c in np.unique(labels)])), 4)
    res["select"] = round(float(np.mean([res[k] for k in SELECT_ON if k in res])), 4)
    return res


def class_weights(labels: np.ndarray, n_classes: int, balance: float) -> np.ndarray:
    """Loss weight per class ∝ count^-balance, scaled so the mean weight over the training views is 1 (the
    loss keeps its size); classes without views get weight 0. Most CC0 training photos are tops, and an
    unweighted loss learns "when unsure, say Shirts & Tops" (dresses and coats were called tops)."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    w = np.where(counts > 0, np.maximum(counts, 1.0) ** -balance, 0.0)
    return w * len(labels) / float((w * counts).sum())


def _checkpoint_args(model, cfg: NamerConfig, pre: NamerPreprocess, metrics: dict) -> dict:
    return {"kind": "namer", "arch": {"name": ARCH, "frozen_blocks": SPLIT_AT, "trained_from_block": cfg.train_from,
                                       **pre.spec()},
            "state_dict": model.state_dict(), "train_config": asdict(cfg), "classes": list(CLASSES), "metrics": metrics}


def _feature_sets(cfg: NamerConfig, out: Path, model, pre: NamerPreprocess):
    """Build (once) the image caches, the val features and ``cfg.rounds`` rounds of train features."""
    config = load_config()
    val_boxes = Path(cfg.val_boxes) if cfg.val_boxes else config.cache_dir / "wild-boxes-val.jsonl"
    smoke = bool(cfg.photo_limit)
    train_path, val_path = build_sets(cfg.root or None, Path(cfg.data) if cfg.data else out / "data", val_boxes,
                                      photo_limit=cfg.photo_limit or None, ctl_limit=cfg.ctl_limit or None,
                                      composites=cfg.composites, val_composites=20 if smoke else 150,
                                      val_ctl=60 if smoke else 600, seed=cfg.seed)
    train_set = ImageSet.load(train_path)
    feats_dir = out / f"feats-b{SPLIT_AT}"
    feats_dir.mkdir(parents=True, exist_ok=True)
    val_file = feats_dir / "val.npz"
    if not val_file.exists():
        views = val_views(ImageSet.load(val_path), pre, cfg.seed)
        arrays = {}
        for name, (imgs, labels) in views.items():
            arrays[f"{name}__feats"], _ = extract(model, list(imgs), pre, f"val {name}")
            arrays[f"{name}__labels"] = labels
        np.savez(val_file, **arrays)
    with np.load(val_file) as z:
        val = {name: (z[f"{name}__feats"], z[f"{name}__labels"]) for name in VAL_SETS if f"{name}__feats" in z}
    for r in range(cfg.rounds):
        path = feats_dir / f"train-r{r}.npz"
        if not path.exists():
            t0, c0 = time.time(), time.process_time()
            extract_round(model, train_set, cfg, pre, r, path)
            print(json.dumps({"round": r, "wall_s": round(time.time() - t0, 1),
                              "cpu_s": round(time.process_time() - c0, 1), "load1": round(os.getloadavg()[0], 2)}))
    return val, feats_dir


def train(cfg: NamerConfig) -> dict:
    import torch

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    pre = NamerPreprocess(cfg.image_size)
    model = build_namer(len(CLASSES), imagenet=True)
    val, feats_dir = _feature_sets(cfg, out, model, pre)
    if cfg.stage == "extract":
        return {"best": None}
    rounds = [np.load(feats_dir / f"train-r{r}.npz") for r in range(cfg.rounds) if (feats_dir / f"train-r{r}.npz").exists()]
    feats = np.concatenate([z["feats"] for z in rounds])
    labels = torch.from_numpy(np.concatenate([z["labels"] for z in rounds]))
    print(json.dumps({"train_views": len(labels), "rounds": len(rounds), "val": {k: len(v[1]) for k, v in val.items()}}))
    weights = class_weights(labels.numpy(), len(CLASSES), cfg.balance)
    print(json.dumps({"class_weights": dict(zip(CLASSES, np.round(weights, 3).tolist()))}))
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(weights).float(), label_smoothing=cfg.label_smoothing)
    history, best, step, done = [], None, 0, (-1, -1)
    if cfg.resume and (out / "last.pt").exists():  # continue after the last finished epoch
        state = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        history, best, step, done = state["history"], state["best"], state["step"], tuple(state["done"])
        print(f"resumed after phase {done[0]} epoch {done[1]}")
    log = (out / "log.jsonl").open("a" if cfg.resume else "w", encoding="utf-8")
    # stage 1: the new classifier alone on the pooled ImageNet features (cheap: no conv runs)
    pooled = torch.from_numpy(np.concatenate([z["pooled"] for z in rounds])).float()
    val_pooled = {name: pool_all(model, f) for name, (f, _) in val.items()}
    phases = [("head", cfg.head_epochs, cfg.head_lr), ("top", cfg.epochs, cfg.lr)]
    for phase, (stage, epochs, base_lr) in enumerate(phases):
        if phase < done[0] or (phase == done[0] and done[1] >= epochs - 1):
            continue
        modules = top_modules(model, stage, cfg.train_from)
        params = [p for m in modules for p in m.parameters()]
        for p in model.parameters():
            p.requires_grad = False
        for p in params:
            p.requires_grad = True
        opt = torch.optim.AdamW(params, lr=base_lr, weight_decay=cfg.weight_decay)
        if phase == done[0]:
            opt.load_state_dict(state["opt"])
        steps = -(-len(labels) // cfg.batch)
        for epoch in range(done[1] + 1 if phase == done[0] else 0, epochs):
            model.eval()
            for m in modules:
                m.train()
            g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch + (0 if stage == "head" else 500))
            order = torch.randperm(len(labels), generator=g)
            t0, c0 = time.time(), time.process_time()
            losses, correct = [], 0
            bar = tqdm(range(0, len(order), cfg.batch), desc=f"{stage} {epoch}", unit="batch", mininterval=5)
            for k, s in enumerate(bar):
                idx = order[s:s + cfg.batch]
                lr = warmup_cosine(base_lr, k + epoch * steps, steps // 4, (k + epoch * steps) / (epochs * steps))
                for grp in opt.param_groups:
                    grp["lr"] = lr
                if stage == "head":
                    logits = model.classifier(pooled[idx])
                else:
                    f = torch.from_numpy(feats[idx.numpy()]).float()
                    flip = torch.rand(len(f)) < 0.5  # the feature map mirrored ≈ a mirrored photo
                    f[flip] = f[flip].flip(-1)
                    logits = model.classifier(top_features(model, f, cfg.train_from))
                loss = loss_fn(logits, labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                losses.append(float(loss.detach()))
                correct += int((logits.argmax(1) == labels[idx]).sum())
            bar.close()
            res = evaluate(model, val, val_pooled if stage == "head" else None)
            row = {"stage": stage, "epoch": epoch, "step": step, "train_loss": round(float(np.mean(losses)), 4),
                   "train_acc": round(correct / len(labels), 4), "views": len(labels),
                   "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
                   "load1": round(os.getloadavg()[0], 2), **{f"val_{k}": v for k, v in res.items()}}
            history.append(row)
            log.write(json.dumps(row) + "\n")
            log.flush()
            tqdm.write(json.dumps(row))
            if best is None or res["select"] > best["val_select"]:
                best = row
                save_checkpoint(out / "best.pt", **_checkpoint_args(model, cfg, pre, row))
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "done": [phase, epoch], "step": step,
                        "history": history, "best": best}, out / "last.tmp")
            (out / "last.tmp").replace(out / "last.pt")  # every epoch: --resume continues from here
    log.close()
    metrics = {"best": best, "train_wall_s": round(sum(r["wall_s"] for r in history), 1),
               "train_cpu_s": round(sum(r["cpu_s"] for r in history), 1),
               "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    (out / "metrics.json").write_text(json.dumps({**metrics, "history": history}, indent=2))
    if cfg.export and best is not None:
        from stylist.models.checkpoints import load_checkpoint

        ckpt = load_checkpoint(out / "best.pt")
        save_checkpoint(cfg.export, kind="namer", arch=ckpt["arch"], state_dict=ckpt["state_dict"],
                        train_config=ckpt["train_config"], classes=ckpt["classes"], metrics={**ckpt["metrics"], **metrics})
        print(f"wrote {cfg.export} ({best['stage']} epoch {best['epoch']})")
    return metrics


def export_ensemble(cfg: NamerConfig) -> dict:
    """The checkpoints of ``cfg.ensemble`` as one namer (``stylist.models.namer.ensemble``: their mean class
    probabilities), scored on the cached val features like a trained epoch, written fp16 to ``cfg.export``."""
    import torch

    from stylist.models.checkpoints import load_checkpoint
    from stylist.models.namer import ensemble, namer_from_checkpoint

    if not cfg.export:
        raise SystemExit("--ensemble needs --export (where to write the ensemble)")
    ckpts = [load_checkpoint(p) for p in cfg.ensemble.split(",")]
    model = ensemble([namer_from_checkpoint(c)[0] for c in ckpts]).eval()
    val_file = Path(cfg.out) / f"feats-b{SPLIT_AT}" / "val.npz"
    metrics: dict = {"members": [c.get("metrics", {}).get("best", c.get("metrics", {})) for c in ckpts]}
    if val_file.exists():
        with np.load(val_file) as z:
            val = {n: (z[f"{n}__feats"], z[f"{n}__labels"]) for n in VAL_SETS if f"{n}__feats" in z}
        res = {}
        with torch.inference_mode():  # cached trunk features: each member finishes them (top_features)
            for name, (feats, labels) in val.items():
                probs = sum(torch.cat([m.classifier(top_features(m, torch.from_numpy(feats[s:s + 256]).float()))
                                       for s in range(0, len(feats), 256)]).softmax(-1) for m in model.members)
                hit = probs.argmax(1).numpy() == labels
                res[name] = round(float(hit.mean()), 4)
                if name.startswith(("a_", "b_")):
                    per_class = [hit[labels == c].mean() for c in np.unique(labels)]
                    res[f"{name}_macro"] = round(float(np.mean(per_class)), 4)
        metrics["best"] = {"stage": "ensemble", **{f"val_{k}": v for k, v in res.items()}}
        print(json.dumps(metrics["best"]))
    arch = {**ckpts[0]["arch"], "members": len(ckpts)}
    save_checkpoint(cfg.export, kind="namer", arch=arch, state_dict=model.state_dict(),
                    train_config={"ensemble": cfg.ensemble.split(",")}, classes=ckpts[0]["classes"], metrics=metrics)
    print(f"wrote {cfg.export} (ensemble of {len(ckpts)})")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylist train namer", description=__doc__.split("\n")[0])
    cfg = NamerConfig(**vars(add_dataclass_args(parser, NamerConfig).parse_args(argv)))
    if cfg.ensemble:
        export_ensemble(cfg)
        return 0
    metrics = train(cfg)
    print(json.dumps(metrics["best"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
