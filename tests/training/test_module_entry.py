"""The training commands the `stylist` CLI dispatches also run as `python -m training.X` (they used to exit 0
silently: no __main__ block)."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["training.evaluate", "training.train_autoencoder", "training.train_clip",
                                    "training.train_detector", "training.reestimate_bn"])
def test_python_m_runs_the_command(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
