"""Config: env parsing, CLI overrides, secret hiding, offline runtime preparation."""
from __future__ import annotations

from pathlib import Path

import pytest

from stylist.config import load_config, prepare_runtime


def test_defaults_work_without_any_env(tmp_path):
    cfg = load_config(env={})
    assert cfg.collection == "catalog" and cfg.top_k == 10 and cfg.chroma_url is None
    assert cfg.db_dir == cfg.home / "chroma"


def test_env_values_are_typed_and_overrides_win(tmp_path):
    env = {"STYLIST_DB": str(tmp_path / "db"), "STYLIST_TOP_K": "7", "STYLIST_TEXT_WEIGHT": "0.3",
           "STYLIST_CHROMA_URL": "http://127.0.0.1:8000", "STYLIST_ALLOWED_USERS": "12, 34"}
    cfg = load_config(env=env, top_k=3, chroma_url=None)
    assert cfg.db_dir == tmp_path / "db"
    assert cfg.top_k == 3  # CLI flag beats env
    assert cfg.chroma_url == "http://127.0.0.1:8000"  # None override keeps env
    assert cfg.text_weight == pytest.approx(0.3)
    assert cfg.allowed_users == frozenset({12, 34})


def test_bad_values_name_the_variable():
    with pytest.raises(ValueError, match="STYLIST_TOP_K"):
        load_config(env={"STYLIST_TOP_K": "many"})
    with pytest.raises(ValueError, match="STYLIST_ALLOWED_USERS"):
        load_config(env={"STYLIST_ALLOWED_USERS": "alice"})


def test_token_never_in_repr():
    cfg = load_config(env={"TELEGRAM_BOT_TOKEN": "123456:SECRET-token"})
    assert cfg.telegram_token == "123456:SECRET-token"
    assert "SECRET" not in repr(cfg) and "SECRET" not in str(cfg)


def test_prepare_runtime_sets_offline_ultralytics(tmp_path):
    env: dict[str, str] = {"STYLIST_HOME": str(tmp_path)}
    prepare_runtime(env)
    assert env["YOLO_OFFLINE"] == "1"
    font = Path(env["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf"
    assert font.is_file() and font.stat().st_size > 10_000
    env2 = {"STYLIST_HOME": str(tmp_path), "YOLO_OFFLINE": "0"}
    prepare_runtime(env2)
    assert env2["YOLO_OFFLINE"] == "0"  # a user's own choice is kept


def test_detector_settings_come_from_the_environment():
    from stylist.config import load_config
    from stylist.models.detector_settings import DetectorSettings

    env = {"STYLIST_DETECT_CONF": "0.3", "STYLIST_DETECT_IOU": "0.6", "STYLIST_DETECT_ZOOM": "0",
           "STYLIST_DETECT_ZOOM_ALWAYS": "1", "STYLIST_DETECT_FALLBACK_CONF": "0", "STYLIST_DETECT_CONTAIN": "0.9",
           "STYLIST_DETECT_VERIFY": "0"}
    s = DetectorSettings(**load_config(env=env).detector_settings())
    assert (s.conf, s.iou, s.zoom_imgsz, s.zoom_always, s.fallback_conf, s.contain, s.propose) == (0.3, 0.6, 0, True, 0.0, 0.9, 0.0)
    default = DetectorSettings(**load_config(env={}).detector_settings())
    assert default.zoom_imgsz > 0 and default.zoom_always is False and default.fallback_conf > 0
    assert default.propose > 0 and default.propose < default.conf  # the item check is on: boards get a closer look
    checked = DetectorSettings(**load_config(env={"STYLIST_DETECT_VERIFY_CONF": "0.12"}).detector_settings())
    assert (checked.propose, checked.floor) == (0.12, min(0.12, checked.fallback_conf))
