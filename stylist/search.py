"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once and is safe to share between
threads: the models lock around inference (an ultralytics model is not thread-safe, ultralytics#6174) and
Chroma clients are thread-safe. It keeps no per-request state, so the bot can run many searches at once.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.config import Config, load_config
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


@dataclass
class Candidates:
    """One searched thing of a photo (a detected item, or the whole photo): its visual vector, its nearest
    catalogue products (unfiltered, best first) and the filtered queries already asked for it."""

    detection: Detection | None
    vector: np.ndarray
    hits: list[Hit]
    filtered: dict[str, list[Hit]] = field(default_factory=dict)  # json of the `where` -> its hits

    def within(self, n: int) -> bool:
        return len(self.hits) >= n


@dataclass
class Photo:
    """A photo searched once when it arrives: its detections and the candidates of each item, kept with the
    shopper's session so that a tap only re-ranks (``Stylist.rank``). ``items`` is keyed by detection
    index, and by None for the whole photo (searched up front only when nothing was detected)."""

    image: Image.Image | None  # None once a caller keeps the pixels elsewhere (see ``Stylist.rank``)
    detections: list[Detection]
    items: dict[int | None, Candidates]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


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
        self._filtered_index = None  # stylist.filtered.FilteredIndex once warm_filters() ran

    @classmethod
    def from_config(cls, config: Config | None = None, store: CatalogStore | None = None) -> "Stylist":
        """Open the store (fails fast when a Chroma server is unreachable), then load the models."""
        config = config or load_config()
        store = store or CatalogStore.open(config)
        return cls(config, shared_detector(config), shared_embedder(config), shared_clip(config), store)

    def warm_vocabulary(self, compute: bool = True) -> int:
        """Embed (or read from the cache) the CLIP text vectors of the common refinements ("in red",
        "leather", "red dress", ...) so a tap with such words skips the text encoder; returns how many.
        ``compute=False`` only reads an earlier cache (cheap: what a one-off CLI search does)."""
        from stylist.vocabulary import text_vectors

        vectors = text_vectors(self.clip, self.config.cache_dir / "runtime", compute=compute)
        self.vectors.add_texts(vectors)
        return len(vectors)

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

    def embed_crop(self, img: Image.Image, detection: Detection | None) -> np.ndarray:
        crop = crop_box(img, detection.box, CROP_PAD) if detection is not None else img
        return self.embedder.embed([crop])[0]

    def warm_filters(self) -> None:
        """Hold the visual vectors and filter fields in memory (stylist.filtered) so filtered neighbours
        ("in red", "under 50") take a few ms instead of a Chroma ``where`` query (36-66 ms); worth it for
        a long-running process (the bot, a CLI run over many photos), not for one search."""
        from stylist.filtered import FilteredIndex

        if self._filtered_index is None:
            index = FilteredIndex(self.store)
            index.query(np.zeros(self.embedder.dim, np.float32), 1, {"price": {"$gte": 0.0}})  # loads it
            self._filtered_index = index

    def _filtered(self, cand: Candidates, n: int, where: dict) -> list[Hit]:
        """A filtered visual query for this item, asked once per photo (a "More" page reuses it)."""
        from stylist.filtered import supported

        key = json.dumps(where, sort_keys=True) + f"|{n}"
        hits = cand.filtered.get(key)
        if hits is None:
            if self._filtered_index is not None and supported(where):
                hits = self._filtered_index.query(cand.vector, n, where)
            else:
                hits = self.store.query(VISUAL, cand.vector, n, where)
            cand.filtered[key] = hits
        return hits

    def _visual_candidates(self, cand: Candidates, need: int, query: ParsedQuery, mode: str,
                           restrict_category: bool, enough: int) -> tuple[list[Hit], list[str]]:
        """Visual neighbours: restricted to the wanted/detected category (with fallback), plus — in full
        mode — neighbours that satisfy the parsed colour/price wishes, so re-ranking has some to promote.
        Also returns the item's kind (category list) used for those, so re-ranking can prefer it.
        ``enough`` (the page size) decides the category fallback: it must not depend on the page offset,
        or page 2 would be ranked among other candidates than page 1 and repeat or skip products."""
        n = max(self.config.candidates, need)
        detection = cand.detection
        categories = list(query.categories) if mode == "full" else []
        if not categories and restrict_category and detection is not None and detection.label in CLASSES:
            categories = [detection.label]
        if not cand.within(n):  # a deep page: more neighbours than the photo fetched
            cand.hits = self.store.query(VISUAL, cand.vector, n)
        hits = cand.hits[:n]
        if categories:
            # an unfiltered Chroma query is ~3x cheaper than a `where` one, and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if h.meta.get("category") in categories]  # normalised at index time
            if len(same) < enough:
                same = merge_hits(same, self._filtered(cand, n, where_filter(None, categories, False)))
            hits = same if len(same) >= enough else merge_hits(same, hits)  # still too few: everything
        kind: list[str] = []
        if mode == "full" and (query.colors or query.max_price is not None or query.min_price is not None):
            # keep the item's kind while changing its colour: the asked category, the detected one, or
            # (whole image) the majority category of its nearest visual neighbours
            kind = categories or _majority_category(hits[:10])
            hits = merge_hits(self._filtered(cand, n, where_filter(query, kind, True)), hits)
        return hits, kind

    def _candidates(self, img: Image.Image, targets: Sequence[Detection | None], n: int,
                    clock: _Clock | None = None) -> list[Candidates]:
        """Every target's crop embedded in one batch, then one Chroma query for all of them."""
        clock = clock or _Clock(None)
        crops = [crop_box(img, d.box, CROP_PAD) if d is not None else img for d in targets]
        vectors = self.embedder.embed(crops)
        clock.lap("embed")
        hits = self.store.query_many(VISUAL, vectors, n)
        clock.lap("candidates")
        return [Candidates(d, v, h) for d, v, h in zip(targets, vectors, hits)]

    def photo(self, img: Image.Image, detections: Sequence[Detection] | None = None,
              timings: dict[str, float] | None = None) -> Photo:
        """A photo has arrived: detect (unless ``detections`` are given), embed every detected item in one
        batch and fetch all their candidates in one Chroma query (the whole photo's when nothing is
        detected). Taps then only re-rank (``rank``)."""
        clock = _Clock(timings)
        self._check_index()
        detections = self.detect_items(img) if detections is None else list(detections)
        clock.lap("detect")
        targets: list[Detection | None] = list(detections) or [None]
        found = self._candidates(img, targets, self.config.candidates, clock)
        return Photo(img, detections, {(c.detection.index if c.detection else None): c for c in found})

    def rank(self, photo: Photo, item: int | None = None, text: str | None = None, top_k: int = 10, offset: int = 0,
             mode: str = "full", restrict_category: bool = False, timings: dict[str, float] | None = None,
             image: Image.Image | None = None) -> ItemResult:
        """Products for one item of an analysed ``photo`` (None = the whole photo), refined by ``text``:
        the same ranking as ``search_item``, from the candidates the photo already holds. ``image`` stands in
        for ``photo.image`` when the caller dropped the pixels (only needed for an item not searched yet)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = _Clock(timings)
        with photo.lock:  # one shopper's taps are ordered; this only guards the photo's own caches
            cand = photo.items.get(item)
            if cand is None:
                detection = next((d for d in photo.detections if d.index == item), None)
                if item is not None and detection is None:
                    raise UnknownItemError(f"item {item} does not exist in this photo")
                pixels = image if image is not None else photo.image
                if pixels is None:
                    raise ValueError("this photo's pixels were dropped: pass image= to search a new item of it")
                cand = self._candidates(pixels, [detection], max(self.config.candidates, offset + top_k), clock)[0]
                photo.items[item] = cand
            return self._rank(cand, text, top_k, offset, mode, restrict_category, clock)

    def _rank(self, cand: Candidates, text: str | None, top_k: int, offset: int, mode: str,
              restrict_category: bool, clock: _Clock) -> ItemResult:
        self._check_index()
        query = parse_query(text)
        detection = cand.detection
        hits, kind = self._visual_candidates(cand, offset + top_k, query, mode, restrict_category, top_k)
        clock.lap("query")
        if not hits:
            return ItemResult(detection.index if detection else None, query, [])
        visual = np.array([h.similarity for h in hits])
        clip_scores = None
        if mode != "visual" and query.terms:
            clip_vecs = self.vectors.images(hits)
            clock.lap("clip vectors")
            clip_scores = clip_vecs @ self.vectors.text(query.terms)
            clock.lap("text")
        ranked = rerank([h.meta for h in hits], visual, clip_scores, query, self.config.text_weight,
                        use_filters=mode == "full", prefer_categories=kind)
        clock.lap("rerank")
        chosen = ranked.order[offset:offset + top_k]
        products = [Product.from_meta(hits[i].id, s, hits[i].meta) for i, s in zip(chosen, ranked.scores[offset:])]
        return ItemResult(detection.index if detection else None, query, products)

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
        A photo searched item after item is cheaper through ``photo`` + ``rank``.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = _Clock(timings)
        self._check_index()
        crop = crop_box(img, detection.box, CROP_PAD) if detection is not None else img
        vector = self.embedder.embed([crop])[0]
        clock.lap("embed")
        hits = self.store.query(VISUAL, vector, max(self.config.candidates, offset + top_k))
        cand = Candidates(detection, vector, hits)
        return self._rank(cand, text, top_k, offset, mode, restrict_category, clock)

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


__all__ = ["Stylist", "MODES", "Photo", "Candidates"]
