"""The search pipeline end to end on a small made-up catalog, with the real (registry) models and Chroma."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

from stylist.colors import color_family
from stylist.config import load_config
from stylist.errors import BadImageError, EmptyIndexError, UnknownItemError
from stylist.metrics import best_match
from stylist.results import Detection
from stylist.search import Stylist
from stylist.models import shared_clip, shared_embedder
from stylist.store import CatalogStore

from tests.helpers.catalog import CATEGORIES, COLORS, draw_product, make_catalog


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from index.build import build_index

    root = tmp_path_factory.mktemp("search")
    catalog = make_catalog(root / "cat", per_combo=2)
    config = load_config(env={}, db_path=root / "db", collection="search-test", candidates=40)
    report = build_index(config, catalog, shared_embedder(config), shared_clip(config), progress=False)
    assert report.added == 48 and not report.skipped
    return Stylist.from_config(config), root / "cat"


def _needs_trained_embedder(stylist: Stylist) -> None:
    """Visual ranking needs the bundled embedder weights (random weights map every crop to ~one vector)."""
    assert "random init" not in stylist.embedder.name, "the bundled ae512 weights (stylist/weights/ae512.pt) did not load"


def _img(folder: Path, pid: str) -> Image.Image:
    return Image.open(folder / "images" / f"{pid}.png").convert("RGB")


def test_exact_product_comes_first_for_the_whole_image(env):
    stylist, folder = env
    _needs_trained_embedder(stylist)
    for pid in ("sho-red-0", "dre-blue-1", "han-green-0"):
        res = stylist.search_item(_img(folder, pid), None, None, top_k=5)
        assert res.detection is None
        ids = [p.id for p in res.products]
        assert pid in ids[:2]  # exact match on top (a near-twin drawn 3 px apart may tie with random weights)
        # the score blends the AE and CLIP image cosines (and prefers the item's kind): the exact match has the best
        assert res.products[ids.index(pid)].score >= max(p.score for p in res.products) - 1e-3
        assert len(res.products) == 5 and res.products[0].score >= res.products[-1].score


def test_colour_words_pick_that_colour_and_keep_the_kind(env):
    stylist, folder = env
    res = stylist.search_item(_img(folder, "sho-red-0"), None, "in blue", top_k=2)
    assert res.query.colors == ["blue"] and res.query.categories == ["Shoes"] and res.query.relaxed == []
    assert [(p.category, color_family(p.color)) for p in res.products] == [("Shoes", "blue")] * 2
    res = stylist.search_item(_img(folder, "sho-red-0"), None, "in blue", top_k=4)  # the catalog has 2 blue shoes
    assert [p.category for p in res.products] == ["Shoes"] * 4
    assert [color_family(p.color) for p in res.products[:2]] == ["blue"] * 2
    assert res.query.relaxed == ["only 2 Shoes in blue — then other colours"]


def test_category_and_price_words_are_hard_filters(env):
    stylist, folder = env
    res = stylist.search_item(_img(folder, "dre-red-0"), None, "shoes under 100", top_k=10)
    assert res.products and all(p.category == "Shoes" and p.price <= 100 for p in res.products)
    assert res.query.categories == ["Shoes"] and res.query.max_price == 100


def test_modes_compare_visual_clip_and_full(env):
    stylist, folder = env
    img = _img(folder, "pan-black-0")
    plain = stylist.search_item(img, None, None, top_k=8, mode="visual")  # (full mode also prefers the item's kind)
    visual = stylist.search_item(img, None, "yellow under 20", top_k=8, mode="visual")
    assert [p.id for p in visual.products] == [p.id for p in plain.products]  # words ignored
    full = stylist.search_item(img, None, "yellow under 250", top_k=2, mode="full")
    assert all(color_family(p.color) == "yellow" and p.price <= 250 and p.category == "Pants" for p in full.products)
    cheap = stylist.search_item(img, None, "yellow under 120", top_k=2, mode="full")  # no pants that cheap
    assert cheap.query.relaxed == ["nothing under 120 in Pants"] and cheap.query.max_price is None
    assert all(color_family(p.color) == "yellow" and p.category == "Pants" for p in cheap.products)
    with pytest.raises(ValueError):
        stylist.search_item(img, None, None, mode="nope")


def test_pages_do_not_overlap(env):
    stylist, folder = env
    img = _img(folder, "han-pink-0")
    first = stylist.search_item(img, None, None, top_k=5)
    second = stylist.search_item(img, None, None, top_k=5, offset=5)
    assert not {p.id for p in first.products} & {p.id for p in second.products}


def test_detected_category_restricts_candidates_when_asked(env):
    stylist, folder = env
    img = _img(folder, "sho-green-0")
    whole = Detection(0, "Handbags", 0.9, (0.0, 0.0, float(img.width), float(img.height)))
    res = stylist.search_item(img, whole, None, top_k=5, restrict_category=True)
    # the item's class is the fused one: on a picture of a shoe the detector's "Handbags" is outvoted
    assert res.detection == 0 and {p.category for p in res.products} == {"Shoes"}
    free = stylist.search_item(img, whole, None, top_k=5)  # default: trust the visual neighbours, not the label
    assert {p.category for p in free.products} != {"Handbags"}


def test_text_only_search(env):
    stylist, _ = env
    res = stylist.search_text("red dress under 200", top_k=2)  # the catalog has exactly two red dresses
    assert res.detection is None and res.query.categories == ["Dresses"]
    assert all(p.category == "Dresses" and color_family(p.color) == "red" and p.price <= 200 for p in res.products)


def test_search_image_items_and_unknown_item(env):
    stylist, folder = env
    img = _img(folder, "sho-yellow-0")
    detections, results = stylist.search_image(img, "all", None, top_k=3)
    assert len(results) == max(1, len(detections))
    with pytest.raises(UnknownItemError, match="item"):
        stylist.search_image(img, [len(detections) + 5], None)


def test_concurrent_searches_get_their_own_results(env):
    stylist, folder = env
    pids = [f"{c}-{col}-0" for c in ("sho", "dre", "han", "pan") for col in ("red", "blue")]
    texts = [None, "in red", "shoes under 60", "leather"] * 2

    def run(k: int) -> list[tuple[str, float]]:
        res = stylist.search_item(_img(folder, pids[k]), None, texts[k], top_k=5)
        return [(p.id, round(p.score, 5)) for p in res.products]

    sequential = [run(k) for k in range(len(pids))]
    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(run, list(range(len(pids))) * 2))
    assert concurrent == sequential * 2  # no request sees another's crop, words or results


def test_empty_index_is_a_clear_error(env, tmp_path):
    stylist, folder = env
    empty = CatalogStore.open(load_config(env={}, db_path=tmp_path / "empty"))
    other = Stylist(stylist.config, stylist.detector, stylist.embedder, stylist.clip, empty)
    with pytest.raises(EmptyIndexError, match="index build"):
        other.search_item(_img(folder, "sho-red-0"))
    with pytest.raises(EmptyIndexError):
        other.search_text("red")


# --- bad input -------------------------------------------------------------------------------------

def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("data,match", [
    (b"", "empty"), (b"this is not an image at all", "not an image"),
    (_encode(draw_product("Shoes", COLORS["red"]), "JPEG")[:200], "corrupt|truncated|not an image"),
    (_encode(Image.new("RGB", (10, 10)), "PNG"), "too small"),
])
def test_bad_bytes_raise_bad_image(env, data, match):
    stylist, _ = env
    with pytest.raises(BadImageError, match=match):
        stylist.load_image(data)


def test_decompression_bomb_is_refused(env):
    stylist, _ = env
    bomb = _encode(Image.new("1", (12000, 12000)), "PNG")  # tiny file, 144 M pixels
    with pytest.raises(BadImageError, match="too large"):
        stylist.load_image(bomb)


def _odd_images() -> dict[str, bytes]:
    base = draw_product("Dresses", COLORS["green"], side=120)
    arr16 = (np.asarray(base.convert("L")).astype(np.uint16) * 257)
    frames = [base, draw_product("Shoes", COLORS["red"], side=120)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.new("L", base.size, 200))
    return {"grayscale": _encode(base.convert("L"), "PNG"), "cmyk": _encode(base.convert("CMYK"), "JPEG"),
            "16-bit": _encode(Image.fromarray(arr16), "PNG"), "rgba": _encode(rgba, "PNG"), "gif": gif.getvalue()}


@pytest.mark.parametrize("kind", ["grayscale", "cmyk", "16-bit", "rgba", "gif"])
def test_odd_modes_decode_and_search(env, kind):
    stylist, _ = env
    img = stylist.load_image(_odd_images()[kind])
    assert img.mode == "RGB" and img.size == (120, 120)
    detections, results = stylist.search_image(img, "all", "in green", top_k=3)
    assert results and all(len(r.products) == 3 for r in results)
    assert all(r.query.colors == ["green"] for r in results)
    assert all(color_family(r.products[0].color) == "green" for r in results)  # the wish is honoured first


def test_exif_rotated_photo_is_upright_and_boxes_fit_it(env):
    stylist, _ = env
    upright = Image.new("RGB", (160, 240), (255, 255, 255))
    bag = draw_product("Handbags", COLORS["blue"], side=150)  # a shape the bundled detector finds
    upright.paste(bag, (5, 45))
    x0, y0, x1, y1 = ImageChops.invert(bag).getbbox()  # the ink's extent on white
    truth = (5 + x0, 45 + y0, 5 + x1, 45 + y1)
    stored = upright.rotate(90, expand=True)  # what the camera wrote: 240x160, with "rotate 270 CW" in EXIF
    exif = Image.Exif()
    exif[0x0112] = 6
    img = stylist.load_image(_encode(stored, "JPEG", exif=exif.tobytes()))
    assert img.size == (160, 240)
    px = np.asarray(img)[45 + 75, 5 + 75]
    assert px[2] > 150 and px[0] < 100  # the blue bag is where it is in the upright picture
    detections = stylist.detect_items(img)
    assert detections, "the bundled detector finds the bag"
    for d in detections:
        assert 0 <= d.box[0] < d.box[2] <= 160 and 0 <= d.box[1] < d.box[3] <= 240
    assert best_match(truth, [d.box for d in detections], 0.5) >= 0  # boxed where it is upright, not on its side


def test_index_from_other_model_weights_is_refused(env, tmp_path):
    from stylist.errors import IndexUnavailableError

    stylist, folder = env
    config = load_config(env={}, db_path=tmp_path / "db", collection="stale")
    store = CatalogStore.open(config)
    other = Stylist(config, stylist.detector, stylist.embedder, stylist.clip, store)
    vec = stylist.embedder.embed([_img(folder, "sho-red-0")])[0]
    store.upsert(["x"], vec[None, :], np.zeros((1, 4), np.float32) + 0.5, [{"fingerprint": "f"}])
    store.set_models({"embedder": stylist.embedder.name, "embedder_dim": str(stylist.embedder.dim),
                      "signature": "ae512:000000000000|clip:000000000000"})
    with pytest.raises(IndexUnavailableError, match="other model weights"):
        other.search_item(_img(folder, "sho-red-0"))


def test_pages_of_a_detected_item_with_words_never_repeat(env):
    stylist, folder = env
    img = _img(folder, "dre-green-0")
    det = Detection(0, "Dresses", 0.9, (0.0, 0.0, float(img.width), float(img.height)))
    seen: list[str] = []
    for page in range(3):
        res = stylist.search_item(img, det, "in red", top_k=5, offset=5 * page)
        seen += [p.id for p in res.products]
    # "in red" keeps the item's kind: the catalog's 12 dresses in pages of 5, 5, 2, none repeated
    assert len(seen) == 12 and len(set(seen)) == 12 and all(i.startswith("dre-") for i in seen)
    seen = [p.id for page in range(3) for p in stylist.search_text("blue", top_k=4, offset=4 * page).products]
    blue = {f"{c[:3].lower()}-blue-{n}" for c in CATEGORIES for n in range(2)}  # the catalog's 8 blue products
    assert len(seen) == len(blue) and set(seen) == blue  # pages of 4, 4, 0: each blue product once


# --- words the catalog cannot fully honour ------------------------------------------------------------

@pytest.fixture(scope="module")
def no_prices(env, tmp_path_factory):
    """The same kind of products without a price column and without a colour column (like Complete the Look)."""
    import csv

    from index.build import build_index

    stylist, folder = env
    with (folder / "catalog.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] in ("Dresses", "Shoes") and r["id"].endswith("-0")]
    path = folder / "no-prices.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "image", "name", "category"])
        w.writerows([[r["id"], r["image"], r["name"], r["category"]] for r in rows])
    config = load_config(env={}, db_path=tmp_path_factory.mktemp("np") / "db", collection="no-prices", candidates=40)
    build_index(config, path, stylist.embedder, stylist.clip, progress=False)
    return Stylist.from_config(config), folder


def test_a_price_the_catalog_cannot_honour_is_relaxed_not_empty(no_prices):
    stylist, _ = no_prices
    profile = stylist.profile()
    assert not profile.has_prices and not profile.has_catalog_colors and profile.categories == {"Dresses": 6, "Shoes": 6}
    res = stylist.search_text("red dress under 50", top_k=3)
    assert res.query.relaxed == ["no prices in this catalog", "only 1 Dresses in red — then other colours"]
    assert res.query.max_price is None
    assert res.query.explain().endswith("— showing Dresses · red")
    assert res.products and all(p.category == "Dresses" for p in res.products)
    assert color_family(res.products[0].color) == "red"
    assert res.to_json()["query"]["relaxed"] == res.query.relaxed


def test_refining_keeps_the_items_kind_and_says_when_a_colour_is_thin(no_prices):
    stylist, folder = no_prices
    res = stylist.search_item(_img(folder, "dre-black-0"), None, "in red", top_k=4)
    assert [p.category for p in res.products] == ["Dresses"] * 4  # red *dresses*, then other dresses
    assert color_family(res.products[0].color) == "red"
    assert res.query.categories == ["Dresses"] and res.query.relaxed == ["only 1 Dresses in red — then other colours"]
    shoes = stylist.search_item(_img(folder, "dre-black-0"), None, "in red, but shoes", top_k=2)
    assert [p.category for p in shoes.products] == ["Shoes"] * 2 and color_family(shoes.products[0].color) == "red"


def test_price_beyond_the_catalog_is_relaxed(env):
    stylist, _ = env
    res = stylist.search_text("under 5", top_k=3)
    assert len(res.products) == 3 and res.query.relaxed == ["nothing under 5"]
    res = stylist.search_text("red dress under 200, not red", top_k=3)  # exclusions win over the colour
    assert res.products and all(color_family(p.color) != "red" and p.category == "Dresses" for p in res.products)


def test_detected_items_carry_a_fused_label_and_the_detectors_own(env):
    from stylist.item_namer import ItemNamer
    from stylist.labels import FusionWeights
    from stylist.schema import CLASSES

    stylist, folder = env
    _needs_trained_embedder(stylist)
    img = _img(folder, "sho-red-0")
    wrong = Detection(index=0, label="Sunglasses", score=0.3, box=(0.0, 0.0, float(img.width), float(img.height)))
    # the index holds this very shoe and its red/blue/green twins: the photo's evidence outvotes a weak detector
    cand = stylist.candidates.gather(img, [wrong], 10)[0]
    assert (cand.detection.label, cand.detection.detector_label, cand.detection.box) == ("Shoes", "Sunglasses", wrong.box)
    assert cand.kind == ["Shoes"] and cand.label.clip_label == "Shoes" and cand.clip_vector is not None
    evidence = ([cand.detection], cand.vector[None], cand.clip_vector[None], [cand.hits], [cand.clip_hits])
    alone = ItemNamer(stylist.embedder, stylist.clip, weights=FusionWeights(1.0, 0.0, 0.0, 0.0, 0.0)).name(*evidence)
    assert alone[0].label == "Sunglasses"  # the detector's own class is its vote, not the fused one
    clip_only = ItemNamer(stylist.embedder, stylist.clip, weights=FusionWeights(0.0, 0.0, 0.0, 1.0, 0.0)).name(*evidence)
    assert clip_only[0].label == "Shoes"
    for d in stylist.detect_items(img):
        assert d.label in CLASSES and d.detector_label in CLASSES


# --- names of a photo's items: the whole photo as evidence when it holds one garment ----------------------------

def test_one_garment_photo_is_named_with_the_whole_photo_and_the_decision_is_kept(env):
    from stylist.garment_photo import judged

    stylist, folder = env
    img = _img(folder, "dre-green-0")
    w, h = img.size
    part = Detection(0, "Handbags", 0.6, (w * 0.3, h * 0.3, w * 0.6, h * 0.6))  # a part of the dress
    pocket = Detection(1, "Jewelry", 0.3, (w * 0.35, h * 0.35, w * 0.45, h * 0.45))  # inside it
    finder = stylist.candidates
    named = [c.detection for c in finder.gather(img, judged([part, pocket]), 10)]
    assert [d.whole_photo for d in named] == [True, True]
    assert [d.detector_label for d in named] == ["Handbags", "Jewelry"]
    # naming the first again on its own (a tap) keeps the decision and so the same fused label
    again = finder.gather(img, [named[0]], 10)[0]
    assert again.detection.whole_photo and again.detection.label == named[0].label
    # two items side by side (a board): the whole photo is no evidence for either
    beside = Detection(1, "Shoes", 0.5, (w * 0.7, h * 0.7, w * 0.95, h * 0.95))
    assert [c.detection.whole_photo for c in finder.gather(img, judged([part, beside]), 10)] == [False, False]
    assert not finder.gather(img, [part], 10)[0].detection.whole_photo  # searched alone, never judged
    if finder.namer.garment_namer is not None:  # the bundled namer is one of the fused sources
        fused = finder.gather(img, [part], 10)[0].label
        assert fused.namer_label in finder.namer.classes  # the namer's own guess is kept for debugging
        probs = finder.namer.garment_namer.probs([img])
        assert probs.shape == (1, len(finder.namer.classes)) and np.isclose(probs.sum(), 1.0, atol=1e-4)


def _on_floor(product: Image.Image, seed: int = 1) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """``product`` (on white) cut out and laid on a noisy wooden-brown floor, as a shopper photographs it."""
    rng = np.random.default_rng(seed)
    floor = Image.fromarray(np.clip(np.array([150, 120, 90]) + rng.normal(0, 6, (300, 300, 3)), 0, 255).astype(np.uint8))
    big = product.resize((192, 192))
    mask = Image.fromarray(((np.asarray(big).min(axis=2) < 240) * 255).astype(np.uint8))
    floor.paste(big, (54, 54), mask)
    rows, cols = np.flatnonzero(np.asarray(mask).any(axis=1)), np.flatnonzero(np.asarray(mask).any(axis=0))
    return floor, (54.0 + cols[0], 54.0 + rows[0], 55.0 + cols[-1], 55.0 + rows[-1])


def test_a_photographed_garment_is_embedded_also_on_white_and_found_closer(env):
    from stylist.candidates import CandidateFinder
    from stylist.garment_photo import judged
    from stylist.garment_box import backdrop, on_white
    from stylist.images import item_crop

    stylist, folder = env
    _needs_trained_embedder(stylist)
    plain = CandidateFinder(stylist.store, stylist.embedder, stylist.clip, 40, None, "")
    white = CandidateFinder(stylist.store, stylist.embedder, stylist.clip, 40, None, "ae")
    gains = []
    for pid in ("dre-green-0", "han-red-1", "sho-blue-0"):
        photo, box = _on_floor(_img(folder, pid))
        item = judged([Detection(0, "Handbags", 0.6, box)])
        a, b = plain.gather(photo, item, 40)[0], white.gather(photo, item, 40)[0]
        crop = item_crop(photo, box)
        views = stylist.embedder.embed([crop, on_white(crop, backdrop(photo))])
        expected = views.mean(axis=0) / np.linalg.norm(views.mean(axis=0))  # the mean of the crop and it on white
        assert np.allclose(b.vector, expected, atol=1e-5) and np.allclose(a.vector, views[0], atol=1e-5)
        assert not np.allclose(a.vector, b.vector, atol=1e-3)
        assert np.allclose(a.clip_vector, b.clip_vector, atol=1e-6)  # CLIP still sees the photo as it is
        sim = [next((h.similarity for h in c.hits if h.id == pid), -1.0) for c in (a, b)]
        gains.append(sim[1] - sim[0])
        # a product on white (a catalogue image) and an item searched alone (maybe one of several): unchanged
        catalogue = _img(folder, pid)
        one = judged([Detection(0, "Handbags", 0.6, (5.0, 5.0, 90.0, 90.0))])
        assert np.allclose(plain.gather(catalogue, one, 10)[0].vector, white.gather(catalogue, one, 10)[0].vector)
        alone = [Detection(0, "Handbags", 0.6, box)]
        assert np.allclose(plain.gather(photo, alone, 10)[0].vector, white.gather(photo, alone, 10)[0].vector)
    assert min(gains) > 0, gains  # the exact product is nearer once the floor is gone



def test_the_namer_decides_one_garment_for_unsure_detections_of_a_photographed_garment(env):
    from stylist.candidates import context_image
    from stylist.garment_photo import NAMER_SURE, judged

    stylist, folder = env
    finder = stylist.candidates
    if finder.namer.garment_namer is None:
        pytest.skip("no garment namer bundled")
    photo, box = _on_floor(_img(folder, "dre-green-0"))
    corners = [(0.0, 0.0, 40.0, 40.0), (260.0, 0.0, 300.0, 40.0), (0.0, 260.0, 40.0, 300.0)]
    floor_bits = judged([Detection(i, "Jewelry", 0.6, b) for i, b in enumerate(corners)], photo)
    assert not any(d.whole_photo for d in floor_bits)  # rules 1-3: three boxes apart, the detector not unsure
    sure = max(finder.namer.garment_namer.probs([context_image(photo)])[0]) >= NAMER_SURE
    found = finder.gather(photo, floor_bits, 10)
    assert [c.detection.whole_photo for c in found] == [sure] * 3
    if sure:  # named as the one garment the whole photo shows
        assert len({c.detection.label for c in found}) == 1
    board = judged([*floor_bits, Detection(3, "Dresses", 0.9, box)], photo)  # a sure item: no namer asked
    assert not any(c.detection.whole_photo for c in finder.gather(photo, board, 10))


def test_the_namer_takes_a_real_photo_with_unsure_detections_for_one_garment(env, shared_data):
    import csv

    from stylist.candidates import context_image
    from stylist.garment_photo import NAMER_SURE, judged
    from stylist.schema import CLASSES

    stylist, _ = env
    finder = stylist.candidates
    if finder.namer.garment_namer is None:
        pytest.skip("no garment namer bundled")
    root = shared_data / "clothing"
    with open(root / "images.csv") as f:
        ids = [r["image"] for r in csv.DictReader(f) if r["label"] == "T-Shirt"][:4]
    taken = 0
    for image_id in ids:
        photo = Image.open(root / "images" / f"{image_id}.jpg").convert("RGB")
        w, h = photo.size
        corners = [(0.0, 0.0, w / 8, h / 8), (w * 7 / 8, 0.0, w, h / 8), (0.0, h * 7 / 8, w / 8, h)]
        dets = judged([Detection(i, "Shoes", 0.6, b) for i, b in enumerate(corners)], photo)
        probs = finder.namer.garment_namer.probs([context_image(photo)])[0]
        found = finder.gather(photo, dets, 10)
        sure = max(probs) >= NAMER_SURE
        assert [c.detection.whole_photo for c in found] == [sure] * 3
        if sure:
            taken += 1
            assert {c.label.context_label for c in found} == {CLASSES[int(np.argmax(probs))]}  # the photo as context
    assert taken >= 1  # the bundled namer is sure of most photos of one T-shirt
