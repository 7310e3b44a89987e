"""The three models behind Smart Stylist — detector, crop embedder, text–image CLIP — and their registry."""
from stylist.models.registry import get_model_config, list_models, load_clip, load_detector, load_embedder

__all__ = ["get_model_config", "list_models", "load_clip", "load_detector", "load_embedder"]
