"""A photo's ranked search: analyse a photo once (detect, embed every item, fetch all candidates), then rank
one item's products on every tap (visual order, CLIP re-rank, the shopper's refining words).

``stylist.search.Stylist`` is the facade front ends use; this is the orchestration behind its ``photo``,
``rank`` and ``search_item``. Thread-safe: it keeps no per-request state (a ``Photo`` guards its own cache).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from PIL import Image

from stylist.candidates import CandidateFinder, Candidates, Photo
from stylist.clip_colours import ClipColours
from stylist.config import Config
from stylist.errors import UnknownItemError
from stylist.garment_photo import judged
from stylist.protocols import ItemDetector
from stylist.query import parse_query
from stylist.relax import rerank_or_loosen
from stylist.rerank import VISUAL_BLEND, blend_visual
from stylist.results import Detection, ItemResult, Product
from stylist.timing import StageClock
from stylist.vectors import VectorCache
from stylist.word_scores import WordScores, word_scores

MODES = ("visual", "clip", "full")  # no re-rank / CLIP alone / CLIP + parsed filters (the eval compares them)


class PhotoSearch:
    """The served detector, the candidate finder, the CLIP vector cache and colours of one ``Stylist``;
    ``check_index`` raises when the index cannot be searched (an empty or wrong-model index)."""

    def __init__(self, config: Config, detector: ItemDetector, candidates: CandidateFinder, vectors: VectorCache,
                 colours: ClipColours, check_index: Callable[[], None]):
        self.config = config
        self.detector = detector
        self.candidates = candidates
        self.vectors = vectors
        self.colours = colours
        self._check_index = check_index

    def _start(self, mode: str, timings: dict[str, float] | None) -> StageClock:
        """What every ranked search checks first (a known mode, a usable index), with its stage clock running."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        clock = StageClock(timings)
        self._check_index()
        return clock

    def search_item(self, img: Image.Image, detection: Detection | None = None, text: str | None = None,
                    top_k: int = 10, offset: int = 0, mode: str = "full", restrict_category: bool = False,
                    timings: dict[str, float] | None = None) -> ItemResult:
        """One item searched from scratch (``Stylist.search_item``): its candidates, then ``_search``."""
        clock = self._start(mode, timings)
        cand = self.candidates.gather(img, [detection], max(self.config.candidates, offset + top_k), clock)[0]
        return self._search(cand, text, top_k, offset, mode, restrict_category, clock)

    def _search(self, cand: Candidates, text: str | None, top_k: int, offset: int, mode: str,
                restrict_category: bool, clock: StageClock) -> ItemResult:
        """The ranking shared by ``search_item`` and ``rank`` (``cand``: the item's vectors and neighbours)."""
        query, detection = parse_query(text), cand.detection
        hits, query, prefer = self.candidates.visual(cand, offset + top_k, query, mode, restrict_category, top_k)
        if not hits:
            return ItemResult(detection.index if detection else None, query, [])
        need_clip = (mode != "visual" and (query.terms or query.exclude_terms)) or VISUAL_BLEND > 0
        clip_vecs = self.vectors.images(hits) if need_clip else None
        looks = clip_vecs @ cand.clip_vector if clip_vecs is not None and cand.clip_vector is not None else None
        visual = blend_visual(np.array([h.similarity for h in hits]), looks, VISUAL_BLEND)
        words = WordScores()
        if mode != "visual" and (query.terms or query.exclude_terms):
            clock.lap("query")
            words = word_scores(clip_vecs, query, self.vectors.text, self.colours, mode == "full")
            clock.lap("text")
        clock.lap("query")
        ranked, query = rerank_or_loosen([h.meta for h in hits], visual, words.clip, query, self.config.text_weight,
                                         mode == "full", prefer, words.evidence, words.excluded)
        clock.lap("rerank")
        chosen = ranked.order[offset:offset + top_k]
        products = [Product.from_meta(hits[i].id, s, hits[i].meta) for i, s in zip(chosen, ranked.scores[offset:])]
        return ItemResult(detection.index if detection else None, query, products)

    def photo(self, img: Image.Image, detections: Sequence[Detection] | None = None,
              timings: dict[str, float] | None = None) -> Photo:
        """A photo analysed once (``Stylist.photo``): its detections and every item's candidates."""
        clock = StageClock(timings)
        self._check_index()
        found_boxes = judged(self.detector.detect(img) if detections is None else list(detections), img)
        clock.lap("detect")
        found = self.candidates.gather(img, list(found_boxes) or [None], self.config.candidates, clock)
        if VISUAL_BLEND > 0:  # the candidates' CLIP vectors, read now so that a tap finds them cached
            self.vectors.images(list({h.id: h for c in found for h in c.hits}.values()))
            clock.lap("clip vectors")
        named = [c.detection for c in found if c.detection is not None]
        return Photo(img, named, {(c.detection.index if c.detection else None): c for c in found})

    def rank(self, photo: Photo, item: int | None = None, text: str | None = None, top_k: int = 10, offset: int = 0,
             mode: str = "full", restrict_category: bool = False,
             timings: dict[str, float] | None = None) -> ItemResult:
        """Products for one item of an analysed ``photo`` (``Stylist.rank``), from the candidates it holds."""
        clock = self._start(mode, timings)
        with photo.lock:  # guards the photo's own cache of candidates
            cand = photo.items.get(item)
            if cand is None:
                detection = next((d for d in photo.detections if d.index == item), None)
                if item is not None and detection is None:
                    raise UnknownItemError(f"item {item} does not exist in this photo")
                cand = self.candidates.gather(photo.image, [detection], max(self.config.candidates, offset + top_k),
                                              clock)[0]
                photo.items[item] = cand
        return self._search(cand, text, top_k, offset, mode, restrict_category, clock)


__all__ = ["PhotoSearch", "MODES"]
