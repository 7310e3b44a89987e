"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once (style rule 4) and is safe to share between
threads: the models lock around inference and Chroma clients are thread-safe. It keeps no per-request
state, so the bot can run many searches at once (notes §4: ultralytics#6174).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.colors import color_family, family_members
from stylist.config import Config, load_config
from stylist.errors import EmptyIndexError, IndexUnavailableError, UnknownItemError
from stylist.images import crop_box, load_image
from stylist.labels import label_detections
from stylist.query import category_of, parse_query
from stylist.rerank import rerank
from stylist.results import Detection, ItemResult, ParsedQuery, Product
from stylist.schema import CLASSES
from stylist.store import CLIP, VISUAL, CatalogStore, Hit

CROP_PAD = 0.04  # a little context around a detected box, as the catalog crops have
MODES = ("visual", "clip", "full")  # no re-rank / CLIP alone / CLIP + parsed filters (the eval compares them)
CLIP_CACHE_SIZE = 50_000  # candidate CLIP vectors kept in memory (~50 MB at 256-d)
CHECK_EVERY_S = 5.0  # how often a search re-checks that the index is non-empty and matches the models

_MODEL_LOCK = threading.Lock()
_MODEL_CACHE: dict[tuple, object] = {}


def _cached(kind: str, key: tuple, load):
    """One instance per model configuration per process (the bot, the CLI and the index share them).

    Loading runs under a fixed torch seed (without touching the caller's RNG) so that a model that falls
    back to random init is the same in every process: an index built with it still matches its queries.
    """
    import torch

    with _MODEL_LOCK:
        if (kind, key) not in _MODEL_CACHE:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                _MODEL_CACHE[(kind, key)] = load()
        return _MODEL_CACHE[(kind, key)]


def load_embedder(config: Config):
    from stylist.models import registry

    return _cached("embedder", (config.embedder, config.device), lambda: registry.load_embedder(config))


def load_clip(config: Config):
    from stylist.models import registry

    key = (config.clip_model, config.clip_pretrained, config.device)
    return _cached("clip", key, lambda: registry.load_clip(config))


def load_detector(config: Config):
    from stylist.models import registry

    key = (config.detector, config.device, config.imgsz, config.detect_conf)
    return _cached("detector", key, lambda: registry.load_detector(config))


class _Clock:
    """Adds elapsed seconds per stage into ``sink`` (a no-op when sink is None)."""

    def __init__(self, sink: dict[str, float] | None):
        self.sink = sink
        self.t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.sink is not None:
            self.sink[stage] = self.sink.get(stage, 0.0) + now - self.t
        self.t = now


def _params_digest(module) -> str:
    """A short hash of a torch module's weights: trained and random-init models get different digests."""
    import hashlib

    h = hashlib.sha1()
    for name, tensor in sorted(module.state_dict().items()):
        if tensor.is_floating_point():
            h.update(name.encode())
            h.update(tensor.detach().float().flatten()[:4096].cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def model_signature(embedder, clip) -> str:
    """Which image encoders (name + weight digest) made an index's vectors; stored with the index."""
    return "|".join([f"{embedder.name}:{_params_digest(embedder.model)}",
                     f"{clip.name}:{_params_digest(getattr(clip.model, 'visual', clip.model))}"])


def _where(query: ParsedQuery | None, categories: Sequence[str], colors: bool) -> dict | None:
    """A Chroma ``where`` for the hard/structured wishes (category, colour family, price)."""
    clauses: list[dict] = []
    if categories:
        clauses.append({"category": {"$in": list(categories)}})
    if query is not None:
        if colors and query.colors:
            names = sorted({m for c in query.colors for m in family_members(color_family(c) or c)})
            clauses.append({"color": {"$in": names or list(query.colors)}})
        if query.max_price is not None:
            clauses.append({"price": {"$lte": float(query.max_price)}})
        if query.min_price is not None:
            clauses.append({"price": {"$gte": float(query.min_price)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _merge(*lists: list[Hit]) -> list[Hit]:
    seen: dict[str, Hit] = {}
    for hits in lists:
        for h in hits:
            seen.setdefault(h.id, h)
    return list(seen.values())


def _category(meta: dict) -> str:
    raw = str(meta.get("category") or "")
    return category_of(raw) or raw


def _majority_category(hits: Sequence[Hit]) -> list[str]:
    """[category] when most of these neighbours share one (a k-NN guess of what the item is), else []."""
    cats = [str(h.meta.get("category") or "") for h in hits]
    if not cats:
        return []
    best = max(set(cats), key=cats.count)
    return [best] if best and cats.count(best) * 2 > len(cats) else []


def _products(hits: Sequence[Hit], scores: np.ndarray) -> list[Product]:
    out = []
    for h, s in zip(hits, scores):
        m = h.meta
        price = m.get("price")
        out.append(Product(id=h.id, score=float(s), name=str(m.get("name", "")), category=str(m.get("category", "")),
                           color=str(m.get("color", "")), price=float(price) if isinstance(price, (int, float)) else None,
                           image=str(m.get("image", "")), url=str(m.get("url", ""))))
    return out


class Stylist:
    """Models + store, loaded once. All public methods are thread-safe."""

    def __init__(self, config: Config, detector, embedder, clip, store: CatalogStore):
        self.config = config
        self.detector = detector
        self.embedder = embedder
        self.clip = clip
        self.store = store
        self._text_cache: dict[str, np.ndarray] = {}
        self._clip_cache: dict[tuple[str, str], np.ndarray] = {}
        self._signature: str | None = None
        self._checked_at = -1e9  # when the index was last seen non-empty and built by our models
        self._cache_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config | None = None, store: CatalogStore | None = None) -> "Stylist":
        """Open the store (fails fast when a Chroma server is unreachable), then load the models."""
        config = config or load_config()
        store = store or CatalogStore.open(config)
        return cls(config, load_detector(config), load_embedder(config), load_clip(config), store)

    # --- inputs ------------------------------------------------------------------------------------
    def load_image(self, data: bytes | str | Path) -> Image.Image:
        """Safe decode (see stylist.images): upright RGB or BadImageError."""
        return load_image(data, self.config.max_pixels)

    def detect_items(self, img: Image.Image) -> list[Detection]:
        """Detected items, each named by the fused class (stylist.labels); the detector's own in detector_label."""
        return label_detections(img, self.detector.detect(img), self.embedder, self.store, CLASSES, CROP_PAD)

    def parse_text(self, text: str | None) -> ParsedQuery:
        return parse_query(text)

    # --- searching ---------------------------------------------------------------------------------
    def _check_index(self) -> None:
        """Empty index / wrong-model index -> a clear error; re-checked at most every few seconds."""
        if time.monotonic() - self._checked_at < CHECK_EVERY_S:
            return
        if self.store.count() == 0:
            raise EmptyIndexError(f"the catalog index at {self.store.location} is empty: "
                                  "run `stylist index build CATALOG.csv` (or `stylist demo`) first")
        built = self.store.models()
        if built.get("embedder_dim") and built["embedder_dim"] != str(self.embedder.dim):
            raise IndexUnavailableError(
                f"the index at {self.store.location} holds {built['embedder_dim']}-d vectors from "
                f"{built.get('embedder')}, but the current embedder {self.embedder.name} makes {self.embedder.dim}-d: "
                "rebuild it with `stylist index build CATALOG.csv`")
        if built.get("signature") and built["signature"] != self.signature:
            raise IndexUnavailableError(
                f"the index at {self.store.location} was built with other model weights ({built['signature']}; "
                f"now {self.signature}): update it with `stylist index build CATALOG.csv`")
        self._checked_at = time.monotonic()

    @property
    def signature(self) -> str:
        if self._signature is None:
            self._signature = model_signature(self.embedder, self.clip)
        return self._signature

    def _text_vector(self, terms: str) -> np.ndarray:
        with self._cache_lock:
            vec = self._text_cache.get(terms)
        if vec is None:
            vec = self.clip.embed_texts([terms])[0]
            with self._cache_lock:
                if len(self._text_cache) > 2048:
                    self._text_cache.clear()
                self._text_cache[terms] = vec
        return vec

    def _clip_vectors(self, hits: Sequence[Hit]) -> np.ndarray:
        """Stored CLIP image vectors of the candidates, cached by (id, fingerprint) so a changed product
        is never served a stale vector; popular candidates then skip the round trip to Chroma."""
        keys = [(h.id, str(h.meta.get("fingerprint", ""))) for h in hits]
        with self._cache_lock:
            found = {k: self._clip_cache[k] for k in keys if k in self._clip_cache}
        missing = [k for k in keys if k not in found]
        if missing:
            found.update(zip(missing, self.store.vectors(CLIP, [k[0] for k in missing])))
            with self._cache_lock:
                if len(self._clip_cache) + len(missing) > CLIP_CACHE_SIZE:
                    self._clip_cache.clear()
                self._clip_cache.update((k, found[k]) for k in missing)
        return np.stack([found[k] for k in keys])

    def embed_crop(self, img: Image.Image, detection: Detection | None) -> np.ndarray:
        crop = crop_box(img, detection.box, CROP_PAD) if detection is not None else img
        return self.embedder.embed([crop])[0]

    def _visual_candidates(self, vec: np.ndarray, need: int, query: ParsedQuery, detection: Detection | None,
                           mode: str, restrict_category: bool, enough: int) -> tuple[list[Hit], list[str]]:
        """Visual neighbours: restricted to the wanted/detected category (with fallback), plus — in full
        mode — neighbours that satisfy the parsed colour/price wishes, so re-ranking has some to promote.
        Also returns the item's kind (category list) used for those, so re-ranking can prefer it.
        ``enough`` (the page size) decides the category fallback: it must not depend on the page offset,
        or page 2 would be ranked among other candidates than page 1 and repeat or skip products."""
        n = max(self.config.candidates, need)
        categories = list(query.categories) if mode == "full" else []
        if not categories and restrict_category and detection is not None and detection.label in CLASSES:
            categories = [detection.label]
        hits = self.store.query(VISUAL, vec, n)
        if categories:
            # an unfiltered query is ~3x cheaper than a `where` one (notes §4/§6), and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if _category(h.meta) in categories]
            if len(same) < enough:
                same = _merge(same, self.store.query(VISUAL, vec, n, _where(None, categories, False)))
            hits = same if len(same) >= enough else _merge(same, hits)  # still too few: everything
        kind: list[str] = []
        if mode == "full" and (query.colors or query.max_price is not None or query.min_price is not None):
            # keep the item's kind while changing its colour: the asked category, the detected one, or
            # (whole image) the majority category of its nearest visual neighbours
            kind = categories or _majority_category(hits[:10])
            hits = _merge(self.store.query(VISUAL, vec, n, _where(query, kind, True)), hits)
        return hits, kind

    def search_item(self, img: Image.Image, detection: Detection | None = None, text: str | None = None,
                    top_k: int = 10, offset: int = 0, mode: str = "full", restrict_category: bool = False,
                    timings: dict[str, float] | None = None) -> ItemResult:
        """Products like the detected item (or the whole image when ``detection`` is None), refined by ``text``.

        ``mode``: "visual" = visual order only, "clip" = CLIP re-rank fused with the visual score,
        "full" = that plus the parsed colour/category/price wishes as filters and boosts (the default).
        ``restrict_category`` keeps only products of the detected class. Off by default: measured on 210
        held-out items the detector found, Recall@10 was 0.70 with it and 0.90 without — the detector's
        class is wrong more often than the embedder's neighbours are of another kind.
        ``timings``, when given, receives seconds per stage (embed, query, text, rerank) for benchmarks.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = _Clock(timings)
        self._check_index()
        query = parse_query(text)
        vec = self.embed_crop(img, detection)
        clock.lap("embed")
        hits, kind = self._visual_candidates(vec, offset + top_k, query, detection, mode, restrict_category, top_k)
        if not hits:
            return ItemResult(detection.index if detection else None, query, [])
        visual = np.array([h.similarity for h in hits])
        clip_scores = None
        if mode != "visual" and query.terms:
            clip_vecs = self._clip_vectors(hits)
            clock.lap("query")
            clip_scores = clip_vecs @ self._text_vector(query.terms)
            clock.lap("text")
        clock.lap("query")
        ranked = rerank([h.meta for h in hits], visual, clip_scores, query, self.config.text_weight,
                        use_filters=mode == "full", prefer_categories=kind)
        clock.lap("rerank")
        chosen = ranked.order[offset:offset + top_k]
        products = _products([hits[i] for i in chosen], ranked.scores[offset:offset + top_k])
        return ItemResult(detection.index if detection else None, query, products)

    def search_text(self, text: str, top_k: int = 10, offset: int = 0) -> ItemResult:
        """Text without a photo: CLIP text vector against the catalog's CLIP image vectors, with the filters."""
        self._check_index()
        query = parse_query(text)
        terms = query.terms or (query.text or "")
        if not terms:
            return ItemResult(None, query, [])
        vec = self._text_vector(terms)
        need = offset + top_k
        n = max(self.config.candidates, need)
        hits = self.store.query(CLIP, vec, n, _where(query, query.categories, True))
        if len(hits) < top_k:  # too narrow: keep the hard filters, let colour become a boost (page-independent)
            hits = _merge(hits, self.store.query(CLIP, vec, n, _where(query, query.categories, False)))
        if not hits:
            return ItemResult(None, query, [])
        ranked = rerank([h.meta for h in hits], None, np.array([h.similarity for h in hits]), query,
                        self.config.text_weight, use_filters=True)
        chosen = [hits[i] for i in ranked.order[offset:offset + top_k]]
        full = self.store.metadatas([h.id for h in chosen])  # the CLIP collection keeps slim metadata
        chosen = [Hit(h.id, h.similarity, full.get(h.id, h.meta)) for h in chosen]
        return ItemResult(None, query, _products(chosen, ranked.scores[offset:offset + top_k]))

    def search_image(self, img: Image.Image, items: Sequence[int] | str | None = "all", text: str | None = None,
                     top_k: int = 10) -> tuple[list[Detection], list[ItemResult]]:
        """Detect, then search the chosen items (indices, "all", or None = the best one); the whole image
        when nothing is detected. When the words name a category ("shoes") and items is "all"/None, only
        the detected items of that category are searched (if any). Raises UnknownItemError for an item
        number the photo does not have."""
        self._check_index()
        detections = self.detect_items(img)
        if not detections:
            if items not in (None, "all") and list(items) != [0]:  # type: ignore[arg-type]
                raise UnknownItemError(f"no items were detected, so there is no item {list(items)}; "  # type: ignore[arg-type]
                                       "leave out --item to search the whole image")
            return detections, [self.search_item(img, None, text, top_k)]
        named = parse_query(text).categories
        wanted_kind = [d for d in detections if d.label in named]
        if items in ("all", None) and wanted_kind:  # "shoes under 30" on an outfit: just the shoes
            chosen = wanted_kind
        elif items == "all":
            chosen = detections
        elif items is None:
            chosen = detections[:1]
        else:
            wanted = list(items)  # type: ignore[arg-type]
            bad = [i for i in wanted if not 0 <= i < len(detections)]
            if bad:
                raise UnknownItemError(f"item {bad[0]} does not exist: this photo has items 0–{len(detections) - 1}")
            chosen = [detections[i] for i in wanted]
        return detections, [self.search_item(img, d, text, top_k) for d in chosen]


__all__ = ["Stylist", "MODES", "load_detector", "load_embedder", "load_clip"]
