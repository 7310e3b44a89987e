"""The three models behind Smart Stylist — detector, crop embedder, text–image CLIP — and their registry."""
from stylist.models.registry import (get_model_config, list_models, load_clip, load_detector, load_embedder,
                                     shared_clip, shared_detector, shared_embedder)
from stylist.models.signature import model_signature

__all__ = ["get_model_config", "list_models", "load_clip", "load_detector", "load_embedder", "model_signature",
           "shared_clip", "shared_detector", "shared_embedder"]
