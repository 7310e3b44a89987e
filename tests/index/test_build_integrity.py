"""Index integrity: kill -9 mid-build then re-run, a model change interrupted, two builders, bad rows, dead server."""
from __future__ import annotations

import copy
import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from index.build import UNFINISHED, build_index
from tests.helpers.catalog import die_on_visual_upsert, make_catalog
from stylist.cli import main as stylist_main
from stylist.config import REPO_ROOT, load_config
from stylist.errors import IndexUnavailableError
from stylist.models import shared_clip, shared_embedder
from stylist.search import Stylist
from stylist.store import CatalogStore

KILL_CATALOG_PER_COMBO = 10  # 4 categories × 6 colours × 10 = 240 products


@pytest.fixture(scope="module")
def models():
    config = load_config(env={"STYLIST_RUNTIME": "torch"})  # the tests perturb torch weights
    return shared_embedder(config), shared_clip(config)


def _progress(text: str) -> tuple[int, int]:
    found = re.findall(r"(\d+)/(\d+)", text)
    return tuple(map(int, found[-1])) if found else (0, 0)  # type: ignore[return-value]


def _assert_complete(config, ids: set[str], signature: str) -> None:
    store = CatalogStore.open(config)
    assert store.visual.count() == store.clip.count() == store.count() == len(ids)  # no duplicates, no halves
    assert store.all_ids() == ids and set(store.fingerprints()) == ids
    assert store.models()["signature"] == signature


def test_kill_9_mid_build_then_rerun_is_exact(tmp_path, stylist_home, models, capsys):
    catalog = make_catalog(tmp_path / "cat", per_combo=KILL_CATALOG_PER_COMBO)
    ids = {row[0] for row in list(csv.reader(catalog.open()))[1:]}
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "STYLIST_DEVICE": "cpu"}
    err = (tmp_path / "build.err").open("w+")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from stylist.cli import main; sys.exit(main())",
                             "index", "build", str(catalog), "--batch", "16"], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 300
        while True:  # wait until about a third is indexed (tqdm's progress on stderr)
            done, total = _progress((tmp_path / "build.err").read_text())
            if done >= len(ids) // 3 or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the build ended before it could be killed: {(tmp_path / 'build.err').read_text()[-800:]}"
        # a second builder on the same embedded path refuses, naming the first one's pid
        assert stylist_main(["index", "build", str(catalog), "--quiet"]) == 1
        assert f"another index build (pid {proc.pid})" in capsys.readouterr().err
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        err.close()
    config = load_config()
    store = CatalogStore.open(config)
    survived = len(store.fingerprints())
    assert 0 < survived < len(ids)
    assert store.models()["signature"].endswith(UNFINISHED)  # an unfinished build is never mistaken for done
    del store
    assert stylist_main(["index", "build", str(catalog), "--quiet"]) == 0  # the lock died with the builder
    out = capsys.readouterr().out
    # the builder writes one batch in the background while it embeds the next, so the kill may land between
    # a batch's CLIP and visual writes: those products (at most one batch of 16) are redone as "updated"
    added, updated, unchanged = (int(re.search(rf"(\d+) {word}", out).group(1)) for word in ("added", "updated", "unchanged"))
    assert added + updated == len(ids) - survived and updated <= 16 and unchanged == survived
    assert "0 rejected" in out
    from index.embedder import ProductEmbedder

    _assert_complete(config, ids, ProductEmbedder(*models).signature)


def _perturbed(embedder):
    """The same embedder class with slightly different weights (what retraining does to the signature)."""
    model = copy.deepcopy(embedder.model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1e-3)
    return type(embedder)(model, embedder.preprocess, embedder.name, embedder.device, embedder.classes,
                          embedder.batch_size)


def test_model_change_interrupted_is_refused_until_the_rerun_finishes(tmp_path, models, monkeypatch):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="m-test")
    embedder, clip = models
    build_index(config, catalog, embedder, clip, progress=False)
    new_embedder = _perturbed(embedder)
    store = CatalogStore.open(config)
    die_on_visual_upsert(monkeypatch, store)  # the 2nd batch reaches the CLIP collection, then the build "dies"
    with pytest.raises(KeyboardInterrupt):
        build_index(config, catalog, new_embedder, clip, store=store, batch_size=8, progress=False)
    monkeypatch.undo()
    for emb in (embedder, new_embedder):  # half old, half new vectors: neither model may search it
        with pytest.raises(IndexUnavailableError, match="part-way through an index build"):
            Stylist(config, None, emb, clip, CatalogStore.open(config)).search_text("red shoes")
    report = build_index(config, catalog, new_embedder, clip, progress=False)
    assert report.unchanged == 8 and report.updated == 16 and report.stale == 0
    stylist = Stylist(config, None, new_embedder, clip, CatalogStore.open(config))
    assert stylist.search_text("red shoes", top_k=3).products
    from index.embedder import ProductEmbedder

    _assert_complete(config, {r[0] for r in list(csv.reader(catalog.open()))[1:]},
                     ProductEmbedder(new_embedder, clip).signature)


def test_stale_products_of_old_models_keep_the_index_unfinished(tmp_path, models):
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    config = load_config(env={}, db_path=tmp_path / "db", collection="st-test")
    build_index(config, catalog, *models, progress=False)
    rows = list(csv.reader(catalog.open()))
    with catalog.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows[:-2])  # two products leave the catalog but stay indexed
    new_embedder = _perturbed(models[0])
    report = build_index(config, catalog, new_embedder, models[1], progress=False)
    assert report.stale == 2 and "--prune" in report.summary()
    assert CatalogStore.open(config).models()["signature"].endswith(UNFINISHED)
    pruned = build_index(config, catalog, new_embedder, models[1], prune=True, progress=False)
    assert len(pruned.removed) == 2 and pruned.unchanged == 22 and pruned.stale == 0
    assert not CatalogStore.open(config).models()["signature"].endswith(UNFINISHED)


def test_bad_rows_are_rejected_the_rest_indexed_and_the_exit_code_says_so(tmp_path, stylist_home, capsys):
    folder = tmp_path / "cat"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "notes.png").write_text("this is text, not a picture")
    (tmp_path / "outside.png").write_bytes((Path(make_catalog(tmp_path / "x", per_combo=1).parent)
                                            / "images" / "sho-red-0.png").read_bytes())
    unreadable = folder / "images" / "locked.png"
    unreadable.write_bytes((tmp_path / "outside.png").read_bytes())
    unreadable.chmod(0)
    catalog = make_catalog(folder, per_combo=1, extra_rows=[
        ["locked", "images/locked.png", "l", "Shoes", "", ""],
        ["nonimage", "images/notes.png", "n", "Shoes", "", ""],
        ["missing", "images/missing.png", "m", "Shoes", "", ""],
        ["escape", "../outside.png", "e", "Shoes", "", ""],
        ["sho-red-0", "images/sho-blue-0.png", "dup", "Shoes", "", ""],
        ["price", "images/sho-blue-0.png", "p", "Shoes", "", "ask us"],
        ["", "images/sho-blue-0.png", "noid", "Shoes", "", ""],
    ])
    with catalog.open("a") as fh:
        fh.write("extra,images/sho-blue-0.png,x,Shoes,red,10,surplus\n")
    rejects = tmp_path / "rejects.csv"
    code = stylist_main(["index", "build", str(catalog), "--quiet", "--rejects", str(rejects)])
    out = capsys.readouterr().out
    expected = {"nonimage", "missing", "escape", "sho-red-0", "price", "", "extra"}
    readable = os.access(unreadable, os.R_OK)  # root reads a chmod-0 file anyway
    if not readable:
        expected.add("locked")
    assert code == 3, out
    assert f"{24 + readable} added" in out and f"{len(expected)} rejected" in out
    got = {r["id"]: r["reason"] for r in csv.DictReader(rejects.open())}
    assert set(got) == expected
    assert "not an image" in got["nonimage"] and "missing.png" in got["missing"]
    assert "outside the catalog folder" in got["escape"] and "duplicate id" in got["sho-red-0"]
    assert CatalogStore.open(load_config()).count() == 24 + readable
    clean = make_catalog(tmp_path / "clean", per_combo=1)
    assert stylist_main(["index", "build", str(clean), "--quiet", "--rejects", str(rejects)]) == 0
    assert not rejects.exists()  # a clean build leaves no stale rejects list


def test_build_against_a_dead_server_names_the_url(tmp_path, stylist_home, capsys, monkeypatch):
    from tests.helpers.catalog import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("STYLIST_CHROMA_URL", url)
    catalog = make_catalog(tmp_path / "cat", per_combo=1)
    assert stylist_main(["index", "build", str(catalog), "--quiet"]) == 1
    assert url in capsys.readouterr().err
