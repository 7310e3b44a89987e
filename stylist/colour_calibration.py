"""How a catalogue would name a product's colour, from the garment's pixels and CLIP's colour guess.

The pixels name the garment's actual hue (``stylist.garment_color``) and CLIP's colour prompts follow how
titles name colours; each alone agrees with a catalogue's colour family on ~0.58 / ~0.68 of held-out
Fashion Product Images photos. They fail differently: pixels confuse black, grey and white under a
studio's lighting and read a silver watch as white; CLIP calls dark navy black and pale grey white. A
catalogue's names also depend on the kind of product (metal jewellery is "silver", not "white"). A small
multinomial logistic regression over both readings plus the product's class learns that mapping from
FPI's own colour names (train split; fitted by ``training/train_colour_calibration.py``): ~0.73 agreement
on the validation split, and its probability is the confidence re-ranking trusts.

The weights belong to one CLIP model (its colour prompts' probabilities are features): with another CLIP
model ``ColourCalibration.load`` returns None and the index falls back to pixels + CLIP's sure guesses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stylist.metrics import softmax
from stylist.schema import CLASSES

CALIBRATION_PATH = Path(__file__).parent / "weights" / "colour-calibration.json"
PROB_FLOOR = 1e-4  # CLIP probabilities enter as logs; the floor bounds a confident "no"
LOG_SCALE = 10.0  # log-probabilities (down to ln 1e-4 ≈ -9.2) divided by this sit near the other features' range


def features(clip_probs: np.ndarray, pixel_shares: np.ndarray, pixel_lab: np.ndarray,
             classes: list[str | None], families: tuple[str, ...]) -> np.ndarray:
    """(N, F) design matrix: CLIP's family log-probabilities, the garment's share per family, its Lab colour
    (/100), the class one-hot, and a constant. ``clip_probs`` and ``pixel_shares`` are (N, families)."""
    clip_probs = np.atleast_2d(np.asarray(clip_probs, dtype=np.float64))
    n = len(clip_probs)
    onehot = np.array([[c == k for k in CLASSES] for c in classes], dtype=np.float64).reshape(n, len(CLASSES))
    return np.hstack([np.log(clip_probs + PROB_FLOOR) / LOG_SCALE, np.atleast_2d(pixel_shares).reshape(n, len(families)),
                      np.atleast_2d(pixel_lab).reshape(n, 3) / 100.0, onehot, np.ones((n, 1))])


def fit(x: np.ndarray, y: np.ndarray, k: int, l2: float = 1e-4, steps: int = 3000, lr: float = 0.5) -> np.ndarray:
    """Multinomial logistic regression by full-batch gradient descent (a few thousand rows, ~40 features:
    seconds, and no solver dependency). Returns the (F, k) weights."""
    w = np.zeros((x.shape[1], k))
    target = np.eye(k)[y]
    for _ in range(steps):
        w -= lr * (x.T @ (softmax(x @ w) - target) / len(x) + l2 * w)
    return w


@dataclass(frozen=True)
class ColourCalibration:
    """Fitted weights over ``families`` for one CLIP model."""

    clip: str
    families: tuple[str, ...]
    weights: np.ndarray
    info: dict

    @classmethod
    def load(cls, clip_name: str, path: Path = CALIBRATION_PATH) -> "ColourCalibration | None":
        """The calibration fitted for ``clip_name``; None when there is none for that model."""
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        if data.get("clip") != clip_name or list(data.get("classes", [])) != list(CLASSES):
            return None
        return cls(data["clip"], tuple(data["families"]), np.asarray(data["weights"], dtype=np.float64),
                   data.get("info", {}))

    def save(self, path: Path = CALIBRATION_PATH) -> None:
        """Write the weights as JSON (a few KB, reviewed like code)."""
        data = {"clip": self.clip, "families": list(self.families), "classes": list(CLASSES),
                "weights": np.round(self.weights, 5).tolist(), "info": self.info}
        path.write_text(json.dumps(data, indent=1) + "\n")

    def probs(self, clip_probs: np.ndarray, pixel_shares: np.ndarray, pixel_lab: np.ndarray,
              classes: list[str | None]) -> np.ndarray:
        """(N, families) probability of each family being the catalogue's name for the product's colour."""
        return softmax(features(clip_probs, pixel_shares, pixel_lab, classes, self.families) @ self.weights)
