"""Keep fashion-lite's colour reading while its image tower is fine-tuned on garments in the world.

The product reads a colour family from a CLIP image vector (``stylist.clip_colours``: the softmax over the
colour families' mean prompt vectors at ``CLIP_COLOUR_SCALE``), and that reading decides the stored colour of
products without a catalog colour. A contrastive fine-tune on relit, white-balance-shifted world views
teaches the tower to ignore the directions colour lies along, so the reading drifts even when the clean
embeddings stay close (cosine 0.98 to the start, yet the pixel colours' agreement with FPI fell 0.746 → 0.730).

The term here distils that reading: the frozen starting tower's family distribution on a product's CLEAN
image is the target for the trained tower's distribution on the clean image and on the product's world
views, KL(start ‖ trained). Same prompts, same text tower, same scale as the product: what is kept is exactly
what the index reads.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from stylist.clip_colours import CLIP_COLOUR_SCALE, clip_family_prompts


class _TextTower:
    """The locked text tower as ``clip_family_prompts`` reads a CLIP (``embed_texts``: L2-normalised rows)."""

    def __init__(self, model: torch.nn.Module, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    @torch.no_grad()
    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return F.normalize(self.model.encode_text(self.tokenizer(list(texts))).float(), dim=-1).numpy()


def family_prompts(model: torch.nn.Module, tokenizer) -> torch.Tensor:
    """(families, dim) the colour families' prompt vectors the product scores image vectors against."""
    return torch.from_numpy(clip_family_prompts(_TextTower(model, tokenizer)).astype(np.float32))


def colour_log_probs(emb: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
    """(N, families) log of the product's colour-family probabilities for L2-normalised image vectors."""
    return F.log_softmax(CLIP_COLOUR_SCALE * emb @ prompts.t(), dim=-1)


def colour_distillation(student: torch.Tensor, target: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
    """Mean KL(target ‖ student's reading): ``student`` L2-normalised image vectors, ``target`` (N, families)
    probabilities (the starting tower's reading of each row's clean image). 0 for no rows."""
    if not len(student):
        return torch.zeros(())
    log_q = colour_log_probs(student, prompts)
    return (target * (target.clamp_min(1e-12).log() - log_q)).sum(1).mean()
