"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once and is safe to share between
threads: the models lock around inference (an ultralytics model is not thread-safe, ultralytics#6174) and
Chroma clients are thread-safe. It keeps no per-request state, so the bot can run many searches at once.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
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


@dataclass
class Candidates:
    """One searched thing of a photo (a detected item, or the whole photo): its visual vector and its nearest
    catalogue products (unfiltered, best first), fetched once when the photo arrived."""

    detection: Detection | None
    vector: np.ndarray
    hits: list[Hit]


@dataclass
class Photo:
    """A photo searched once when it arrives: its detections and the candidates of each item, kept with the
    shopper's session so that a tap only re-ranks (``Stylist.rank``). ``items`` is keyed by detection
    index, and by None for the whole photo (searched up front only when nothing was detected)."""

    image: Image.Image
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
                           enough: int, known: Sequence[Hit] | None = None) -> tuple[list[Hit], ParsedQuery, list[str]]:
        """Visual neighbours, and in full mode with refining words: the wishes fitted to the catalog
        (``relax_query``) and neighbours of the item's kind that meet them, so re-ranking has some to promote.
        Returns (hits, the query searched, the kind to prefer softly). The item's kind is the one the
        shopper named, else the fused guess of ``item_kind`` ("in red" on a black skirt shows red skirts).
        ``enough`` (the page size) decides the fallbacks: it must not depend on the page offset, or page 2
        would be ranked among other candidates than page 1 and repeat or skip products."""
        n = max(self.config.candidates, need)
        # ``known``: the neighbours the photo fetched when it arrived (a tap re-ranks them)
        hits = list(known[:n]) if known is not None and len(known) >= n else self.store.query(VISUAL, vec, n)
        if mode == "full" and _refines(query):
            guess = list(query.categories) or self.item_kind(img, detection, hits)
            fitted = relax_query(query, self.profile(), guess, enough)
            query, kind = fitted.query, fitted.kind
            if kind and fitted.kind_is_filter and not query.categories:
                query = dataclasses.replace(query, categories=kind)  # the kind searched, shown back
            if kind:
                same = [h for h in hits if h.meta.get("category") in kind]  # normalised at index time
                if len(same) < enough:
                    same = merge_hits(same, self._filtered(vec, n, where_filter(None, kind, False)))
                hits = merge_hits(same, hits)
            hits = merge_hits(self._filtered(vec, n, where_filter(query, kind, True)), hits)
            return hits, query, ([] if fitted.kind_is_filter else kind)
        if restrict_category and detection is not None and detection.label in CLASSES:
            # an unfiltered Chroma query is ~3x cheaper than a `where` one, and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if h.meta.get("category") == detection.label]
            if len(same) < enough:
                same = merge_hits(same, self._filtered(vec, n, where_filter(None, [detection.label], False)))
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
        A photo searched item after item is cheaper through ``photo`` + ``rank`` (same results).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = _Clock(timings)
        self._check_index()
        vec = self.embed_crop(img, detection)
        clock.lap("embed")
        return self._search(img, detection, vec, None, text, top_k, offset, mode, restrict_category, clock)

    def _search(self, img: Image.Image, detection: Detection | None, vec: np.ndarray, known: Sequence[Hit] | None,
                text: str | None, top_k: int, offset: int, mode: str, restrict_category: bool,
                clock: _Clock) -> ItemResult:
        """The ranking shared by ``search_item`` and ``rank`` (``known``: neighbours fetched before)."""
        query = parse_query(text)
        hits, query, prefer = self._visual_candidates(img, vec, offset + top_k, query, detection, mode,
                                                      restrict_category, top_k, known)
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

    def _filtered(self, vec: np.ndarray, n: int, where: dict | None) -> list[Hit]:
        """A filtered visual query: from memory once ``warm_filters`` ran (and the filter is one it reads)."""
        from stylist.filtered import supported

        if self._filtered_index is not None and supported(where):
            return self._filtered_index.query(vec, n, where)
        return self.store.query(VISUAL, vec, n, where)

    def warm_filters(self) -> None:
        """Hold the visual vectors and filter fields in memory (stylist.filtered) so filtered neighbours
        ("in red", "under 50") take a few ms instead of a Chroma ``where`` query (36-66 ms); worth it for
        a long-running process (the bot, a CLI run over many photos), not for one search."""
        from stylist.filtered import FilteredIndex

        if self._filtered_index is None:
            index = FilteredIndex(self.store)
            index.query(np.zeros(self.embedder.dim, np.float32), 1, {"price": {"$gte": 0.0}})  # loads it
            self._filtered_index = index

    def warm_vocabulary(self, compute: bool = True) -> int:
        """Embed (or read from the cache) the CLIP text vectors of the common refinements ("in red",
        "leather", "red dress", ...) so a tap with such words skips the text encoder; returns how many.
        ``compute=False`` only reads an earlier cache (cheap: what a one-off CLI search does)."""
        from stylist.vocabulary import text_vectors

        vectors = text_vectors(self.clip, self.config.cache_dir / "runtime", compute=compute)
        self.vectors.add_texts(vectors)
        return len(vectors)

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
             mode: str = "full", restrict_category: bool = False,
             timings: dict[str, float] | None = None) -> ItemResult:
        """Products for one item of an analysed ``photo`` (None = the whole photo), refined by ``text``:
        the same ranking as ``search_item``, from the candidates the photo already holds."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = _Clock(timings)
        self._check_index()
        with photo.lock:  # guards the photo's own cache of candidates
            cand = photo.items.get(item)
            if cand is None:
                detection = next((d for d in photo.detections if d.index == item), None)
                if item is not None and detection is None:
                    raise UnknownItemError(f"item {item} does not exist in this photo")
                cand = self._candidates(photo.image, [detection], max(self.config.candidates, offset + top_k),
                                        clock)[0]
                photo.items[item] = cand
        return self._search(photo.image, cand.detection, cand.vector, cand.hits, text, top_k, offset, mode,
                            restrict_category, clock)

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


__all__ = ["Stylist", "MODES", "Photo", "Candidates"]
