"""What the CPU fine-tunes share (``finetune_autoencoder``, ``finetune_clip``): a budget of wall-clock minutes,
passes and steps; a log of the losses averaged between checkpoints, one CSV row per checkpoint; an optimiser step
with clipped gradients; the in-batch InfoNCE (``optimizer_step`` and ``contrastive_loss`` also serve
``train_autoencoder``); the val proxy that ranks each rendered view against a gallery of the val products'
clean images; and the fp16 re-export of a stopped run's checkpoint.

They run in the background on a shared machine, so they stop on whichever budget ends first and log often
enough that a run stopped at any moment leaves a usable checkpoint and a readable log.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from stylist.metrics import rank_of_target, recall_at_k
from stylist.models.checkpoints import load_checkpoint, save_checkpoint


class Budget:
    """Stop after ``minutes`` of wall clock, ``epochs`` passes or ``limit_steps`` steps, whichever comes first
    (0 = no limit for minutes and steps); ``progress`` is the share used, for the learning-rate schedule."""

    def __init__(self, minutes: float, epochs: float, limit_steps: int) -> None:
        self.seconds, self.epochs, self.limit_steps = minutes * 60.0, epochs, limit_steps
        self.t0 = time.time()

    def progress(self, step: int, seen: float) -> float:
        elapsed = time.time() - self.t0
        return max(seen / self.epochs, elapsed / self.seconds if self.seconds else 0.0,
                   step / self.limit_steps if self.limit_steps else 0.0)

    def spent(self, step: int, seen: float) -> bool:
        return bool((self.seconds and time.time() - self.t0 > self.seconds) or seen >= self.epochs
                    or (self.limit_steps and step >= self.limit_steps))


class StepLog:
    """Loss sums since the last checkpoint and ``log.csv``: each checkpoint writes their means as one row."""

    def __init__(self, path: Path, fields: list[str], first: dict | None = None) -> None:
        self._file = path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=fields, extrasaction="ignore")
        self._writer.writeheader()
        if first is not None:
            self._writer.writerow(first)
        self.sums: dict[str, float] = {}
        self.history: list[dict] = []

    def add(self, losses: Iterable[tuple[str, torch.Tensor]]) -> None:
        for k, v in losses:
            self.sums[k] = self.sums.get(k, 0.0) + float(v.detach())

    def record(self, step: int, fields: dict[str, Any], extra: dict[str, Any]) -> dict:
        """One row: ``step``, ``fields``, the losses' means over the steps since the last row, then ``extra``."""
        n = max(1, step - (self.history[-1]["step"] if self.history else 0))
        row = {"step": step, **fields, **{k: round(v / n, 5) for k, v in self.sums.items()}, **extra}
        self.history.append(row)
        self._writer.writerow(row)
        self._file.flush()
        tqdm.write(json.dumps(row))
        self.sums = {}
        return row

    def close(self) -> None:
        self._file.close()

    def summary(self, out: Path, start: dict, steps: int, **extra: Any) -> dict:
        """A run's ``metrics.json`` (written to ``out``): the last row's val proxies, the start's, the steps,
        passes and wall seconds, then ``extra`` (what the run wants kept beside them)."""
        final = self.history[-1]
        metrics = {**{k: v for k, v in final.items() if k.startswith("val_")}, "start": start, "steps": steps,
                   "epochs": final["epoch"], "train_seconds": final["seconds"], **extra}
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        return metrics


def optimizer_step(opt: torch.optim.Optimizer, loss: torch.Tensor, params: Iterable[torch.Tensor],
                   max_norm: float = 5.0) -> None:
    """Backward, clip the gradients' norm (one bad batch must not undo a fine-tune), step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, temperature: float,
                     same: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over the batch: a_i must find b_i among all b, and b_i find a_i among all a. ``same``
    (B×B, bool) marks other pairs of one product: masked out, so a view is not pushed away from its own
    product's clean image in another pair."""
    logits = a @ b.t() / temperature
    if same is not None:
        eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
        logits = logits.masked_fill(same & ~eye, float("-inf"))
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def val_gallery(val: dict[str, list]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """The rendered val pairs as gallery queries: (the pairs' sample indices, for each product in order of first
    appearance the sample whose clean image is its one gallery entry, each pair's gallery row). Photos have no
    clean image: they are left out."""
    pairs = np.flatnonzero(np.array(val["kind"]) != "photo")
    products = [val["product"][i] for i in pairs]
    uniq = list(dict.fromkeys(products))
    first = [int(pairs[products.index(p)]) for p in uniq]
    return pairs, first, np.array([uniq.index(p) for p in products])


def gallery_recalls(scores: np.ndarray, target: np.ndarray, kinds: np.ndarray,
                    keep_absent: bool = False) -> dict[str, float]:
    """``val_{kind}_R@1`` / ``R@10`` of world and catalogue views: ``scores`` (views × gallery) ranked with the
    product's row ``target`` as the hit (``stylist.metrics``: ties count against). A kind no view has is left
    out, or with ``keep_absent`` reported as NaN, so that both kinds' columns are there whatever the val set
    holds."""
    ranks = rank_of_target(scores, target)
    out: dict[str, float] = {}
    for kind in ("world", "catalog"):
        sel = kinds == kind
        if sel.any() or keep_absent:
            out[f"val_{kind}_R@1"] = recall_at_k(ranks[sel], 1)
            out[f"val_{kind}_R@10"] = recall_at_k(ranks[sel], 10)
    return out


def export_fp16(source: str | Path, target: str | Path, start: str | Path | None = None, share: float = 1.0) -> None:
    """Re-save a run's full-precision checkpoint (e.g. ``out/last.pt`` of a stopped run) as the fp16 file the
    product loads. With ``start`` (the checkpoint the run began from) and ``share`` < 1: the weights
    ``start + share·(tuned − start)`` (WiSE-FT): a fine-tune's drift in what it was not trained for (CLIP's
    colour reading) shrinks faster along that line than its gain does."""
    ckpt = load_checkpoint(source)
    state = ckpt["state_dict"]
    train_config = ckpt["train_config"]
    if start is not None and share != 1.0:
        begin = load_checkpoint(start)["state_dict"]
        if set(begin) != set(state):
            raise ValueError(f"{start} and {source} hold different weights")
        state = {k: begin[k].float() + share * (v.float() - begin[k].float()) if v.is_floating_point() else v
                 for k, v in state.items()}
        train_config = {**train_config, "wise": {"start": str(start), "share": share}}
    save_checkpoint(target, kind=ckpt["kind"], arch=ckpt["arch"], state_dict=state,
                    train_config=train_config, classes=ckpt["classes"], metrics=ckpt["metrics"])
