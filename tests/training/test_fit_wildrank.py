"""The offline replay of a photographed item's ranking: the candidates the search ranks, and the fitted scorer."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.fit_wildrank import Evidence, candidates, fit_linear, gated, z
from training.study_wildrank import views

DIM = 8


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory) -> Evidence:
    """30 products (20 pants, 10 shoes) on random unit vectors, and no collected rows."""
    d = tmp_path_factory.mktemp("ev")
    rng = np.random.default_rng(0)
    cats = np.array(["Pants"] * 20 + ["Shoes"] * 10)
    np.savez(d / "catalogue.npz", ids=np.array([f"p{i}" for i in range(30)]), A=_unit(rng.normal(size=(30, DIM))),
             C=_unit(rng.normal(size=(30, DIM))), cats=cats, colors=np.array(["black"] * 30), conf=np.ones(30))
    (d / "val").mkdir()
    (d / "val" / "composites.pkl").write_bytes(pickle.dumps([]))
    return Evidence(d)


def _row(ev: Evidence, near: int, kinds: list[str], whole: bool = True) -> dict:
    return {"ae_item": ev.A[near].copy(), "clip_item": ev.C[near].copy(), "shown_kinds": kinds, "whole_photo": whole,
            "boxed": True, "white": True}


def test_kind_rule_keeps_the_shown_kind_and_the_two_nearest_others(evidence):
    ev = evidence
    row = _row(ev, 25, ["Pants"])  # the item looks like a shoe, the fusion says pants
    got = candidates(ev, row)
    order = [ev.ids[j] for j in np.argsort(-(ev.A @ row["ae_item"]), kind="stable")]
    others = [i for i in order if ev.cats[ev.pos[i]] != "Pants"][:2]
    assert set(got) == {i for i in order if ev.cats[ev.pos[i]] == "Pants"} | set(others)
    assert got[-2:] == others and got[0] == next(i for i in order if ev.cats[ev.pos[i]] == "Pants")
    assert candidates(ev, row, rule=False) == order  # no rule: the AE order, all of it
    assert candidates(ev, _row(ev, 25, ["Pants"], whole=False)) == order  # not one garment: no rule


def test_clip_neighbours_join_the_candidates_of_gated_items_only(evidence):
    ev = evidence
    row = _row(ev, 3, ["Pants"])
    base = candidates(ev, row, pool=5, rule=False)
    clip_best = ev.ids[int(np.argmax(ev.C @ row["clip_item"]))]
    assert clip_best in candidates(ev, row, pool=5, rule=False, clip_k=1)
    assert candidates(ev, {**row, "white": False}, pool=5, rule=False, clip_k=1) == base
    assert gated(row) and not gated({**row, "boxed": False})


def test_fit_linear_weights_the_feature_that_finds_the_product(evidence):
    ev = evidence
    rng = np.random.default_rng(1)
    rows, feats = [], []
    for k in range(40):
        idx = rng.permutation(30)[:12]
        truth = int(rng.integers(12))
        good = rng.normal(size=12)
        good[truth] += 3.0  # the informative feature singles the product out ...
        rows.append({"product": ev.ids[idx[truth]], "boxed": True, "whole_photo": True, "white": True})
        feats.append({"idx": idx, "good": good, "noise": rng.normal(size=12)})  # ... the other is noise
    w = fit_linear(ev, rows, feats, ["noise", "good"])
    assert w[1] > 0.5 and abs(w[0]) < 0.3 * w[1]
    hits = [int(np.argmax(z(f["noise"]) * w[0] + z(f["good"]) * w[1])) == list(f["idx"]).index(ev.pos[r["product"]])
            for r, f in zip(rows, feats)]
    assert np.mean(hits) > 0.8


def test_views_flip_widen_and_narrow_the_crop():
    img = Image.new("RGB", (200, 160), (90, 120, 60))
    ImageDraw.Draw(img).rectangle((60, 40, 140, 120), fill=(200, 30, 30))
    ImageDraw.Draw(img).rectangle((60, 40, 80, 60), fill=(0, 0, 255))  # marks the left side
    out = views(img, (60.0, 40.0, 140.0, 120.0), None)
    assert set(out) == {"raw", "flip", "loose", "tight"}  # no backdrop found: no white views
    assert out["loose"].width > out["raw"].width > out["tight"].width
    raw, flip = np.asarray(out["raw"]), np.asarray(out["flip"])
    assert np.array_equal(flip, raw[:, ::-1])


def test_others_by_the_blend_keeps_the_other_kind_that_clip_sees_alike(evidence):
    ev = evidence
    row = {**_row(ev, 25, ["Pants"]), "clip_item": ev.C[28].copy()}  # AE says product 25, CLIP says 28 (both shoes)
    by_ae = candidates(ev, row)[-2:]
    by_blend = candidates(ev, row, others_by_blend=True)[-2:]
    assert "p25" in by_ae and "p28" in by_blend
    assert all(ev.cats[ev.pos[i]] == "Shoes" for i in by_ae + by_blend)
