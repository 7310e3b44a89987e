"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once and is safe to share between
threads: the models lock around inference (an ultralytics model is not thread-safe, ultralytics#6174) and
Chroma clients are thread-safe. It keeps no per-request state, so the bot can run many searches at once.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.config import Config, load_config
from stylist.errors import UnknownItemError
from stylist.images import CROP_PAD, crop_box, load_image
from stylist.labels import label_detections
from stylist.models.registry import shared_clip, shared_detector, shared_embedder
from stylist.models.signature import model_signature
from stylist.query import parse_query
from stylist.rerank import rerank
from stylist.results import Detection, ItemResult, ParsedQuery, Product
from stylist.schema import CLASSES
from stylist.store import CLIP, VISUAL, CatalogStore, Hit, merge_hits, where_filter
from stylist.vectors import VectorCache

MODES = ("visual", "clip", "full")  # no re-rank / CLIP alone / CLIP + parsed filters (the eval compares them)
CHECK_EVERY_S = 5.0  # how often a search re-checks that the index is non-empty and matches the models


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


def _majority_category(hits: Sequence[Hit]) -> list[str]:
    """[category] when most of these neighbours share one (a k-NN guess of what the item is), else []."""
    cats = [str(h.meta.get("category") or "") for h in hits]
    if not cats:
        return []
    best = max(set(cats), key=cats.count)
    return [best] if best and cats.count(best) * 2 > len(cats) else []


class Stylist:
    """Models + store, loaded once. All public methods are thread-safe."""

    def __init__(self, config: Config, detector, embedder, clip, store: CatalogStore):
        self.config = config
        self.detector = detector
        self.embedder = embedder
        self.clip = clip
        self.store = store
        self.vectors = VectorCache(clip, store)
        self._signature: str | None = None
        self._checked_at = -1e9  # when the index was last seen non-empty and built by our models

    @classmethod
    def from_config(cls, config: Config | None = None, store: CatalogStore | None = None) -> "Stylist":
        """Open the store (fails fast when a Chroma server is unreachable), then load the models."""
        config = config or load_config()
        store = store or CatalogStore.open(config)
        return cls(config, shared_detector(config), shared_embedder(config), shared_clip(config), store)

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
        self.store.check_usable(self.embedder.name, self.embedder.dim, self.signature)
        self._checked_at = time.monotonic()

    @property
    def signature(self) -> str:
        if self._signature is None:
            self._signature = model_signature(self.embedder, self.clip)
        return self._signature

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
            # an unfiltered Chroma query is ~3x cheaper than a `where` one, and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if h.meta.get("category") in categories]  # normalised at index time
            if len(same) < enough:
                same = merge_hits(same, self.store.query(VISUAL, vec, n, where_filter(None, categories, False)))
            hits = same if len(same) >= enough else merge_hits(same, hits)  # still too few: everything
        kind: list[str] = []
        if mode == "full" and (query.colors or query.max_price is not None or query.min_price is not None):
            # keep the item's kind while changing its colour: the asked category, the detected one, or
            # (whole image) the majority category of its nearest visual neighbours
            kind = categories or _majority_category(hits[:10])
            hits = merge_hits(self.store.query(VISUAL, vec, n, where_filter(query, kind, True)), hits)
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
            clip_vecs = self.vectors.images(hits)
            clock.lap("query")
            clip_scores = clip_vecs @ self.vectors.text(query.terms)
            clock.lap("text")
        clock.lap("query")
        ranked = rerank([h.meta for h in hits], visual, clip_scores, query, self.config.text_weight,
                        use_filters=mode == "full", prefer_categories=kind)
        clock.lap("rerank")
        chosen = ranked.order[offset:offset + top_k]
        products = [Product.from_meta(hits[i].id, s, hits[i].meta) for i, s in zip(chosen, ranked.scores[offset:])]
        return ItemResult(detection.index if detection else None, query, products)

    def search_text(self, text: str, top_k: int = 10, offset: int = 0) -> ItemResult:
        """Text without a photo: CLIP text vector against the catalog's CLIP image vectors, with the filters."""
        self._check_index()
        query = parse_query(text)
        terms = query.terms or (query.text or "")
        if not terms:
            return ItemResult(None, query, [])
        vec = self.vectors.text(terms)
        need = offset + top_k
        n = max(self.config.candidates, need)
        hits = self.store.query(CLIP, vec, n, where_filter(query, query.categories, True))
        if len(hits) < top_k:  # too narrow: keep the hard filters, let colour become a boost (page-independent)
            hits = merge_hits(hits, self.store.query(CLIP, vec, n, where_filter(query, query.categories, False)))
        if not hits:
            return ItemResult(None, query, [])
        ranked = rerank([h.meta for h in hits], None, np.array([h.similarity for h in hits]), query,
                        self.config.text_weight, use_filters=True)
        chosen = [hits[i] for i in ranked.order[offset:offset + top_k]]
        full = self.store.metadatas([h.id for h in chosen])  # the CLIP collection keeps slim metadata
        chosen = [Hit(h.id, h.similarity, full.get(h.id, h.meta)) for h in chosen]
        return ItemResult(None, query, [Product.from_meta(h.id, s, h.meta) for h, s in zip(chosen, ranked.scores[offset:])])

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


__all__ = ["Stylist", "MODES"]
