"""The words shoppers refine with, embedded once: colours, kinds, materials and colour + kind pairs.

A tap with "in red" must not wait ~35 ms for the CLIP text encoder. ``refinement_terms`` lists the CLIP
terms that ``parse_query`` makes of the common refinements (so the keys are exactly what a search looks
up), and ``text_vectors`` embeds them once per text encoder, keeping the result on disk under
``<STYLIST_HOME>/cache/runtime`` so later start-ups only read a small file.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from stylist.colors import COLORS, SYNONYMS
from stylist.protocols import ClipEncoder
from stylist.query import CATEGORY_SYNONYMS, parse_query
from stylist.schema import CLASSES

log = logging.getLogger(__name__)

MATERIALS = ("leather", "denim", "silk", "satin", "wool", "cotton", "linen", "cashmere", "suede", "velvet", "lace",
             "knit", "knitted", "corduroy", "fleece", "tweed", "chiffon", "sequin", "faux fur", "fur", "canvas",
             "nylon", "mesh", "crochet", "patent leather", "floral", "striped", "checked", "plaid", "polka dot",
             "printed", "plain", "embroidered", "oversized", "slim", "long", "short", "sleeveless", "cropped",
             "vintage", "casual", "formal", "sporty", "elegant", "summer", "winter")
# one everyday word per detection class, for "red dress"-style pairs
KIND_WORDS = ("top", "skirt", "necklace", "shoes", "pants", "hat", "dress", "bag", "jacket", "shorts", "sunglasses",
              "scarf", "watch")
assert len(KIND_WORDS) == len(CLASSES)


def refinement_terms() -> list[str]:
    """The CLIP terms of common refinements ("in red", "leather", "red dress", ...), each once, sorted."""
    phrases = [f"in {c}" for c in (*COLORS, *SYNONYMS)]
    phrases += list(CATEGORY_SYNONYMS) + list(MATERIALS)
    phrases += [f"{c} {k}" for c in COLORS for k in KIND_WORDS]
    phrases += [f"{m} {k}" for m in MATERIALS[:20] for k in KIND_WORDS]
    terms = {parse_query(p).terms for p in phrases}
    terms.discard("")
    return sorted(terms)


def text_digest(clip: ClipEncoder) -> str:
    """A digest of the text encoder's weights (a lazily loaded CLIP knows it from its manifest)."""
    known = getattr(clip, "text_digest", None)
    if isinstance(known, str):
        return known
    h = hashlib.sha1(clip.name.encode())
    for name, tensor in sorted(clip.model.state_dict().items()):
        if not name.startswith("visual.") and tensor.is_floating_point():
            h.update(name.encode())
            h.update(tensor.detach().float().flatten()[:4096].cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _digest(clip: ClipEncoder, terms: list[str]) -> str:
    """Names the text encoder (its weights) and the term list: a changed model or list re-embeds."""
    h = hashlib.sha1(text_digest(clip).encode())
    h.update("\n".join(terms).encode())
    return h.hexdigest()[:16]


def text_vectors(clip: ClipEncoder, cache_dir: Path | None, terms: list[str] | None = None, compute: bool = True
                 ) -> dict[str, np.ndarray]:
    """{term: CLIP text vector} for the refinement vocabulary, read from ``cache_dir`` when it was made before
    (``compute=False``: only then; {} otherwise, so a one-off search never pays for the whole vocabulary)."""
    terms = refinement_terms() if terms is None else terms
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"text-{_digest(clip, terms)}.npy"
        if path.exists():
            try:
                vecs = np.load(path)
                if vecs.shape[0] == len(terms):
                    return dict(zip(terms, vecs))
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable text-vector cache %s (%s)", path, exc)
    if not compute:
        return {}
    vecs = clip.embed_texts(terms).astype(np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vecs)
            tmp.replace(path)
        except OSError as exc:
            log.warning("cannot cache text vectors at %s (%s)", path, exc)
    return dict(zip(terms, vecs))
