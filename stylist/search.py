"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once and is safe to share between
threads: the models lock around inference (an ultralytics model is not thread-safe, ultralytics#6174) and
Chroma clients are thread-safe. It keeps no per-request state, so the bot can run many searches at once.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.catalog_profile import CatalogProfile, item_kind, profile_metadata, relax_query
from stylist.colors import color_family
from stylist.config import Config, load_config
from stylist.garment_color import CLIP_FAMILIES, clip_family_probs, clip_family_prompts
from stylist.errors import UnknownItemError
from stylist.images import CROP_PAD, crop_box, load_image
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
KIND_NEIGHBOURS = 10  # visual and CLIP neighbours that vote on what the item is (stylist.catalog_profile.item_kind)


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


def _refines(query: ParsedQuery) -> bool:
    """Words that change what to show (colour, kind, price, exclusions), not only how to rank it."""
    return bool(query.colors or query.categories or query.max_price is not None or query.min_price is not None
                or query.cheap or query.exclude_colors or query.exclude_categories)


def _looser(query: ParsedQuery) -> list[tuple[ParsedQuery, str]]:
    """Ever looser versions of ``query``, in the relaxation order (price, category, colour, exclusions),
    each with what it dropped: the last resort when the catalog profile allowed a combination that the
    candidates still cannot meet (e.g. red *and* under 50 *and* a dress)."""
    steps, q = [], query
    if q.max_price is not None or q.min_price is not None:
        q = dataclasses.replace(q, max_price=None, min_price=None)
        steps.append((q, "the price limit"))
    if q.categories:
        q = dataclasses.replace(q, categories=[])
        steps.append((q, "the kind"))
    if q.colors:
        q = dataclasses.replace(q, colors=[])
        steps.append((q, "the colour"))
    if q.exclude_colors or q.exclude_categories:
        q = dataclasses.replace(q, exclude_colors=[], exclude_categories=[])
        steps.append((q, "the exclusions"))
    return steps


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
        self._profile: tuple[int, CatalogProfile] | None = None  # (product count it was made at, profile)
        self._profile_lock = threading.Lock()
        self._colour_prompts: np.ndarray | None = None  # CLIP text vectors of the colour families (lazy)

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
        return self.detector.detect(img)

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

    def profile(self) -> CatalogProfile:
        """What this catalog can satisfy (stylist.catalog_profile); recounted when the index size changes."""
        count = self.store.count()
        with self._profile_lock:
            if self._profile is None or self._profile[0] != count:
                self._profile = (count, profile_metadata(self.store.all_metadata().values()))
            return self._profile[1]

    def color_evidence(self, clip_vectors: np.ndarray, colors: Sequence[str]) -> np.ndarray | None:
        """Per candidate, CLIP's probability (from its stored image vector) that it shows one of ``colors``."""
        families = {color_family(c) for c in colors} & set(CLIP_FAMILIES)
        if not families or not len(clip_vectors):
            return None
        if self._colour_prompts is None:
            self._colour_prompts = clip_family_prompts(self.clip)
        probs = clip_family_probs(clip_vectors, self._colour_prompts)
        return probs[:, [CLIP_FAMILIES.index(f) for f in sorted(families)]].sum(axis=1)

    def item_kind(self, img: Image.Image, detection: Detection | None, visual_hits: Sequence[Hit]) -> list[str]:
        """What the item is: its visual and CLIP neighbours' categories and the detector's label, fused."""
        crop = crop_box(img, detection.box, CROP_PAD) if detection is not None else img
        clip_hits = self.store.query(CLIP, self.clip.embed_images([crop])[0], KIND_NEIGHBOURS)
        cats = [str(h.meta.get("category") or "") for h in [*visual_hits[:KIND_NEIGHBOURS], *clip_hits]]
        return item_kind(cats, detection.label if detection else None, detection.score if detection else 0.0)

    def embed_crop(self, img: Image.Image, detection: Detection | None) -> np.ndarray:
        crop = crop_box(img, detection.box, CROP_PAD) if detection is not None else img
        return self.embedder.embed([crop])[0]

    def _visual_candidates(self, img: Image.Image, vec: np.ndarray, need: int, query: ParsedQuery,
                           detection: Detection | None, mode: str, restrict_category: bool,
                           enough: int) -> tuple[list[Hit], ParsedQuery, list[str]]:
        """Visual neighbours, and in full mode with refining words: the wishes fitted to the catalog
        (``relax_query``) and neighbours of the item's kind that meet them, so re-ranking has some to promote.
        Returns (hits, the query searched, the kind to prefer softly). The item's kind is the one the
        shopper named, else the fused guess of ``item_kind`` ("in red" on a black skirt shows red skirts).
        ``enough`` (the page size) decides the fallbacks: it must not depend on the page offset, or page 2
        would be ranked among other candidates than page 1 and repeat or skip products."""
        n = max(self.config.candidates, need)
        hits = self.store.query(VISUAL, vec, n)
        if mode == "full" and _refines(query):
            guess = list(query.categories) or self.item_kind(img, detection, hits)
            fitted = relax_query(query, self.profile(), guess, enough)
            query, kind = fitted.query, fitted.kind
            if kind and fitted.kind_is_filter and not query.categories:
                query = dataclasses.replace(query, categories=kind)  # the kind searched, shown back
            if kind:
                same = [h for h in hits if h.meta.get("category") in kind]  # normalised at index time
                if len(same) < enough:
                    same = merge_hits(same, self.store.query(VISUAL, vec, n, where_filter(None, kind, False)))
                hits = merge_hits(same, hits)
            hits = merge_hits(self.store.query(VISUAL, vec, n, where_filter(query, kind, True)), hits)
            return hits, query, ([] if fitted.kind_is_filter else kind)
        if restrict_category and detection is not None and detection.label in CLASSES:
            # an unfiltered Chroma query is ~3x cheaper than a `where` one, and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if h.meta.get("category") == detection.label]
            if len(same) < enough:
                same = merge_hits(same, self.store.query(VISUAL, vec, n, where_filter(None, [detection.label], False)))
            hits = same if len(same) >= enough else merge_hits(same, hits)  # still too few: everything
        return hits, query, []

    def _rank(self, hits: Sequence[Hit], visual: np.ndarray | None, clip_scores: np.ndarray | None,
              query: ParsedQuery, use_filters: bool, prefer: Sequence[str], evidence: np.ndarray | None = None):
        """Re-rank; when the filters leave nothing, loosen the query step by step and say what was dropped."""
        metas = [h.meta for h in hits]
        ranked = rerank(metas, visual, clip_scores, query, self.config.text_weight, use_filters, prefer, evidence)
        for looser, dropped in ([] if len(ranked.order) or not use_filters else _looser(query)):
            ranked = rerank(metas, visual, clip_scores, looser, self.config.text_weight, use_filters, prefer, evidence)
            if len(ranked.order):
                query = dataclasses.replace(looser, relaxed=[*query.relaxed, f"nothing matched with {dropped}"])
                break
        return ranked, query

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
        hits, query, prefer = self._visual_candidates(img, vec, offset + top_k, query, detection, mode,
                                                      restrict_category, top_k)
        if not hits:
            return ItemResult(detection.index if detection else None, query, [])
        visual = np.array([h.similarity for h in hits])
        clip_scores = evidence = None
        if mode != "visual" and query.terms:
            clip_vecs = self.vectors.images(hits)
            clock.lap("query")
            clip_scores = clip_vecs @ self.vectors.text(query.terms)
            if mode == "full" and query.colors:  # colours read from pixels get CLIP's second look
                evidence = self.color_evidence(clip_vecs, query.colors)
            clock.lap("text")
        clock.lap("query")
        ranked, query = self._rank(hits, visual, clip_scores, query, mode == "full", prefer, evidence)
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
        query = relax_query(query, self.profile(), query.categories, top_k).query  # fit the wishes to the catalog
        need = offset + top_k
        n = max(self.config.candidates, need)
        hits = self.store.query(CLIP, vec, n, where_filter(query, query.categories, True))
        if len(hits) < top_k:  # too narrow: keep the hard filters, let colour become a boost (page-independent)
            hits = merge_hits(hits, self.store.query(CLIP, vec, n, where_filter(query, query.categories, False)))
        if len(hits) < top_k:  # still too narrow: candidates for the looser queries of the last resort
            hits = merge_hits(hits, self.store.query(CLIP, vec, n))
        if not hits:
            return ItemResult(None, query, [])
        ranked, query = self._rank(hits, None, np.array([h.similarity for h in hits]), query, True, ())
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
