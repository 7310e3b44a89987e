"""The tiny made-up data root (tests/helpers/tiny_root.py), built once per session for the data tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.tiny_root import build_tiny_root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """The tiny data root (read-only by convention: tests write elsewhere)."""
    return build_tiny_root(tmp_path_factory.mktemp("tiny") / "data")
