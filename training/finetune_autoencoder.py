"""Fine-tune the autoencoder so a garment photographed in the world embeds next to its catalog image (CPU-sized).

    stylist data dae-pairs --out runs/dae/pairs            # render the fixed pair set once (train split)
    stylist data dae-pairs --out runs/dae/val --split val --items 600 --photo-repeats 1
    stylist train dae --pairs runs/dae/pairs --val runs/dae/val --out runs/dae --minutes 70

Starts from a trained embedder (``--init``, default the bundled ae512) and keeps it an autoencoder trained as
a *denoising* one whose noise is the world: the input is a pre-rendered view (``training.data.dae_pairs``:
the item on a real floor/bed, relit, cut by a jittered box — or the catalog image degraded on white — or a
real CC0 photo), the target is the clean catalog image. Per step:

* reconstruction: the decoder rebuilds the clean catalog image from the world view's code (on the first
  ``--recon-per-batch`` pairs only: the decoder costs 4× the encoder on a CPU, and the term is a regulariser);
* contrastive: world view ↔ clean view of the same product, in-batch InfoNCE (other views of one product
  in the batch are not counted as negatives); the clean side is embedded by the frozen starting model, so the
  world views move into the space where catalogue-on-white retrieval already works;
* anchor: the clean view's embedding by the trained model stays at the starting model's (cosine, on the
  first ``--anchor-per-batch`` pairs), so the catalog index, built from clean images, does not drift;
* category cross-entropy on world, clean and real-photo views (real photos have no clean view: only this).

BatchNorm statistics stay frozen (small CPU batches; the catalog index and queries keep one normalisation).
Stops at ``--minutes`` (wall clock) or ``--epochs``; a checkpoint every ``--checkpoint-minutes`` (``out/last.pt``),
so a stopped run is usable. ``--threads`` torch threads (1 by default: the CPU is shared).
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

from stylist.models.autoencoder import Autoencoder, AutoencoderConfig
from stylist.models.checkpoints import load_checkpoint, save_checkpoint
from stylist.schema import CLASSES
from training.common import add_dataclass_args, warmup_cosine
from training.data.dae_pairs import PairIndex, load_pairs, load_training_pairs
from training.finetune_loop import (Budget, StepLog, contrastive_loss, export_fp16, gallery_recalls, optimizer_step,
                                    val_gallery)


@dataclass
class FinetuneConfig:
    pairs: str = "runs/dae/pairs"  # rendered training pairs (training.data.dae_pairs, train split)
    val: str = ""  # rendered val-split pairs for the logged proxies ("" = none)
    init: str = ""  # the checkpoint to start from; "" = the bundled ae512
    teacher: str = ""  # the model whose clean-image embeddings are the targets (resuming a run); "" = --init
    out: str = "runs/dae"
    export: str = ""  # fp16 bundle path written at the end, e.g. stylist/weights/ae512.pt
    minutes: float = 60.0  # wall-clock budget; 0 = epochs only
    epochs: float = 4.0  # passes over the rendered pairs (batches are drawn at random)
    batch_size: int = 48  # world/catalog pairs per step
    photos_per_batch: int = 16  # real CC0 photos per step (category loss only)
    recon_per_batch: int = 8  # pairs per step whose world view is also reconstructed
    anchor_per_batch: int = 16  # pairs per step whose clean view also passes the (trained) encoder
    lr: float = 1e-4
    head_lr_mult: float = 10.0  # the category head must learn real photos: a larger step than the encoder
    weight_decay: float = 0.01
    warmup_steps: int = 20
    recon_weight: float = 10.0
    contrast_weight: float = 1.0
    anchor_weight: float = 2.0
    class_weight: float = 0.5
    photo_class_weight: float = 0.5
    temperature: float = 0.1
    threads: int = 1
    checkpoint_minutes: float = 5.0
    limit_steps: int = 0  # stop after N steps (tiny runs / tests); 0 = no limit
    export_from: str = ""  # only write --export (fp16) from this checkpoint, e.g. a stopped run's out/last.pt
    seed: int = 0


def decode(blobs: list[bytes]) -> torch.Tensor:
    """JPEG bytes → float tensor N×3×S×S in [0, 1]."""
    arr = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs])
    return torch.from_numpy(arr.transpose(0, 3, 1, 2).copy()).float().div_(255.0)


def freeze_batchnorm(model: torch.nn.Module) -> None:
    """BatchNorm layers use (and keep) their running statistics; their affine parameters still train."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()


@torch.no_grad()
def embed_blobs(model: Autoencoder, blobs: list[bytes], bs: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(normalised embeddings, head logits) of JPEG-encoded views."""
    was = model.training
    model.eval()
    embs, logits = [], []
    for i in range(0, len(blobs), bs):
        e = model.embed(decode(blobs[i:i + bs]))
        embs.append(e)
        logits.append(model.classifier(e) if model.classifier is not None else e[:, :0])
    model.train(was)
    if was:
        freeze_batchnorm(model)
    return torch.cat(embs).numpy(), torch.cat(logits).numpy()


def proxy_metrics(model: Autoencoder, val: dict[str, list]) -> dict[str, float]:
    """On rendered val-split pairs: world → clean item R@1/R@10 and catalog-view → clean R@10 (gallery = the
    val products' clean images), head accuracy on world views and on real val photos."""
    kinds, labels = np.array(val["kind"]), np.array(val["label"])
    out: dict[str, float] = {}
    pairs, first, target = val_gallery(val)
    if len(pairs):
        gallery, _ = embed_blobs(model, [val["clean"][i] for i in first])
        q, logits = embed_blobs(model, [val["view"][i] for i in pairs])
        out.update(gallery_recalls(q @ gallery.T, target, kinds[pairs]))
        out["val_world_head_acc"] = float((logits.argmax(1) == labels[pairs])[kinds[pairs] == "world"].mean())
    photos = np.flatnonzero(kinds == "photo")
    if len(photos):
        _, logits = embed_blobs(model, [val["view"][i] for i in photos])
        out["val_photo_head_acc"] = float((logits.argmax(1) == labels[photos]).mean())
    return {k: round(v, 4) for k, v in out.items()}


def _save(path: Path, model: Autoencoder, cfg: FinetuneConfig, metrics: dict, fp16: bool) -> None:
    save_checkpoint(path, kind="embedder", arch=model.cfg.to_dict(), state_dict=model.state_dict(),
                    train_config={"finetune": asdict(cfg)}, classes=CLASSES, metrics=metrics, fp16=fp16)


def finetune(cfg: FinetuneConfig, progress: bool = True) -> dict:
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    from stylist.config import WEIGHTS_DIR

    ckpt = load_checkpoint(cfg.init or WEIGHTS_DIR / "ae512.pt")
    model = Autoencoder(AutoencoderConfig.from_dict(ckpt["arch"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()})
    teacher = copy.deepcopy(model)
    if cfg.teacher:
        t = load_checkpoint(cfg.teacher)
        teacher.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in t["state_dict"].items()})
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    data = load_training_pairs(cfg.pairs)
    val = load_pairs(cfg.val) if cfg.val else None
    head = [p for n, p in model.named_parameters() if n.startswith("classifier.")]
    body = [p for n, p in model.named_parameters() if not n.startswith("classifier.")]
    opt = torch.optim.AdamW([{"params": body, "mult": 1.0}, {"params": head, "mult": cfg.head_lr_mult}],
                            lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = proxy_metrics(model, val) if val else {}
    tqdm.write(json.dumps({"samples": len(data["kind"]), "start": start}))
    model.train()
    freeze_batchnorm(model)
    budget = Budget(cfg.minutes, cfg.epochs, cfg.limit_steps)
    last_ckpt, step, seen = budget.t0, 0, 0.0
    log = StepLog(out / "log.csv", ["step", "epoch", "seconds", "lr", "pairs", "loss", "recon", "contrast", "anchor",
                                    "ce", "ce_photo", "val_world_R@1", "val_world_R@10", "val_catalog_R@1",
                                    "val_catalog_R@10", "val_world_head_acc", "val_photo_head_acc"])
    bar = tqdm(desc="fine-tune ae", unit="step", disable=not progress)
    done = False
    while not done:
        # (re)index the samples: shards still being rendered join at the next checkpoint
        index = PairIndex.of(data)
        pair_idx, labels, products = index.pairs, index.labels, index.products
        while True:
            lr = warmup_cosine(cfg.lr, step, cfg.warmup_steps, budget.progress(step, seen))
            for g in opt.param_groups:
                g["lr"] = lr * g["mult"]
            idx, ph = index.sample(rng, cfg.batch_size, cfg.photos_per_batch)
            views = decode([data["view"][j] for j in idx] + [data["view"][j] for j in ph])
            clean = decode([data["clean"][j] for j in idx])
            a = min(cfg.anchor_per_batch, len(idx))
            code = model.encoder(torch.cat([views, clean[:a]]))
            emb = F.normalize(code.flatten(1), dim=1)
            e_view, e_photo, e_clean = emb[:len(idx)], emb[len(idx):len(idx) + len(ph)], emb[len(idx) + len(ph):]
            with torch.no_grad():
                t_clean = teacher.embed(clean)
            pid, y = products[idx], labels[idx]
            contrast = contrastive_loss(e_view, t_clean, cfg.temperature, same=pid[:, None] == pid[None, :])
            anchor = (1.0 - (e_clean * t_clean[:a]).sum(1)).mean() if a else torch.zeros(())
            ce = F.cross_entropy(model.classifier(torch.cat([e_view, e_clean])), torch.cat([y, y[:a]]), label_smoothing=0.1)
            ce_photo = (F.cross_entropy(model.classifier(e_photo), labels[ph], label_smoothing=0.1)
                        if len(ph) else torch.zeros(()))
            r = min(cfg.recon_per_batch, len(idx))
            recon = F.mse_loss(model.decoder(code[:r]), clean[:r]) if r else torch.zeros(())
            loss = (cfg.recon_weight * recon + cfg.contrast_weight * contrast + cfg.anchor_weight * anchor
                    + cfg.class_weight * ce + cfg.photo_class_weight * ce_photo)
            optimizer_step(opt, loss, model.parameters())
            step += 1
            seen += len(idx) / len(pair_idx)
            bar.update(1)
            log.add((("loss", loss), ("recon", recon), ("contrast", contrast), ("anchor", anchor), ("ce", ce),
                     ("ce_photo", ce_photo)))
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", contrast=f"{float(contrast.detach()):.3f}")
            done = budget.spent(step, seen)
            if done or time.time() - last_ckpt > cfg.checkpoint_minutes * 60:
                break
        row = log.record(step, {"epoch": round(seen, 3), "seconds": round(time.time() - budget.t0, 1), "lr": lr,
                                "pairs": len(pair_idx)}, proxy_metrics(model, val) if val else {})
        _save(out / "last.pt", model, cfg, row, fp16=False)
        last_ckpt = time.time()
        if not done:
            data = load_pairs(cfg.pairs)
    bar.close()
    log.close()
    metrics = log.summary(out, start, step, pairs=log.history[-1]["pairs"],
                          photos=int((np.array(data["kind"]) == "photo").sum()), threads=cfg.threads, device="cpu",
                          init=cfg.init or "bundled ae512")
    if cfg.export:
        _save(Path(cfg.export), model, cfg, metrics, fp16=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stylist train dae", description=__doc__.split("\n")[0])
    cfg = FinetuneConfig(**vars(add_dataclass_args(parser, FinetuneConfig).parse_args(argv)))
    if cfg.export_from:
        if not cfg.export:
            parser.error("--export-from needs --export")
        export_fp16(cfg.export_from, cfg.export)
        print(f"wrote {cfg.export} (fp16) from {cfg.export_from}")
        return 0
    print(json.dumps(finetune(cfg), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
