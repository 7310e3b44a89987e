"""The model interfaces (stylist.protocols): the bundled models served by torch, and the detector's serving
wrappers, offer them; an object without a member does not (the ONNX-served models: tests/stylist/models/test_runtime.py)."""
from __future__ import annotations

from stylist.config import load_config
from stylist.garment_box import WholeGarmentDetector
from stylist.models import shared_clip, shared_detector, shared_embedder
from stylist.models.registry import shared_namer
from stylist.protocols import ClassNamer, ClipEncoder, CropEmbedder, ItemDetector
from stylist.verify import CheckedDetector, serving_detector


def test_bundled_models_and_serving_wrappers_offer_the_interfaces():
    config = load_config(env={})
    det, emb, clip, namer = shared_detector(config), shared_embedder(config), shared_clip(config), shared_namer(config)
    assert isinstance(det, ItemDetector) and isinstance(emb, CropEmbedder) and isinstance(clip, ClipEncoder)
    assert isinstance(namer, ClassNamer)
    for served in (WholeGarmentDetector(det), CheckedDetector(det, clip, None, 0.5), serving_detector(config, det, clip)):
        assert isinstance(served, ItemDetector)
    assert not isinstance(det, CropEmbedder) and not isinstance(emb, ClipEncoder)


def test_an_object_without_a_member_does_not_offer_the_interface():
    class ImagesOnly:  # a CLIP that cannot embed words
        name, dim = "images-only", 4

        def embed_images(self, imgs):
            return imgs

    assert not isinstance(ImagesOnly(), ClipEncoder)
    ImagesOnly.embed_texts = lambda self, texts: texts
    assert isinstance(ImagesOnly(), ClipEncoder)
