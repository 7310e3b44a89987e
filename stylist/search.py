"""The search pipeline behind every front end: detect -> crop -> embed -> Chroma candidates -> CLIP re-rank.

``Stylist`` loads the three models and the store once and is safe to share between
threads: the models lock around inference (an ultralytics model is not thread-safe, ultralytics#6174) and
Chroma clients are thread-safe. It keeps no per-request state, so the bot can run many searches at once.
A photo's searches (``photo``, ``rank``, ``search_item``) are orchestrated in ``stylist.photo_search``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from stylist.candidates import CandidateFinder, Photo, choose_items
from stylist.catalog_profile import CatalogProfile
from stylist.clip_colours import ClipColours
from stylist.config import Config, load_config
from stylist.garment_photo import judged
from stylist.hits import Hit
from stylist.images import load_image
from stylist.models.registry import shared_clip, shared_detector, shared_embedder, shared_namer
from stylist.models.signature import model_signature
from stylist.photo_search import MODES, PhotoSearch
from stylist.protocols import ClassNamer, ClipEncoder, CropEmbedder, ItemDetector
from stylist.query import parse_query
from stylist.relax import relax_query, rerank_or_loosen
from stylist.results import Detection, ItemResult, Product
from stylist.store import CatalogStore
from stylist.vectors import VectorCache
from stylist.verify import serving_detector
from stylist.word_scores import WordScores, exclusion_reference, word_scores

CHECK_EVERY_S = 5.0  # how often a search re-checks that the index is non-empty and matches the models


class Stylist:
    """Models + store, loaded once. All public methods are thread-safe."""

    def __init__(self, config: Config, detector: ItemDetector, embedder: CropEmbedder, clip: ClipEncoder,
                 store: CatalogStore, namer: ClassNamer | None = None):
        self.config = config
        self.detector = serving_detector(config, detector, clip)  # item check, then whole-garment boxes
        self.embedder = embedder
        self.clip = clip
        self.store = store
        self.vectors = VectorCache(clip, store)
        self.candidates = CandidateFinder(store, embedder, clip, config.candidates, namer, config.on_white)  # namer: garment namer
        self.colours = ClipColours(clip)  # CLIP's second look at colours read from pixels
        self.photo_search = PhotoSearch(config, self.detector, self.candidates, self.vectors, self.colours,
                                        self._check_index)  # photo -> candidates, tap -> ranked products
        self._signature: str | None = None
        self._checked_at = -1e9  # when the index was last seen non-empty and built by our models

    @classmethod
    def from_config(cls, config: Config | None = None, store: CatalogStore | None = None) -> "Stylist":
        """Open the store (fails fast when a Chroma server is unreachable), then load the models."""
        config = config or load_config()
        store = store or CatalogStore.open(config)
        return cls(config, shared_detector(config), shared_embedder(config), shared_clip(config), store, shared_namer(config))

    # --- inputs ------------------------------------------------------------------------------------
    def load_image(self, data: bytes | str | Path) -> Image.Image:
        """Safe decode (see stylist.images): upright RGB or BadImageError."""
        return load_image(data, self.config.max_pixels)

    def detect_items(self, img: Image.Image) -> list[Detection]:
        """Detected items, each named by the fused class (stylist.labels); the detector's own in detector_label."""
        found = judged(self.detector.detect(img), img)  # one garment or several: decided once, for all the items
        return [c.detection for c in self.candidates.gather(img, found, self.candidates.namer.k)] if found else []

    # --- start-up ----------------------------------------------------------------------------------
    def warm_filters(self) -> None:
        """Filtered neighbours from memory: worth it for a long-running process (bot, many photos), not one search."""
        self.candidates.warm_filters()

    def warm_vocabulary(self, compute: bool = True) -> int:
        """Embed (or read from the cache) the CLIP text vectors of the common refinements ("in red",
        "leather", "red dress", ...) so a tap with such words skips the text encoder; returns how many.
        ``compute=False`` only reads an earlier cache (cheap: what a one-off CLI search does)."""
        from stylist.vocabulary import text_vectors

        vectors = text_vectors(self.clip, self.config.cache_dir / "runtime", compute=compute)
        self.vectors.add_texts(vectors)
        return len(vectors)

    # --- searching ---------------------------------------------------------------------------------
    @property
    def signature(self) -> str:
        if self._signature is None:
            self._signature = model_signature(self.embedder, self.clip)
        return self._signature

    def _check_index(self) -> None:
        """Empty index / wrong-model index -> a clear error; re-checked at most every few seconds."""
        if time.monotonic() - self._checked_at < CHECK_EVERY_S:
            return
        self.store.check_usable(self.embedder.name, self.embedder.dim, self.signature)
        self._checked_at = time.monotonic()

    def profile(self) -> CatalogProfile:
        """What this catalog can satisfy (stylist.catalog_profile); recounted when the index size changes."""
        return self.candidates.profile()

    def search_item(self, img: Image.Image, detection: Detection | None = None, text: str | None = None,
                    top_k: int = 10, offset: int = 0, mode: str = "full", restrict_category: bool = False,
                    timings: dict[str, float] | None = None) -> ItemResult:
        """Products like the detected item (or the whole image when ``detection`` is None), refined by ``text``.

        ``mode``: "visual" = visual order only, "clip" = CLIP re-rank fused with the visual score,
        "full" = that plus the parsed colour/category/price wishes as filters and boosts (the default).
        ``restrict_category`` keeps only products of the item's (fused) class. Off by default: measured on 210
        held-out items the detector found, Recall@10 was 0.70 with it and 0.90 without (with the detector's
        own class); without it the fused kind is still preferred softly in "full" mode.
        ``timings`` receives seconds per stage; a photo searched item by item is cheaper via ``photo`` + ``rank``.
        """
        return self.photo_search.search_item(img, detection, text, top_k, offset, mode, restrict_category, timings)

    def photo(self, img: Image.Image, detections: Sequence[Detection] | None = None,
              timings: dict[str, float] | None = None) -> Photo:
        """A photo has arrived: detect (unless ``detections`` are given), embed every detected item in one
        batch and fetch all their candidates in one Chroma query (the whole photo's when nothing is
        detected). Taps then only re-rank (``rank``)."""
        return self.photo_search.photo(img, detections, timings)

    def rank(self, photo: Photo, item: int | None = None, text: str | None = None, top_k: int = 10, offset: int = 0,
             mode: str = "full", restrict_category: bool = False,
             timings: dict[str, float] | None = None) -> ItemResult:
        """Products for one item of an analysed ``photo`` (None = the whole photo), refined by ``text``:
        the same ranking as ``search_item``, from the candidates the photo already holds."""
        return self.photo_search.rank(photo, item, text, top_k, offset, mode, restrict_category, timings)

    def search_text(self, text: str, top_k: int = 10, offset: int = 0) -> ItemResult:
        """Text without a photo: CLIP text vector against the catalog's CLIP image vectors, with the filters."""
        self._check_index()
        query = parse_query(text)
        terms = query.terms or (exclusion_reference(query) if query.exclude_terms else query.text or "")
        if not terms:
            return ItemResult(None, query, [])
        vec = self.vectors.text(terms)
        query = relax_query(query, self.profile(), query.categories, top_k).query  # fit the wishes to the catalog
        hits = self.candidates.for_text(vec, query, max(self.config.candidates, offset + top_k), top_k)
        if not hits:
            return ItemResult(None, query, [])
        words = word_scores(self.vectors.images(hits), query, self.vectors.text) if query.exclude_terms else WordScores()
        ranked, query = rerank_or_loosen([h.meta for h in hits], None, np.array([h.similarity for h in hits]), query,
                                         self.config.text_weight, True, (), None, words.excluded)
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
        chosen = choose_items(detections, items, parse_query(text).categories)
        return detections, [self.search_item(img, d, text, top_k) for d in chosen]


__all__ = ["Stylist", "MODES"]
