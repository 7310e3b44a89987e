"""What a search ranks: which items of a photo, and the catalogue products for each: its visual neighbours
(a photo's items fetched in one batch, each item named by its fused class), narrowed to or widened by the
shopper's refining words, and the CLIP neighbours of a text search."""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.catalog_profile import CatalogProfile, ProfileCache
from stylist.crop_vectors import PhotoCrops
from stylist.errors import UnknownItemError
from stylist.filtered import FilteredIndex, supported
from stylist.garment_photo import namer_may_decide, namer_says_one
from stylist.hits import Hit, merge_hits, where_filter
from stylist.item_kind import item_kind, shown_kinds
from stylist.item_namer import ItemNamer, View
from stylist.labels import FusedLabel
from stylist.photo_memo import PhotoMemo
from stylist.protocols import ClassNamer, ClipEncoder, CropEmbedder
from stylist.relax import refines, relax_query
from stylist.results import Detection, ParsedQuery
from stylist.schema import CLASSES
from stylist.store import CLIP, VISUAL, CatalogStore
from stylist.timing import StageClock
from stylist.white_view import ON_WHITE_MODELS, on_white_models, two_views, white_crops


CONTEXT_KIND_ONLY = True  # an item of a one-garment photo shows products of its fused kind(s) (see visual) ...
CONTEXT_OTHERS_KEPT = 2  # ... and only its few visually nearest products of other kinds


@dataclass
class Candidates:
    """One searched thing of a photo (a detected item, or the whole photo), fetched once when the photo
    arrived: its autoencoder and CLIP image vectors, its nearest catalogue products by autoencoder (unfiltered,
    best first: the candidates) and by CLIP image (label evidence), and its fused label (the whole photo's
    too, for refining words). Adding the CLIP neighbours to the candidates was measured on the val split and
    left out: top-5 majority class of real photos +0.00–0.03, exact-product recall unchanged or lower."""

    detection: Detection | None
    vector: np.ndarray
    hits: list[Hit]
    clip_vector: np.ndarray | None = None
    clip_hits: list[Hit] = field(default_factory=list)
    label: FusedLabel | None = None

    @property
    def kind(self) -> list[str]:
        """What the item is for refining words: [the fused class] when the fusion is sure of it, else []."""
        return item_kind(self.label)

    @property
    def shown_kinds(self) -> list[str]:
        """The kinds a one-garment photo's item shows: its kind, and the runner-up when the fusion hesitated."""
        return shown_kinds(self.label)


@dataclass
class Photo:
    """A photo searched once when it arrives: its detections and the candidates of each item, kept with the
    shopper's session so that a tap only re-ranks (``Stylist.rank``). ``items`` is keyed by detection
    index, and by None for the whole photo (searched up front only when nothing was detected)."""

    image: Image.Image
    detections: list[Detection]
    items: dict[int | None, Candidates]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def choose_items(detections: Sequence[Detection], items: Sequence[int] | str | None,
                 named: Sequence[str] = ()) -> list[Detection | None]:
    """The detections to search: ``items`` as indices, "all", or None = the best one; [None] (the whole
    image) when nothing was detected. When the words name categories (``named``, e.g. "shoes") and items is
    "all"/None, only the detected items of those categories (if any). Raises UnknownItemError for an item
    number the photo does not have."""
    if not detections:
        if items not in (None, "all") and list(items) != [0]:  # type: ignore[arg-type]
            raise UnknownItemError(f"no items were detected, so there is no item {list(items)}; "  # type: ignore[arg-type]
                                   "leave out --item to search the whole image")
        return [None]
    wanted_kind = [d for d in detections if d.label in named]
    if items in ("all", None) and wanted_kind:  # "shoes under 30" on an outfit: just the shoes
        return wanted_kind
    if items == "all":
        return list(detections)
    if items is None:
        return list(detections[:1])
    wanted = list(items)  # type: ignore[arg-type]
    bad = [i for i in wanted if not 0 <= i < len(detections)]
    if bad:
        raise UnknownItemError(f"item {bad[0]} does not exist: this photo has items 0–{len(detections) - 1}")
    return [detections[i] for i in wanted]


CONTEXT_SIDE = 256  # the whole photo, as context, is first shrunk (box filter) to about this longest side
_CONTEXTS = PhotoMemo()  # per photo: side -> the photo shrunk (the namer's one-garment decision, then the context)


def context_image(img: Image.Image, side: int = CONTEXT_SIDE) -> Image.Image:
    """The whole photo for the models that name its garment (they see <= 224 px): a cheap integer box-filter
    reduction first, so a 2000-px upload costs what a 300-px one does. Shrunk once per photo (~1 ms): on a
    photo the garment namer decides is one garment, the decision and then the context models read it."""
    factor = max(1, max(img.size) // side)
    return _CONTEXTS.once(img, ("context", side), lambda: img.reduce(factor)) if factor > 1 else img


def in_context(targets: Sequence[Detection | None]) -> list[bool]:
    """Per target, whether the whole photo is evidence for its name (decided by ``stylist.garment_photo.judged``)."""
    return [d is not None and d.whole_photo for d in targets]


class CandidateFinder:
    """Fetches candidates from the store. Thread-safe, as the store and ``FilteredIndex`` are."""

    def __init__(self, store: CatalogStore, embedder: CropEmbedder, clip: ClipEncoder, pool: int,
                 garment_namer: ClassNamer | None = None, white: str = ""):
        self.store = store
        self.embedder = embedder
        self.clip = clip  # the crops' CLIP image vectors: label evidence and the visual blend
        self.pool = pool  # a search ranks at least this many candidates (Config.candidates)
        self.namer = ItemNamer(embedder, clip, garment_namer=garment_namer)  # names items (stylist.item_namer)
        self.profiles = ProfileCache(store)
        self.filtered_index: FilteredIndex | None = None  # set by warm_filters()
        self.white = on_white_models(white)  # the models that see a photographed garment on white (white_crops)

    def profile(self) -> CatalogProfile:
        """What this catalog can satisfy (stylist.catalog_profile); recounted when the index size changes."""
        return self.profiles.get()

    def warm_filters(self) -> None:
        """Hold the visual vectors and filter fields in memory (stylist.filtered) so filtered neighbours
        ("in red", "under 50") take a few ms instead of a Chroma ``where`` query (36-66 ms)."""
        if self.filtered_index is None:
            index = FilteredIndex(self.store)
            index.query(np.zeros(self.embedder.dim, np.float32), 1, {"price": {"$gte": 0.0}})  # loads it
            self.filtered_index = index

    def filtered(self, vec: np.ndarray, n: int, where: dict | None) -> list[Hit]:
        """A filtered visual query: from memory once ``warm_filters`` ran (and the filter is one it reads)."""
        if self.filtered_index is not None and supported(where):
            return self.filtered_index.query(vec, n, where)
        return self.store.query(VISUAL, vec, n, where)

    def gather(self, img: Image.Image, targets: Sequence[Detection | None], n: int,
               clock: StageClock | None = None) -> list[Candidates]:
        """Everything a photo's items need, in one batch per model and one Chroma query per space: the crops'
        AE and CLIP image vectors, their nearest ``n`` products by AE and ``namer.k`` by CLIP image, the garment
        namer's guess, and each item named by the fused class (``stylist.labels``; the detector's own class
        kept in ``detector_label``).

        The whole photo is evidence for the names of the detections ``judged`` to be one garment
        (``Detection.whole_photo``); they keep that decision, so naming one of them again gives the same answer."""
        clock = clock or StageClock()
        flags = in_context(targets)
        whole_named = self._namer_decides(img, targets, flags)  # rule 4 of stylist.garment_photo
        if namer_says_one(whole_named):
            flags = [True] * len(targets)
        item_crops = PhotoCrops(img, [d.box if d is not None else None for d in targets])  # CLIP: once per photo
        crops = item_crops.crops
        k = len(crops)
        white = white_crops(img, crops, flags) if self.white else {}
        seen = {m: white if m in self.white else {} for m in ON_WHITE_MODELS}  # the views each model adds
        whole = context_image(img) if any(flags) else None
        ae_ctx, clip_ctx, namer_ctx = self._context_models(whole)
        namer_ctx = [] if whole_named is not None else namer_ctx  # the namer has seen the whole photo already
        vectors = two_views(self.embedder.embed, crops + ae_ctx, seen["ae"])
        clip_vectors = (two_views(item_crops.clip_embedder(self.clip), crops + clip_ctx, seen["clip"])
                        if self.namer.wants_clip else None)
        gn = self.namer.garment_namer
        namer = (two_views(gn.probs, crops + namer_ctx, seen["namer"], unit=False)
                 if gn is not None and self._namer_counts() else None)
        clock.lap("embed")
        hits = self.store.query_many(VISUAL, vectors[:k], n)
        clip_hits = (self.store.query_many(CLIP, clip_vectors[:k], self.namer.k)
                     if clip_vectors is not None else [[] for _ in targets])
        view = None
        if whole is not None:
            view = self._context_view(vectors[k] if ae_ctx else None,
                                      clip_vectors[k] if clip_ctx and clip_vectors is not None else None,
                                      namer[k] if namer_ctx and namer is not None else whole_named)
        clock.lap("candidates")
        names = self.namer.name(targets, vectors[:k], None if clip_vectors is None else clip_vectors[:k], hits,
                                clip_hits, None if namer is None else namer[:k], view, flags)
        found = []
        for i, (d, fused, ctx) in enumerate(zip(targets, names, flags)):
            if d is not None:
                d = dataclasses.replace(d, label=fused.label, detector_label=d.detector_label or d.label,
                                        whole_photo=ctx)
            found.append(Candidates(d, vectors[i], hits[i], None if clip_vectors is None else clip_vectors[i],
                                    clip_hits[i], fused))
        clock.lap("labels")
        return found

    def _namer_decides(self, img: Image.Image, targets: Sequence[Detection | None], flags: list[bool]) -> np.ndarray | None:
        """The garment namer's probabilities for the whole photo when it decides whether the photo is one garment
        (``stylist.garment_photo.namer_may_decide``: several unsure detections, not judged one garment; ~4 ms on
        those photos only), else None."""
        gn = self.namer.garment_namer
        if gn is None or any(flags) or self.namer.context_weights.context_namer <= 0 or not namer_may_decide(targets):
            return None
        return np.asarray(gn.probs([context_image(img)]), np.float64)[0]

    def _namer_counts(self) -> bool:
        w, cw = self.namer.weights, self.namer.context_weights
        return max(w.namer, cw.namer, cw.context_namer) > 0

    def _context_models(self, whole: Image.Image | None) -> tuple[list, list, list]:
        """Which models see the whole photo (AE, CLIP, namer): only those whose context sources count."""
        if whole is None:
            return [], [], []
        w = self.namer.context_weights
        ae = w.context_head > 0 or w.context_neighbours > 0
        clip = self.namer.wants_clip and (w.context_clip_neighbours > 0 or w.context_zero_shot > 0)
        namer = self.namer.garment_namer is not None and w.context_namer > 0
        return [whole] if ae else [], [whole] if clip else [], [whole] if namer else []

    def _context_view(self, vector: np.ndarray | None, clip_vector: np.ndarray | None,
                      namer: np.ndarray | None) -> View:
        """The whole photo's evidence; its neighbours fetched only when they count."""
        w = self.namer.context_weights
        hits = self.store.query(VISUAL, vector, self.namer.k) if vector is not None and w.context_neighbours > 0 else []
        clip_hits = (self.store.query(CLIP, clip_vector, self.namer.k)
                     if clip_vector is not None and w.context_clip_neighbours > 0 else [])
        return View(vector, clip_vector, hits, clip_hits, namer)

    def visual(self, cand: Candidates, need: int, query: ParsedQuery, mode: str, restrict_category: bool,
               enough: int) -> tuple[list[Hit], ParsedQuery, list[str]]:
        """Visual neighbours, and in full mode with refining words: the wishes fitted to the catalog
        (``relax_query``) and neighbours of the item's kind that meet them, so re-ranking has some to promote.
        Returns (hits, the query searched, the kind to prefer softly). The item's kind is the one the
        shopper named, else the kind the photo's label fusion found (``cand.kind``: "in red" on a black
        skirt shows red skirts) — no model runs and no extra query is made for it on a tap.
        ``enough`` (the page size) decides the fallbacks: it must not depend on the page offset, or page 2
        would be ranked among other candidates than page 1 and repeat or skip products.
        ``cand.hits``: the neighbours fetched when the photo arrived (a tap re-ranks them)."""
        n = max(self.pool, need)
        vec, detection = cand.vector, cand.detection
        hits = list(cand.hits[:n]) if len(cand.hits) >= n else self.store.query(VISUAL, vec, n)
        if mode == "full" and refines(query):
            guess = list(query.categories) or list(cand.kind)
            fitted = relax_query(query, self.profile(), guess, enough)
            query, kind = fitted.query, fitted.kind
            if kind and fitted.kind_is_filter and not query.categories:
                query = dataclasses.replace(query, categories=kind)  # the kind searched, shown back
            if kind:
                same = [h for h in hits if h.meta.get("category") in kind]  # normalised at index time
                if len(same) < enough:
                    same = merge_hits(same, self.filtered(vec, n, where_filter(None, kind, False)))
                hits = merge_hits(same, hits)
            hits = merge_hits(self.filtered(vec, n, where_filter(query, kind, True)), hits)
            return hits, query, ([] if fitted.kind_is_filter else kind)
        garment_photo = detection is not None and detection.whole_photo  # judged to be one garment
        if CONTEXT_KIND_ONLY and garment_photo and cand.kind and not restrict_category:
            # one garment photographed: its box is often a part whose own neighbours are of other kinds; the
            # fused kind (named with the whole photo) is the surer guide, so the candidates are products of
            # that kind (and of the runner-up when the fusion hesitated: stylist.item_kind.shown_kinds) plus
            # the few nearest of other kinds (an exact match survives a wrong kind). On the val split
            # (interim namer): top-5 majority class of real photos 0.58 -> 0.77, composites' Recall@10
            # unchanged (with no other kinds kept it fell 0.56 -> 0.42; with 4 kept real photos gained 0.09)
            kinds = cand.shown_kinds
            same = [h for h in hits if h.meta.get("category") in kinds]
            if len(same) < enough:
                same = merge_hits(same, self.filtered(vec, n, where_filter(None, kinds, False)))
            others = [h for h in hits if h.meta.get("category") not in kinds][:CONTEXT_OTHERS_KEPT]
            return (merge_hits(same, others) if len(same) >= enough else merge_hits(same, hits)), query, list(cand.kind)
        if restrict_category and detection is not None and detection.label in CLASSES:
            # an unfiltered Chroma query is ~3x cheaper than a `where` one, and a trained embedder's
            # neighbours are mostly of the item's kind; filter those, ask Chroma only when too few remain
            same = [h for h in hits if h.meta.get("category") == detection.label]
            if len(same) < enough:
                same = merge_hits(same, self.filtered(vec, n, where_filter(None, [detection.label], False)))
            hits = same if len(same) >= enough else merge_hits(same, hits)  # still too few: everything
        # no refining words: the fused kind is still preferred softly (full mode's re-rank): on the val split
        # the top-5 majority class of real photos rose 0.37 -> 0.44, exact-product recall did not move
        return hits, query, list(cand.kind)

    def for_text(self, vec: np.ndarray, query: ParsedQuery, n: int, enough: int) -> list[Hit]:
        """CLIP neighbours of a text vector under the query's filters, widened while fewer than ``enough``
        (the page size, so that the candidates do not depend on the page offset)."""
        hits = self.store.query(CLIP, vec, n, where_filter(query, query.categories, True))
        if len(hits) < enough:  # too narrow: keep the hard filters, let colour become a boost
            hits = merge_hits(hits, self.store.query(CLIP, vec, n, where_filter(query, query.categories, False)))
        if len(hits) < enough:  # still too narrow: candidates for the looser queries of the last resort
            hits = merge_hits(hits, self.store.query(CLIP, vec, n))
        return hits


__all__ = ["Candidates", "Photo", "CandidateFinder", "choose_items"]
