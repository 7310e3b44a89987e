"""Smart Stylist core: models, search pipeline and store schema (no Telegram, no training code)."""
from stylist.config import prepare_runtime

prepare_runtime()  # before anything imports ultralytics

__version__ = "0.1.0"
