"""Re-check the label fusion for a (new) garment namer on the VALIDATION split (never test).

Runs the serving path (``Stylist.detect_items``) on val images — real CC0 photos (the best item), single
catalogue items composited on real backgrounds, cluttered and catalogue-style boards (each matched item) — and
records every source's vote that ``stylist.labels.fuse`` saw, then replays the fusion offline:

* prior correction: the namer learned from views that are a third tops; a logit adjustment divides its
  probabilities by (class prior)^tau before fusing (it trades accuracy on common classes for rare ones);
* the weights of a one-garment item (``stylist.labels.CONTEXT_WEIGHTS``): the namer on the box, the AE head, the
  detector and the namer on the whole photo.

Per subset: the fused label's accuracy, and the share right *and* sure enough to steer the ranking
(``stylist.item_kind.KIND_CONFIDENCE``: the top-5 products follow it); real photos also by split halves.

    python -m training.study_labels --out /tmp/labels [--composites 150 --boards 60]
    python -m training.study_labels --out /tmp/labels --study-only   # replay the recorded votes again
"""
from __future__ import annotations

import contextlib
import itertools
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from stylist.labels import FusionWeights, fuse
from stylist.schema import CLASSES
from training.common import study_parser

if TYPE_CHECKING:
    from stylist.search import Stylist

# views per class (CLASSES order) the bundled namer was trained on (stylist/weights/garment-namer.md: CC0
# photos, CTL crops and composites over 5 rounds): its class prior
NAMER_TRAIN_VIEWS = (10142, 1434, 944, 2977, 3347, 1486, 2137, 1158, 2291, 2040, 847, 477, 675)


def prior_adjusted(p: np.ndarray | None, prior: np.ndarray, tau: float) -> np.ndarray | None:
    """Logit adjustment of a probability vector: p / prior^tau, renormalised (tau 0: unchanged)."""
    if p is None or tau == 0:
        return p
    q = np.asarray(p, np.float64) * np.asarray(prior, np.float64) ** -tau
    return q / q.sum()


@contextlib.contextmanager
def recording_votes():
    """Every call of the fusion the search makes (``stylist.item_namer.fuse``), its keyword arguments appended
    to the yielded list (the weights included)."""
    import stylist.item_namer as item_namer

    calls: list[dict] = []
    original = item_namer.fuse

    def recorded(classes, **votes):
        calls.append(dict(votes))
        return original(classes, **votes)

    item_namer.fuse = recorded
    try:
        yield calls
    finally:
        item_namer.fuse = original


def record(stylist: Stylist, samples, progress: bool = True) -> list[dict]:
    """One row per scored item: kind, truth, the votes its fused label came from (``samples`` as
    ``training.tune_wild._samples`` yields them: real photos score the best item, the others each matched one)."""
    from training.eval_wild import match_boxes

    rows = []
    with recording_votes() as calls:
        for kind, img, truths in tqdm(list(samples), desc="val votes", unit="img", disable=not progress):
            if isinstance(img, str):
                img = stylist.load_image(img)
            calls.clear()
            dets = stylist.detect_items(img)
            if not dets or len(calls) != len(dets):  # no detection, or one named without fusing
                continue
            pairs = ([(truths[0], 0)] if kind == "real" else
                     [(t, m) for t, m in zip(truths, match_boxes([t["box"] for t in truths], [d.box for d in dets]))
                      if m >= 0])
            rows += [{"kind": kind, "truth": t["category"], "votes": calls[m]} for t, m in pairs]
    return rows


def replay(rows: list[dict], context_weights: FusionWeights | None = None, tau: float = 0.0,
           prior: np.ndarray | None = None, sure: float = 0.4) -> dict[str, tuple[float, float]]:
    """Per kind: (label accuracy, share right with confidence >= ``sure``) of the fusion re-run on the recorded
    votes — one-garment items with ``context_weights`` (None: as recorded), the namer's votes prior-adjusted."""
    prior = np.asarray(NAMER_TRAIN_VIEWS, np.float64) if prior is None else np.asarray(prior, np.float64)
    prior = prior / prior.sum()
    out: dict[str, list] = {}
    for r in rows:
        votes = dict(r["votes"])
        weights = votes.pop("weights")
        if context_weights is not None and weights.context_namer > 0:
            weights = context_weights
        for name in ("namer", "context_namer"):
            votes[name] = prior_adjusted(votes.get(name), prior, tau)
        f = fuse(CLASSES, weights=weights, **votes)
        out.setdefault(r["kind"], []).append((f.label == r["truth"], f.label == r["truth"] and f.confidence >= sure))
    return {k: tuple(float(x) for x in np.mean(v, axis=0)) for k, v in out.items()}


def halves(rows: list[dict], seed: int = 0) -> tuple[list[dict], list[dict]]:
    """The rows split in two at random (a check that a choice is not fitted to a few photos)."""
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order[: len(rows) // 2]], [rows[i] for i in order[len(rows) // 2:]]


def study(rows: list[dict], taus=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
          grid=((0.0, 0.5), (0.0, 0.5, 1.0), (1.0, 2.0, 3.0), (0.0, 0.25))) -> dict:
    """Prior correction per tau and one-garment weights (head, namer, context namer, detector) per combination."""
    real = [r for r in rows if r["kind"] == "real"]
    a, b = halves(real)
    prior = [{"tau": t, **replay(rows, tau=t), "real_halves": [replay(h, tau=t)["real"][0] for h in (a, b)]}
             for t in taus]
    weights = []
    for head, namer, ctx, det in itertools.product(*grid):
        cw = FusionWeights(detector=det, head=head, namer=namer, context_namer=ctx)
        weights.append({"head": head, "namer": namer, "context_namer": ctx, "detector": det, **replay(rows, cw),
                        "real_halves": [replay(h, cw)["real"][0] for h in (a, b)]})
    weights.sort(key=lambda r: -r["real"][0])
    return {"items": {k: sum(r["kind"] == k for r in rows) for k in ("real", "composite", "clutter", "catalog")},
            "recorded": replay(rows), "prior": prior, "context_weights": weights}


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, seed=5, photos=10_000, composites=150, boards=60)
    p.add_argument("--study-only", action="store_true")
    args = p.parse_args(argv)
    from stylist.config import load_config
    from training.tune_wild import _samples, val_stylist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    votes = out / "votes.pkl"
    if not args.study_only:
        config = load_config()
        stylist, _ = val_stylist(config)
        sizes = {"photos": args.photos, "composites": args.composites, "boards": args.boards}
        samples = _samples(Path(args.data), config.cache_dir / "wild-boxes-val.jsonl", sizes, config.imgsz, args.seed)
        votes.write_bytes(pickle.dumps(record(stylist, samples)))
    result = study(pickle.loads(votes.read_bytes()))
    (out / "study.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result[k] for k in ("items", "recorded")}, indent=1))
    for r in result["prior"]:
        print(r)
    for r in result["context_weights"][:8]:
        print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
