"""All configuration in one place: a frozen Config built from STYLIST_* env vars (plus CLI overrides).

No other module reads ``os.environ``. Defaults work out of the box: bundled weights, an embedded
Chroma store under the user's data dir, and ``../shared/data`` as the data root when present.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import platformdirs

from stylist.schema import DEFAULT_COLLECTION

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"


def _default_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout (developers and CI have it; users usually do not)."""
    for candidate in (REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def _parse_users(raw: str) -> frozenset[int]:
    users = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            if not part.lstrip("-").isdigit():
                raise ValueError(f"STYLIST_ALLOWED_USERS must be comma-separated numeric user ids, got {part!r}")
            users.add(int(part))
    return frozenset(users)


@dataclass(frozen=True)
class Config:
    """Runtime settings. Every field has a working default; env vars override, CLI flags override env."""

    data_dir: Path | None = field(default_factory=_default_data_dir)  # STYLIST_DATA
    home: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("smart-stylist")))  # STYLIST_HOME
    db_path: Path | None = None  # STYLIST_DB; default <home>/chroma
    chroma_url: str | None = None  # STYLIST_CHROMA_URL, e.g. http://127.0.0.1:8000
    collection: str = DEFAULT_COLLECTION  # STYLIST_COLLECTION
    detector: str = "yolov5n-fashion"  # STYLIST_DETECTOR: registry name or a .pt path
    embedder: str = "ae512"  # STYLIST_EMBEDDER: registry name or a checkpoint path
    clip_model: str = "fashion-lite"  # STYLIST_CLIP_MODEL: registry name or any open_clip model name / hf-hub:...
    clip_pretrained: str | None = None  # STYLIST_CLIP_PRETRAINED: open_clip pretrained tag or checkpoint path
    device: str = "cpu"  # STYLIST_DEVICE
    runtime: str = "auto"  # STYLIST_RUNTIME: torch | onnx | openvino | auto (ONNX Runtime when installed) on CPU
    threads: int = 0  # STYLIST_THREADS: threads per inference; 0 = the cores this process may use
    detect_conf: float = 0.25  # STYLIST_DETECT_CONF: a box is an item above this score
    detect_iou: float = 0.45  # STYLIST_DETECT_IOU: class-agnostic NMS overlap (one physical item, one box)
    detect_contain: float = 0.7  # STYLIST_DETECT_CONTAIN: a box this much inside a better one is a part; 0 = off
    detect_fallback_conf: float = 0.05  # STYLIST_DETECT_FALLBACK_CONF: nothing sure -> best box above this; 0 = off
    detect_fallback_min_area: float = 0.1  # STYLIST_DETECT_FALLBACK_MIN_AREA: that box's least share of the picture
    detect_zoom: int = 256  # STYLIST_DETECT_ZOOM: second look at this size for photo-filling garments; 0 = off
    detect_zoom_min_area: float = 0.4  # STYLIST_DETECT_ZOOM_MIN_AREA: least share of the picture a box from it covers
    detect_zoom_always: int = 0  # STYLIST_DETECT_ZOOM_ALWAYS: 1 = every picture, 0 = only when nothing reached conf
    detect_whole_garment: int = 1  # STYLIST_DETECT_WHOLE_GARMENT: 1 = a part's box grows to its garment's (stylist.garment_box)
    detect_verify: int = 1  # STYLIST_DETECT_VERIFY: 1 = a board's boxes down to detect_verify_conf, checked (stylist.verify)
    detect_verify_conf: float = 0.05  # STYLIST_DETECT_VERIFY_CONF: least score of a board's proposed boxes
    detect_verify_threshold: float = 0.35  # STYLIST_DETECT_VERIFY_THRESHOLD: the check's least item probability
    detect_verify_check: Path | None = None  # STYLIST_DETECT_VERIFY_CHECK: the item check's json; default the bundled
    detect_board_size: int = 640  # STYLIST_DETECT_BOARD_SIZE: with the check on, a board's second look at this size; 0 = off
    on_white: str = "ae"  # STYLIST_ON_WHITE: models that see a photographed garment's crop on white (ae, clip, namer; none)
    imgsz: int = 512  # STYLIST_IMGSZ: detector serving size
    max_pixels: int = 40_000_000  # STYLIST_MAX_PIXELS: larger images are refused (decompression bombs)
    top_k: int = 10  # STYLIST_TOP_K
    candidates: int = 100  # STYLIST_CANDIDATES: visual candidates fetched before re-ranking
    text_weight: float = 0.5  # STYLIST_TEXT_WEIGHT: CLIP share of the fused score when text is given
    telegram_token: str | None = field(default=None, repr=False)  # TELEGRAM_BOT_TOKEN (never logged)
    telegram_api_url: str | None = None  # STYLIST_TELEGRAM_API_URL, e.g. http://127.0.0.1:8081/bot
    telegram_file_url: str | None = None  # STYLIST_TELEGRAM_FILE_URL, e.g. http://127.0.0.1:8081/file/bot
    allowed_users: frozenset[int] = frozenset()  # STYLIST_ALLOWED_USERS: comma-separated ids; empty = everyone
    session_ttl_s: float = 3600.0  # STYLIST_SESSION_TTL: idle seconds before a user's search is forgotten
    photos_max_mb: float = 500.0  # STYLIST_PHOTOS_MAX_MB: cap on shoppers' photos kept on disk for their sessions

    @property
    def db_dir(self) -> Path:
        return self.db_path or (self.home / "chroma")

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def bot_dir(self) -> Path:
        """The bot's state: sessions (SQLite) and shoppers' photos; survives restarts."""
        return self.home / "bot"

    def detector_settings(self) -> dict[str, float | int | str]:
        """The serving settings every detector runtime takes (``stylist.models.detector.DetectorSettings``)."""
        return {"imgsz": self.imgsz, "conf": self.detect_conf, "iou": self.detect_iou, "device": self.device,
                "fallback_conf": self.detect_fallback_conf, "fallback_min_area": self.detect_fallback_min_area,
                "zoom_imgsz": self.detect_zoom, "zoom_min_area": self.detect_zoom_min_area,
                "zoom_always": bool(self.detect_zoom_always),
                "contain": self.detect_contain, "propose": self.detect_verify_conf if self.detect_verify else 0.0,
                "board_imgsz": self.detect_board_size}

    def replace(self, **changes: object) -> "Config":
        """A copy with CLI overrides applied (None values are ignored, so unset flags keep env/defaults)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_ENV: dict[str, tuple[str, type]] = {
    "STYLIST_DATA": ("data_dir", Path),
    "STYLIST_HOME": ("home", Path),
    "STYLIST_DB": ("db_path", Path),
    "STYLIST_CHROMA_URL": ("chroma_url", str),
    "STYLIST_COLLECTION": ("collection", str),
    "STYLIST_DETECTOR": ("detector", str),
    "STYLIST_EMBEDDER": ("embedder", str),
    "STYLIST_CLIP_MODEL": ("clip_model", str),
    "STYLIST_CLIP_PRETRAINED": ("clip_pretrained", str),
    "STYLIST_DEVICE": ("device", str),
    "STYLIST_RUNTIME": ("runtime", str),
    "STYLIST_THREADS": ("threads", int),
    "STYLIST_DETECT_CONF": ("detect_conf", float),
    "STYLIST_DETECT_IOU": ("detect_iou", float),
    "STYLIST_DETECT_CONTAIN": ("detect_contain", float),
    "STYLIST_DETECT_FALLBACK_CONF": ("detect_fallback_conf", float),
    "STYLIST_DETECT_FALLBACK_MIN_AREA": ("detect_fallback_min_area", float),
    "STYLIST_DETECT_ZOOM": ("detect_zoom", int),
    "STYLIST_DETECT_ZOOM_MIN_AREA": ("detect_zoom_min_area", float),
    "STYLIST_DETECT_ZOOM_ALWAYS": ("detect_zoom_always", int),
    "STYLIST_DETECT_WHOLE_GARMENT": ("detect_whole_garment", int),
    "STYLIST_DETECT_VERIFY": ("detect_verify", int),
    "STYLIST_DETECT_VERIFY_CONF": ("detect_verify_conf", float),
    "STYLIST_DETECT_VERIFY_THRESHOLD": ("detect_verify_threshold", float),
    "STYLIST_DETECT_VERIFY_CHECK": ("detect_verify_check", Path),
    "STYLIST_DETECT_BOARD_SIZE": ("detect_board_size", int),
    "STYLIST_ON_WHITE": ("on_white", str),
    "STYLIST_IMGSZ": ("imgsz", int),
    "STYLIST_MAX_PIXELS": ("max_pixels", int),
    "STYLIST_TOP_K": ("top_k", int),
    "STYLIST_CANDIDATES": ("candidates", int),
    "STYLIST_TEXT_WEIGHT": ("text_weight", float),
    "TELEGRAM_BOT_TOKEN": ("telegram_token", str),
    "STYLIST_TELEGRAM_API_URL": ("telegram_api_url", str),
    "STYLIST_TELEGRAM_FILE_URL": ("telegram_file_url", str),
    "STYLIST_SESSION_TTL": ("session_ttl_s", float),
    "STYLIST_PHOTOS_MAX_MB": ("photos_max_mb", float),
}


def load_config(env: Mapping[str, str] | None = None, **overrides: object) -> Config:
    """Build the Config from the environment (or ``env``), then apply non-None ``overrides``."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for var, (name, kind) in _ENV.items():
        raw = env.get(var, "").strip()
        if raw:
            try:
                values[name] = kind(raw).expanduser() if kind is Path else kind(raw)
            except ValueError as exc:
                raise ValueError(f"{var}={raw!r} is not a valid {kind.__name__}") from exc
    if env.get("STYLIST_ALLOWED_USERS", "").strip():
        values["allowed_users"] = _parse_users(env["STYLIST_ALLOWED_USERS"])
    return Config(**values).replace(**overrides)


def prepare_runtime(env: dict[str, str] | os._Environ = os.environ) -> None:
    """Make ultralytics and Hugging Face safe offline before they are imported (both try the network at import or first use).

    ``YOLO_OFFLINE`` stops DNS look-ups at import, ``YOLO_CONFIG_DIR`` points at a writable folder, and
    a local TTF at ``<config>/Ultralytics/Arial.ttf`` stops every train/val from fetching a font.
    Values a user already set are kept.
    """
    env.setdefault("YOLO_OFFLINE", "1")
    env.setdefault("YOLO_VERBOSE", "False")
    home = Path(env.get("STYLIST_HOME") or platformdirs.user_data_dir("smart-stylist"))
    yolo_dir = Path(env.setdefault("YOLO_CONFIG_DIR", str(home / "ultralytics")))
    font = yolo_dir / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        try:
            import matplotlib

            src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
            font.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, font)
            shutil.copyfile(src, font.parent / "Arial.Unicode.ttf")
        except (ImportError, OSError):
            pass
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
