"""A photo searched once (``Stylist.photo``) and re-ranked per tap (``Stylist.rank``) gives exactly what
``search_item`` gives for the same item, words, page and mode; the batched Chroma query equals single ones."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stylist.config import load_config
from stylist.errors import UnknownItemError
from stylist.models import shared_clip, shared_embedder
from stylist.results import Detection
from stylist.search import Stylist
from stylist.store import VISUAL

from tests.helpers.catalog import make_catalog
from tests.helpers.counting import CountingClip


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from index.build import build_index

    root = tmp_path_factory.mktemp("photo")
    catalog = make_catalog(root / "cat", per_combo=1)
    config = load_config(env={}, db_path=root / "db", collection="photo-test", candidates=12)
    build_index(config, catalog, shared_embedder(config), shared_clip(config), progress=False)
    stylist = Stylist.from_config(config)
    # a "photo": two catalogue products side by side on white, with their true boxes as detections
    a = Image.open(root / "cat" / "images" / "sho-red-0.png").convert("RGB")
    b = Image.open(root / "cat" / "images" / "dre-blue-0.png").convert("RGB")
    img = Image.new("RGB", (a.width + b.width + 30, max(a.height, b.height) + 20), "white")
    img.paste(a, (10, 10))
    img.paste(b, (a.width + 20, 10))
    dets = [Detection(0, "Shoes", 0.9, (10.0, 10.0, 10.0 + a.width, 10.0 + a.height)),
            Detection(1, "Dresses", 0.8, (a.width + 20.0, 10.0, a.width + 20.0 + b.width, 10.0 + b.height))]
    return stylist, img, dets


def _same(a, b) -> None:
    assert [p.id for p in a.products] == [p.id for p in b.products]
    np.testing.assert_allclose([p.score for p in a.products], [p.score for p in b.products], atol=1e-5)
    assert a.detection == b.detection and a.query == b.query


@pytest.mark.parametrize("text,offset,mode,restrict", [
    (None, 0, "full", False), ("in red", 0, "full", True), ("in green under 80", 0, "full", False),
    ("leather", 0, "clip", False), ("in blue", 0, "visual", False), ("in red", 5, "full", True),
    (None, 10, "full", False),  # deeper than the 12 candidates the photo fetched
])
def test_rank_equals_search_item(env, text, offset, mode, restrict):
    stylist, img, dets = env
    photo = stylist.photo(img, detections=dets)
    assert sorted(photo.items, key=str) == [0, 1]
    for det in dets:
        kw = dict(top_k=5, offset=offset, mode=mode, restrict_category=restrict)
        _same(stylist.rank(photo, det.index, text, **kw), stylist.search_item(img, det, text, **kw))


def test_whole_photo_and_unknown_items(env):
    stylist, img, dets = env
    photo = stylist.photo(img, detections=dets)
    _same(stylist.rank(photo, None, "in black", top_k=4), stylist.search_item(img, None, "in black", top_k=4))
    assert None in photo.items  # computed on the first tap, kept for the next
    with pytest.raises(UnknownItemError):
        stylist.rank(photo, 7)
    empty = stylist.photo(img, detections=[])
    assert list(empty.items) == [None]  # nothing detected: the whole photo is searched up front
    _same(stylist.rank(empty, None, None, top_k=3), stylist.search_item(img, None, None, top_k=3))


def test_one_batched_query_equals_single_queries(env):
    stylist = env[0]
    vecs = stylist.embedder.embed([env[1], env[1].rotate(90), env[1].convert("L").convert("RGB")])
    many = stylist.store.query_many(VISUAL, vecs, 7)
    assert len(many) == 3
    for vec, hits in zip(vecs, many):
        single = stylist.store.query(VISUAL, vec, 7)
        assert [h.id for h in hits] == [h.id for h in single]
        np.testing.assert_allclose([h.similarity for h in hits], [h.similarity for h in single], atol=1e-6)
        # and the similarities are real cosines of the stored vectors
        stored = stylist.store.vectors(VISUAL, [h.id for h in hits])
        np.testing.assert_allclose(stored @ vec, [h.similarity for h in hits], atol=1e-4)


@pytest.mark.parametrize("where", [
    {"color": {"$in": ["red", "maroon"]}},
    {"category": {"$in": ["Shoes"]}},
    {"$and": [{"category": {"$in": ["Dresses", "Shoes"]}}, {"price": {"$lte": 80.0}}]},
    {"$and": [{"color": {"$in": ["blue"]}}, {"price": {"$gte": 20.0}}, {"price": {"$lte": 150.0}}]},
])
def test_in_memory_filtered_neighbours_equal_chroma_where(env, where):
    """On a catalogue this small Chroma searches the filtered set exactly, so the two must agree."""
    from stylist.filtered import FilteredIndex, supported

    stylist, img, _ = env
    index = FilteredIndex(stylist.store)
    assert supported(where)
    for vec in stylist.embedder.embed([img, img.rotate(180)]):
        ours = index.query(vec, 6, where)
        ref = stylist.store.query(VISUAL, vec, 6, where)
        assert [h.id for h in ours] == [h.id for h in ref] and ours
        np.testing.assert_allclose([h.similarity for h in ours], [h.similarity for h in ref], atol=1e-4)
        assert all(h.meta == r.meta for h, r in zip(ours, ref))


def test_warm_filters_keeps_results(env):
    stylist, img, dets = env
    before = [stylist.search_item(img, d, "in green under 80", top_k=5) for d in dets]
    stylist.warm_filters()
    try:
        for d, b in zip(dets, before):
            _same(stylist.search_item(img, d, "in green under 80", top_k=5), b)
    finally:
        stylist.candidates.filtered_index = None


@pytest.mark.parametrize("hesitant", [False, True])
def test_a_one_garment_photo_shows_its_kind_and_the_runner_up_only_when_the_fusion_hesitated(env, hesitant):
    """A photo judged one garment ranks products of its fused kind plus the 2 nearest of other kinds; when the
    fusion hesitated (runner-up at least RUNNER_UP_SHARE as probable) the runner-up's products as well."""
    import dataclasses

    from stylist.candidates import CONTEXT_OTHERS_KEPT
    from stylist.item_kind import RUNNER_UP_SHARE
    from stylist.labels import FusedLabel
    from stylist.query import parse_query

    stylist, img, dets = env
    cand = stylist.candidates.gather(img, [dets[0]], 24)[0]
    hits = stylist.store.query(VISUAL, cand.vector, 24)  # the whole catalogue, nearest first
    runner_up = next(h.meta["category"] for h in hits if h.meta["category"] != "Shoes")
    second = 0.7 * RUNNER_UP_SHARE * (1.0 if hesitant else 0.5)
    cand = dataclasses.replace(cand, detection=dataclasses.replace(cand.detection, whole_photo=True),
                               label=FusedLabel("Shoes", 0.7, "Shoes", "", "", runner_up=runner_up,
                                                runner_up_confidence=second))
    got, _, prefer = stylist.candidates.visual(cand, 24, parse_query(None), "full", False, 1)
    kinds = {"Shoes", runner_up} if hesitant else {"Shoes"}
    others = [h.id for h in hits if h.meta["category"] not in kinds][:CONTEXT_OTHERS_KEPT]
    assert {h.id for h in got} == {h.id for h in hits if h.meta["category"] in kinds} | set(others)
    shown = sum(h.meta["category"] == runner_up for h in got)
    assert shown == 6 if hesitant else 1 <= shown <= CONTEXT_OTHERS_KEPT  # 6 colours of each kind in the catalogue
    assert prefer == ["Shoes"]  # the soft preference stays the fused kind
    plain = dataclasses.replace(cand, detection=dataclasses.replace(cand.detection, whole_photo=False))
    assert len(stylist.candidates.visual(plain, 24, parse_query(None), "full", False, 1)[0]) == 24  # no gate


def test_the_candidates_read_the_crop_vectors_embedded_earlier_for_the_photo(env):
    # on a board the item check embeds the boxes' crops first (stylist.verify); the candidates then read them
    from stylist.candidates import CandidateFinder
    from stylist.crop_vectors import PhotoCrops

    stylist, img, dets = env
    counted = CountingClip(stylist.clip)
    earlier = PhotoCrops(img.copy(), [d.box for d in dets]).clip_vectors(stylist.clip)  # an equal picture...
    photo = img.copy()
    checked = PhotoCrops(photo, [d.box for d in dets]).clip_vectors(counted)
    assert counted.embedded == len(dets)  # ... is another picture: embedded again
    found = CandidateFinder(stylist.store, stylist.embedder, counted, 12).gather(photo, dets, 12)
    assert counted.embedded == len(dets)  # nothing embedded twice
    np.testing.assert_array_equal(np.stack([c.clip_vector for c in found]), checked)
    np.testing.assert_allclose(checked, earlier, atol=1e-5)
    plain = stylist.candidates.gather(img, dets, 12)  # the search's own finder: same candidates and labels
    assert [[h.id for h in c.hits] for c in found] == [[h.id for h in c.hits] for c in plain]
    assert [c.detection for c in found] == [c.detection for c in plain]

