"""The label study replays recorded fusion votes: a logit-adjusted namer and other one-garment weights."""
from __future__ import annotations

import numpy as np

from stylist.labels import CONTEXT_WEIGHTS, FusionWeights
from stylist.schema import CLASSES
from training.study_labels import halves, prior_adjusted, recording_votes, replay

TOPS, DRESS = CLASSES.index("Shirts & Tops"), CLASSES.index("Dresses")


def _probs(**shares: float) -> np.ndarray:
    p = np.zeros(len(CLASSES))
    for name, share in shares.items():
        p[{"tops": TOPS, "dress": DRESS}[name]] = share
    return p


def test_prior_adjusted_divides_by_the_prior_to_the_power_tau():
    p, prior = np.array([0.6, 0.4]), np.array([0.8, 0.2])
    assert prior_adjusted(p, prior, 0.0) is p and prior_adjusted(None, prior, 1.0) is None
    q = prior_adjusted(p, prior, 1.0)  # 0.6/0.8 = 0.75, 0.4/0.2 = 2 -> 0.75/2.75, 2/2.75
    assert np.allclose(q, [0.75 / 2.75, 2 / 2.75])
    assert np.allclose(prior_adjusted(p, np.array([0.5, 0.5]), 0.7), p)  # a flat prior changes nothing


def _row(kind: str, truth: str, namer: np.ndarray, whole: np.ndarray) -> dict:
    return {"kind": kind, "truth": truth, "votes": {"weights": CONTEXT_WEIGHTS, "namer": namer, "context_namer": whole}}


def test_replay_refuses_with_other_weights_and_a_prior():
    # the box says tops (a dress's top half), the whole photo says dress but only just
    rows = [_row("real", "Dresses", _probs(tops=0.9, dress=0.1), _probs(tops=0.45, dress=0.55)),
            _row("composite", "Shirts & Tops", _probs(tops=0.9, dress=0.1), _probs(tops=0.3, dress=0.7))]
    recorded = replay(rows)
    # recorded weights: namer 1 on the box, 2 on the whole photo: 0.9·0.45² > 0.1·0.55² (smoothed alike)
    assert recorded["real"][0] == 0.0 and recorded["composite"][0] == 1.0
    whole_only = replay(rows, FusionWeights(detector=0.0, head=0.0, namer=0.0, context_namer=1.0))
    assert whole_only["real"][0] == 1.0 and whole_only["composite"][0] == 0.0
    assert whole_only["real"][1] == 1.0  # right, and sure enough (0.55 smoothed > 0.4)
    # tops nine times as common as dresses in training: tau 1 turns the box's 0.9 tops into 0.5 / 0.5
    prior = np.full(len(CLASSES), 1.0)
    prior[TOPS] = 9.0
    assert replay(rows, tau=1.0, prior=prior)["real"][0] == 1.0


def test_halves_split_the_rows_without_losing_any():
    rows = [{"i": i} for i in range(7)]
    a, b = halves(rows)
    assert len(a) == 3 and len(b) == 4 and sorted(r["i"] for r in a + b) == list(range(7))


def test_recording_votes_sees_the_fusion_the_item_namer_runs_and_restores_it():
    import stylist.item_namer as item_namer
    from stylist.item_namer import ItemNamer

    before = item_namer.fuse
    namer = ItemNamer(embedder=None, clip=None, garment_namer=object())
    with recording_votes() as calls:
        out = namer.name([None], np.zeros((1, 4), np.float32), None, [[]], [[]], [_probs(dress=1.0)])
    assert item_namer.fuse is before
    assert out[0].label == "Dresses" and len(calls) == 1
    assert calls[0]["weights"] == namer.weights and calls[0]["namer"][DRESS] == 1.0
