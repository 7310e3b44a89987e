"""Product embedding: both vectors per product, model signature, and the stored metadata."""
from __future__ import annotations

import numpy as np
import pytest

from index.embedder import ProductEmbedder, product_metadata
from tests.helpers.catalog import COLORS, draw_product
from stylist.catalog import CatalogItem
from stylist.config import load_config
from stylist.models import shared_clip, shared_embedder
@pytest.fixture(scope="module")
def products():
    config = load_config(env={})
    return ProductEmbedder(shared_embedder(config), shared_clip(config))


def test_embed_gives_two_normalised_matrices(products):
    imgs = [draw_product("Shoes", COLORS["red"]), draw_product("Dresses", COLORS["blue"])]
    visual, clip = products.embed(imgs)
    assert visual.shape == (2, products.embedder.dim) and clip.shape[0] == 2
    assert np.allclose(np.linalg.norm(visual, axis=1), 1, atol=1e-4)
    assert np.allclose(np.linalg.norm(clip, axis=1), 1, atol=1e-4)


def test_build_sessions_give_the_models_own_vectors(products):
    """The build's one-thread sessions (run from several threads at once) = the models' own embed."""
    from concurrent.futures import ThreadPoolExecutor

    imgs = [draw_product(cat, COLORS[c]) for cat in ("Shoes", "Dresses", "Handbags") for c in ("red", "blue", "green")]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(products.embed, [imgs[k:k + 3] for k in range(0, 9, 3)]))
    visual, clip = np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])
    assert (visual * products.embedder.embed(imgs)).sum(1).min() > 0.99999
    assert (clip * products.clip.embed_images(imgs)).sum(1).min() > 0.99999


def test_signature_is_stable_and_names_the_models(products):
    assert products.signature == ProductEmbedder(products.embedder, products.clip).signature
    info = products.models_info()
    assert info["embedder"] == products.embedder.name and info["embedder_dim"] == str(products.embedder.dim)


def test_metadata_maps_category_and_colour():
    img = draw_product("Shoes", COLORS["green"])
    m = product_metadata(CatalogItem(id="x", image="/i.png", category="Sneakers", color="Navy Blue", price=5.0), img, "fp")
    assert (m["category"], m["color"], m["price"], m["fingerprint"]) == ("Shoes", "navy", 5.0, "fp")
    m = product_metadata(CatalogItem(id="y", image="/i.png", category="Socks"), img, "fp")
    assert (m["category"], m["color"], m["name"]) == ("Socks", "green", "y")  # colour from the pixels
    assert m["color_source"] == "pixels"
    assert product_metadata(CatalogItem(id="z", image="/i.png", color="Red"), img, "fp")["color_source"] == "catalog"


def test_colors_only_for_rows_without_one(products):
    from stylist.colors import COLORS as NAMES, color_family

    imgs = [draw_product("Shoes", COLORS["red"]), draw_product("Dresses", COLORS["blue"])]
    items = [CatalogItem(id="a", image="/a.png", color="Black"), CatalogItem(id="b", image="/b.png", category="Dresses")]
    _, clip = products.embed(imgs)
    got = products.colors(items, imgs, clip)
    assert got[0] is None and got[1][0] in NAMES and 0.0 <= got[1][1] <= 1.0
    assert color_family(got[1][0]) == "blue"  # CLIP may overrule the pixels only when sure; here both see blue
