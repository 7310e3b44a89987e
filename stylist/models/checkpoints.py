"""Where weights live and how checkpoints are saved/loaded: one home for both.

A stylist checkpoint is a plain ``torch.save`` dict that describes itself (nanoGPT's ``model_args``):
``{"format", "kind", "arch", "train_config", "classes", "metrics", "state_dict"}`` — loading one needs
only its path. Weights are stored fp16 to keep the repo small; ``load_checkpoint`` returns them as saved
and callers cast to the model's dtype.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from stylist.config import WEIGHTS_DIR

if TYPE_CHECKING:
    import torch

FORMAT = "stylist-ckpt-1"
log = logging.getLogger(__name__)


def bundled_weights(filename: str) -> Path:
    """The path of a bundled weight file in ``stylist/weights/`` (it may not exist yet)."""
    return WEIGHTS_DIR / filename


def resolve_weights(name_or_path: str | Path | None, default_filename: str | None) -> Path | None:
    """An explicit existing path wins; else the bundled file (None when neither exists)."""
    if name_or_path:
        path = Path(name_or_path).expanduser()
        if path.exists():
            return path
        bundled = bundled_weights(str(name_or_path))
        if bundled.exists():
            return bundled
        raise FileNotFoundError(f"weights {name_or_path} not found (looked at {path} and {bundled})")
    if default_filename:
        path = bundled_weights(default_filename)
        return path if path.exists() else None
    return None


def half_state(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float tensors to fp16 (integer buffers such as BatchNorm counters unchanged), detached on CPU."""
    return {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()) for k, v in state_dict.items()}


def _plain(obj: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe copy (Paths, tuples → str, lists) so ``torch.load(weights_only=True)`` can read it back."""
    return json.loads(json.dumps(dict(obj), default=str))


def save_checkpoint(
    path: str | Path,
    *,
    kind: str,
    arch: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    train_config: Mapping[str, Any] | None = None,
    classes: list[str] | tuple[str, ...] | None = None,
    metrics: Mapping[str, Any] | None = None,
    fp16: bool = True,
) -> Path:
    """Write a self-describing checkpoint (fp16 weights by default) and return its path."""
    import torch  # lazily: serving from ONNX exports never needs it

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "format": FORMAT,
        "kind": kind,
        "arch": _plain(arch),
        "train_config": _plain(train_config or {}),
        "classes": [str(c) for c in classes or []],
        "metrics": _plain(metrics or {}),
        "state_dict": half_state(state_dict) if fp16 else {k: v.detach().cpu() for k, v in state_dict.items()},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a stylist checkpoint (tensors on CPU); raises ValueError for anything else."""
    import torch  # lazily: serving from ONNX exports never needs it

    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a stylist checkpoint (format {FORMAT})")
    return ckpt


def warn_random_init(what: str, expected: Path | str) -> None:
    """The loud warning printed when a bundled weight file is missing and a model starts from random init."""
    bar = "!" * 78
    log.warning(
        "\n%s\n%s: weights %s not found — using a RANDOM-INIT model.\n"
        "Results will be meaningless until you train it (see stylist/weights/*.md) or point the config at weights.\n%s",
        bar, what, expected, bar,
    )
