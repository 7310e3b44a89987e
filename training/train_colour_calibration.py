"""Fit the colour calibration (stylist/colour_calibration.py) on Fashion Product Images' own colour names.

    python -m training.train_colour_calibration [--data DIR] [--n-train 12000] [--n-val 1500] [--out PATH]

Train split products fit the weights; validation split products report agreement with FPI's
``baseColour`` family for the pixels alone, CLIP alone, the uncalibrated fusion and the calibration. The
test split is never read. The bundled CLIP model saw FPI train titles, so its colour guesses are better
on train than on new products; the validation numbers are the honest ones.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from stylist.clip_colours import CLIP_FAMILIES, ClipColours, fuse_clip
from stylist.colors import color_family
from stylist.colour_calibration import CALIBRATION_PATH, ColourCalibration, features, fit
from stylist.config import load_config
from stylist.garment_color import GarmentColor, garment_color
from stylist.metrics import softmax
from stylist.query import category_of

# chosen on the validation split: fitted on 4,000 train products, 1e-4 / 1e-3 / 1e-2 agreed 0.730 / 0.725 /
# 0.699; on 12,000, 0.727 at both 1e-4 and 1e-3. Class × colour interaction features added ≤ 0.006: left out.
L2 = 1e-4


def split_items(root: Path, split: str, n: int, seed: int = 0) -> list:
    """Up to ``n`` FPI products of ``split`` with a detection class and a one-family colour."""
    from training.data.catalog_writers import fpi_catalog

    items = [it for it in fpi_catalog(root) if it.extra.get("split") == split and category_of(it.category)
             and color_family(it.color) in CLIP_FAMILIES]
    rng = np.random.default_rng(seed)
    return [items[i] for i in sorted(rng.choice(len(items), size=min(n, len(items)), replace=False))]


def readings(items, clip, cache: Path | None, label: str) -> tuple[np.ndarray, list[GarmentColor]]:
    """CLIP image vectors (cached by ids in ``cache``) and the pixel readings of ``items``."""
    ids = [it.id for it in items]
    vecs = None
    if cache is not None and cache.is_file():
        z = np.load(cache)
        vecs = z["vecs"] if list(z["ids"]) == ids else None
    if vecs is None:
        batches = []
        for i in tqdm(range(0, len(items), 64), desc=f"CLIP {label}", unit="batch"):
            batches.append(clip.embed_images([Image.open(it.image).convert("RGB") for it in items[i:i + 64]]))
        vecs = np.concatenate(batches)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, ids=np.array(ids), vecs=vecs)
    pixels = []
    for it in tqdm(items, desc=f"pixels {label}", unit="img"):
        with Image.open(it.image) as img:
            pixels.append(garment_color(img, category_of(it.category)))
    return vecs, pixels


def design(items, probs: np.ndarray, pixels: list[GarmentColor]) -> tuple[np.ndarray, np.ndarray]:
    """Features and family labels (indices into CLIP_FAMILIES)."""
    shares = np.array([[p.families.get(f, 0.0) for f in CLIP_FAMILIES] for p in pixels])
    x = features(probs, shares, np.array([p.lab for p in pixels]), [category_of(it.category) for it in items],
                 CLIP_FAMILIES)
    y = np.array([CLIP_FAMILIES.index(color_family(it.color)) for it in items])
    return x, y


def main(argv: list[str] | None = None) -> int:
    from stylist.models.registry import load_clip
    from training.data.sources import resolve_data_root

    p = argparse.ArgumentParser(prog="python -m training.train_colour_calibration", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="data root laid out like ../shared/data")
    p.add_argument("--n-train", type=int, default=12000)
    p.add_argument("--n-val", type=int, default=1500)
    p.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    p.add_argument("--cache", type=Path, help="folder for the CLIP vectors of the sampled products (reruns reuse them)")
    args = p.parse_args(argv)
    config = load_config()
    root = resolve_data_root(args.data)
    clip = load_clip(config)
    colours = ClipColours(clip)
    sets = {}
    for split, n in (("train", args.n_train), ("val", args.n_val)):
        items = split_items(root, split, n)
        cache = args.cache / f"{split}-{n}.npz" if args.cache else None
        vecs, pixels = readings(items, clip, cache, split)
        probs = colours.probs(vecs)
        sets[split] = (items, probs, pixels, *design(items, probs, pixels))
    x, y = sets["train"][3], sets["train"][4]
    weights = fit(x, y, len(CLIP_FAMILIES), L2)
    items, probs, pixels, xv, yv = sets["val"]
    got = softmax(xv @ weights).argmax(axis=1)  # what ColourCalibration.probs computes
    fam = np.array(CLIP_FAMILIES)
    truth = fam[yv]
    val = {
        "pixels": float(np.mean([color_family(p.name) == t for p, t in zip(pixels, truth)])),
        "clip": float(np.mean(fam[probs.argmax(axis=1)] == truth)),
        "pixels_with_clip_sure": float(np.mean([color_family(fuse_clip(p.name, q, p.share)) == t
                                                for p, q, t in zip(pixels, probs, truth)])),
        "calibrated": float(np.mean(fam[got] == truth)),
    }
    info = {"fitted_on": f"{len(x)} FPI train-split products", "l2": L2,
            "val_agreement": {k: round(v, 3) for k, v in val.items()}, "val_products": len(items),
            "by": "python -m training.train_colour_calibration"}
    ColourCalibration(str(clip.name), CLIP_FAMILIES, weights, info).save(args.out)
    print(f"validation agreement with FPI baseColour families on {len(items)} products: "
          + ", ".join(f"{k} {v:.3f}" for k, v in val.items()) + f"; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
