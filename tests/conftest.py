"""Shared fixtures: the real-data root (skip when absent) and an isolated STYLIST_HOME per test."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from stylist.config import load_config


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the ``shared_data`` fixture carries the ``shared_data`` mark (``-m "not shared_data"``)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (CI has it; a user's clone does not, so such tests skip)."""
    root = load_config().data_dir
    if root is None or not (Path(root) / "ctl").is_dir():
        pytest.skip("needs ../shared/data (the real CTL/FPI/clothing data); not present on this machine")
    return Path(root)


@pytest.fixture()
def stylist_home(tmp_path, monkeypatch) -> Path:
    """A private STYLIST_HOME/STYLIST_DB so tests never touch the user's index."""
    home = tmp_path / "home"
    monkeypatch.setenv("STYLIST_HOME", str(home))
    monkeypatch.setenv("STYLIST_DB", str(home / "chroma"))
    return home


# The suite serves with torch unless a test asks for a fast runtime (tests/stylist/models/test_runtime.py
# checks that ONNX Runtime gives the same outputs): exporting the models into every test's private
# STYLIST_HOME would cost seconds per test.
os.environ.setdefault("STYLIST_RUNTIME", "torch")
# ``load_config(env={})`` falls back to the platform's user data folder: point it at a fresh folder, so the
# suite never reads (or leaves) model exports and indexes in the user's real home — a machine that ran the
# bot before must test like a fresh one.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="stylist-tests-")
# ... and remove it when the run ends: it holds ≈ 0.3 GB of exports and indexes per run, which filled a shared
# disk's /tmp after a day of test runs.
atexit.register(shutil.rmtree, os.environ["XDG_DATA_HOME"], ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--screenshots", default=None, metavar="DIR",
                     help="where the browser tests save their step screenshots (default: a temporary folder; "
                          "reports/playground refreshes the committed ones)")
