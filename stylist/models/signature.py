"""Which weights made an index's vectors: a short digest per image encoder, stored with the index.

Trained and random-init models get different digests, so a search can tell that an index was built
with other weights than the ones it now runs and ask for a rebuild instead of returning nonsense.
"""
from __future__ import annotations

import hashlib

from stylist.protocols import ClipEncoder, CropEmbedder


def params_digest(module) -> str:
    """A short hash of a torch module's floating-point weights (the first 4,096 values of each tensor)."""
    h = hashlib.sha1()
    for name, tensor in sorted(module.state_dict().items()):
        if tensor.is_floating_point():
            h.update(name.encode())
            h.update(tensor.detach().float().flatten()[:4096].cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def model_signature(embedder: CropEmbedder, clip: ClipEncoder) -> str:
    """Which image encoders (name + weight digest) made an index's vectors; stored with the index. An encoder
    served from an export carries its digest (``weights_digest``, ``visual_digest``); a torch one's ``model``
    weights are hashed."""
    emb = getattr(embedder, "weights_digest", None) or params_digest(embedder.model)
    vis = getattr(clip, "visual_digest", None) or params_digest(getattr(clip.model, "visual", clip.model))
    return f"{embedder.name}:{emb}|{clip.name}:{vis}"
