"""Train the crop autoencoder (ae512, or the original's ae4096 baseline) on train-split CTL crops.

    stylist train autoencoder --variant ae512 --out runs/ae512 --device cuda --minutes 4 \
        --export stylist/weights/ae512.pt
    stylist train autoencoder --variant ae4096 --out runs/ae4096 --device cuda --minutes 4 \
        --export stylist/weights/ae4096.pt

It stays an autoencoder — the encoder gives the embedding, the decoder reconstructs — but a pure MSE
autoencoder clusters by background and size, not by product. So it is trained as a *denoising* AE on
augmented views (random zoom/shift/flip, catalogue-style background swaps, rescaling, JPEG; colours kept),
with two auxiliary losses on the normalised bottleneck: in-batch contrastive (two views of one crop are a
pair: item retrieval) and category cross-entropy (category retrieval). Augmentation runs on the GPU.
Training stops at ``--minutes`` (wall clock) or ``--epochs`` and saves a self-describing checkpoint.
Only train-split products are used (``training.data.splits``); val products give the logged proxy metrics.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import time
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from stylist.models.autoencoder import Autoencoder, AutoencoderConfig, Preprocess
from stylist.models.registry import autoencoder_arch, model_names
from stylist.schema import CLASSES
from training.common import add_dataclass_args, save_run, warmup_cosine
from training.finetune_loop import contrastive_loss, optimizer_step


@dataclass
class TrainConfig:
    variant: str = "ae512"  # a registered embedder: ae512 | ae4096 (stylist/models/configs/)
    data: str = ""  # data root (../shared/data or a packed mini root); "" = Config.data_dir
    out: str = "runs/ae512"
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    epochs: int = 400
    minutes: float = 4.0  # wall-clock budget (stop and save when reached); 0 = epochs only
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    recon_weight: float = 10.0  # MSE is ~0.01–0.05 per pixel: scaled to matter next to the other terms
    contrast_weight: float = 1.0
    class_weight: float = 0.5
    temperature: float = 0.1
    noise_std: float = 0.05  # denoising: Gaussian noise on the encoder input, clean view is the target
    limit: int = 0  # use only the first N train crops (tiny runs / tests); 0 = all
    workers: int = 8  # CPU processes for decoding and JPEG copies
    eval_every: int = 10  # epochs between val proxy metrics
    seed: int = 0
    export: str = ""  # fp16 bundle path, e.g. stylist/weights/ae512.pt
    arch_overrides: str = ""  # JSON changes to the variant's architecture (tiny test runs), e.g. {"image_size": 32}


# --- data: decode once on CPU, augment on the device -------------------------------------------------
def _prepare(args: tuple[str, int, int]) -> np.ndarray:
    """One crop → 4 variants × (RGB + foreground mask) as uint8 [4, 4, S, S]: the crop as catalogued,
    trimmed to its item (as boards paste it), and both again rescaled small + JPEG-encoded (as a query)."""
    from training.data.paste import cutout_mask, trim_white

    path, size, seed = args
    rng = random.Random(seed)
    prep, prep_mask = Preprocess(size), Preprocess(size, (0, 0, 0))
    with Image.open(path) as img:
        img = img.convert("RGB")
    clean, degraded = [], []
    for base in (img, trim_white(img)):
        mask = np.asarray(prep_mask.pad_square(cutout_mask(base).convert("RGB")).resize((size, size), Image.BILINEAR))[..., :1]
        side = rng.randint(40, 128)
        scale = side / max(base.size)
        small = base.resize((max(8, round(base.width * scale)), max(8, round(base.height * scale))), Image.BILINEAR)
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=rng.randint(30, 90))
        for im, dst in ((base, clean), (Image.open(buf).convert("RGB"), degraded)):
            rgb = np.asarray(prep.pad_square(im).resize((size, size), Image.BILINEAR))
            dst.append(np.concatenate([rgb, mask], axis=2).transpose(2, 0, 1))
    return np.stack(clean + degraded)  # 0 catalogued, 1 trimmed, 2 catalogued small+JPEG, 3 trimmed small+JPEG


def load_split(root: str, split: str, size: int, limit: int, workers: int, seed: int) -> tuple[torch.Tensor, np.ndarray, list[str]]:
    """(uint8 tensor N×4×4×S×S, category ids, product ids) for one product split of the CTL crops."""
    from training.data.crops import crop_dataset

    items = crop_dataset(root or None, split)
    if limit:
        items = items[:limit]
    jobs = [(str(p), size, seed * 1_000_003 + i) for i, (p, _, _) in enumerate(items)]
    if workers > 1:
        with Pool(workers) as pool:
            arrays = pool.map(_prepare, jobs, chunksize=32)
    else:
        arrays = [_prepare(j) for j in jobs]
    labels = np.array([CLASSES.index(c) for _, _, c in items], dtype=np.int64)
    return torch.from_numpy(np.stack(arrays)), labels, [pid for _, pid, _ in items]


def augment(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """uint8 [B, 4 variants, 4, S, S] → one augmented float view [B, 3, S, S] in [0, 1]:
    pick a variant, random zoom/shift/flip, swap the catalogue-white background for white / off-white /
    a light tint, small brightness/contrast change (hue kept: colour words must still hold), random blur."""
    b, dev = batch.shape[0], batch.device
    rand = lambda *s: torch.rand(*s, generator=gen, device=dev)  # noqa: E731
    pick = torch.randint(0, batch.shape[1], (b,), generator=gen, device=dev)
    x = batch[torch.arange(b, device=dev), pick].float() / 255.0  # [B, 4, S, S]
    rgb, fg = x[:, :3], x[:, 3:]
    # geometry: zoom 0.75–1.3, shift ±10 %, flip; padding is background (fg = 0, rgb = white)
    scale = 0.75 + 0.55 * rand(b)
    flip = torch.where(rand(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = flip / scale, 1.0 / scale
    theta[:, :, 2] = (rand(b, 2) - 0.5) * 0.2
    grid = F.affine_grid(theta, list(rgb.shape), align_corners=False)
    inv = F.grid_sample(1.0 - rgb, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    fg = F.grid_sample(fg, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    rgb = 1.0 - inv
    # background: keep white (50 %), off-white / light tint (50 %)
    tint = 1.0 - rand(b, 3, 1, 1) * 0.12 * (rand(b, 1, 1, 1) < 0.5)
    rgb = fg * rgb + (1.0 - fg) * tint
    # photometric, colour-preserving
    bright = 0.9 + 0.2 * rand(b, 1, 1, 1)
    contrast = 0.9 + 0.2 * rand(b, 1, 1, 1)
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = ((rgb - mean) * contrast + mean) * bright
    # resolution: half the views rescaled down and up again
    size = rgb.shape[-1]
    small = int(size * (0.35 + 0.4 * float(rand(1))))
    low = F.interpolate(F.interpolate(rgb, size=small, mode="bilinear", antialias=True, align_corners=False),
                        size=size, mode="bilinear", align_corners=False)
    rgb = torch.where(rand(b, 1, 1, 1) < 0.5, low, rgb)
    return rgb.clamp(0.0, 1.0)


def clean_view(batch: torch.Tensor, variant: int = 0) -> torch.Tensor:
    """The un-augmented crop (variant 0: as catalogued, 2: the rescaled + JPEG query-like copy)."""
    return batch[:, variant, :3].float() / 255.0


@torch.no_grad()
def embed_all(model: Autoencoder, images: torch.Tensor, device: str, bs: int = 512) -> np.ndarray:
    model.eval()
    out = [model.embed(images[i:i + bs].to(device)).float().cpu() for i in range(0, len(images), bs)]
    model.train()
    return torch.cat(out).numpy()


def proxy_metrics(model: Autoencoder, data: torch.Tensor, labels: np.ndarray, device: str) -> dict[str, float]:
    """On held-out val products: item R@1/R@10 (query = rescaled+JPEG trimmed copy, gallery = the catalogued
    crops) and category P@5 with the query excluded — proxies of the real test numbers (stylist eval)."""
    from stylist.metrics import category_precision_at_k, rank_of_target, recall_at_k

    gallery = embed_all(model, clean_view(data, 0), device)
    queries = embed_all(model, clean_view(data, 3), device)
    ranks = rank_of_target(queries @ gallery.T, np.arange(len(gallery)))
    return {"val_item_R@1": recall_at_k(ranks, 1), "val_item_R@10": recall_at_k(ranks, 10),
            "val_cat_P@5": category_precision_at_k(gallery, labels, 5, include_self=False)}


# --- training ----------------------------------------------------------------------------------------
def train(cfg: TrainConfig) -> dict:
    t_start = time.time()
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    arch = autoencoder_arch(cfg.variant)
    if cfg.arch_overrides:
        arch = AutoencoderConfig.from_dict({**arch.to_dict(), **json.loads(cfg.arch_overrides)})
    device = cfg.device
    train_x, train_y, _ = load_split(cfg.data, "train", arch.image_size, cfg.limit, cfg.workers, cfg.seed)
    val_x, val_y, _ = load_split(cfg.data, "val", arch.image_size, cfg.limit // 4 if cfg.limit else 0, cfg.workers, cfg.seed + 1)
    print(f"[{cfg.variant}] {len(train_x)} train / {len(val_x)} val crops decoded in {time.time() - t_start:.0f}s", flush=True)
    train_x = train_x.to(device)
    train_y_t = torch.from_numpy(train_y).to(device)

    model = Autoencoder(arch).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    use_amp = device.startswith("cuda")
    steps_per_epoch = max(1, len(train_x) // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    budget = cfg.minutes * 60.0
    t0, step, history = time.time(), 0, []
    log_path = out / "log.csv"
    with log_path.open("w", newline="") as fh:
        writer = None
        for epoch in range(cfg.epochs):
            perm = torch.randperm(len(train_x), generator=gen, device=device)
            sums = {k: torch.zeros((), device=device) for k in ("loss", "recon", "contrast", "ce", "acc")}
            for i in range(steps_per_epoch):
                progress = max(step / total_steps, (time.time() - t0) / budget if budget else 0.0)
                lr = warmup_cosine(cfg.lr, step, cfg.warmup_steps, progress)
                for g in opt.param_groups:
                    g["lr"] = lr
                idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                batch, y = train_x[idx], train_y_t[idx]
                v1, v2 = augment(batch, gen), augment(batch, gen)
                views = torch.cat([v1, v2]).contiguous(memory_format=torch.channels_last)
                noisy = (views + cfg.noise_std * torch.randn(views.shape, generator=gen, device=device)).clamp(0, 1)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    recon, emb, logits = model(noisy)
                recon_loss = F.mse_loss(recon.float(), views)
                e1, e2 = emb.float().chunk(2)
                contrast = contrastive_loss(e1, e2, cfg.temperature)
                yy = torch.cat([y, y])
                ce = F.cross_entropy(logits.float(), yy, label_smoothing=0.1)
                loss = cfg.recon_weight * recon_loss + cfg.contrast_weight * contrast + cfg.class_weight * ce
                optimizer_step(opt, loss, model.parameters())
                step += 1
                for k, v in (("loss", loss), ("recon", recon_loss), ("contrast", contrast), ("ce", ce),
                             ("acc", (logits.argmax(1) == yy).float().mean())):
                    sums[k] += v.detach()
            row = {"epoch": epoch + 1, "step": step, "seconds": round(time.time() - t0, 1), "lr": lr,
                   **{k: round(float(v) / steps_per_epoch, 5) for k, v in sums.items()}}
            out_of_time = budget and (time.time() - t0) > budget
            last = out_of_time or epoch + 1 == cfg.epochs
            if (epoch + 1) % cfg.eval_every == 0 or last:
                row.update({k: round(v, 4) for k, v in proxy_metrics(model, val_x, val_y, device).items()})
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys([*row, "val_item_R@1", "val_item_R@10", "val_cat_P@5"])),
                                        extrasaction="ignore")
                writer.writeheader()
            writer.writerow(row)
            fh.flush()
            history.append(row)
            print(json.dumps(row), flush=True)
            if last:
                break

    final = {k: history[-1][k] for k in ("val_item_R@1", "val_item_R@10", "val_cat_P@5") if k in history[-1]}
    metrics = {**final, "epochs": history[-1]["epoch"], "steps": step, "train_seconds": round(time.time() - t0, 1),
               "train_crops": len(train_x), "device": device,
               "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
               "final_recon_mse": history[-1]["recon"]}
    model = model.to(memory_format=torch.contiguous_format)
    save_run(out, cfg.export, metrics, kind="embedder", arch=arch.to_dict(), state_dict=model.state_dict(),
             train_config=asdict(cfg), classes=CLASSES)
    return metrics


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stylist train autoencoder", description=__doc__.split("\n")[0])
    cfg = TrainConfig(**vars(add_dataclass_args(parser, TrainConfig).parse_args(argv)))
    if cfg.variant not in model_names("embedder"):
        parser.error(f"--variant must be one of {', '.join(model_names('embedder'))}")
    print(json.dumps(train(cfg), indent=2))
    return 0


if __name__ == "__main__":  # python -m training.train_autoencoder … (the same as `stylist …`)
    import sys

    raise SystemExit(main(sys.argv[1:]))
