"""Pre-rendered training pairs for fine-tuning the autoencoder on "garment in the world" (CPU-sized).

Rendering a composite costs far more than a CPU training step can wait for, so a fixed set is rendered once
into shards (JPEG bytes at the embedder's input size) and training streams over them. One sample is:

``world``    a train-split catalog item (CTL crop or FPI product) pasted on a real background cut from a CC0
             photo's border (``training.data.wild``: shadow, relighting, shear/rotation, partly out of frame),
             the whole shot maybe relit, then cut as a search cuts a detected item (``stylist.images.item_crop``)
             from a box jittered like a detector's; its *clean* view is the catalog image as the index embeds it;
``catalog``  the same catalog image trimmed, rescaled small and JPEG-compressed on white / off-white (the
             catalogue-on-white query the bundled model was trained for, kept in the mix so it does not drop);
``photo``    a real train-split CC0 photo cut around its GrabCut box (jittered): no clean view, only its class.

Samples of one split (``training.data.splits``) only: train for training, val for the logged proxies; test
photos, backgrounds and products stay unseen.

    stylist data dae-pairs --out runs/dae/pairs --items 24000 --workers 1
"""
from __future__ import annotations

import argparse
import io
import json
import os
import pickle
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from stylist.images import item_crop
from stylist.models.autoencoder import Preprocess
from stylist.schema import CLASSES
from training.data.wild import _product, _transform, border_background, paste_item, relight

@dataclass
class PairsConfig:
    out: str = "runs/dae/pairs"
    split: str = "train"  # train for training; val for the fine-tuning's logged proxies (never test)
    data: str = ""  # data root; "" = Config.data_dir (../shared/data)
    boxes: str = ""  # GrabCut box records (JSON lines, training.data.wild_boxes); computed when missing
    items: int = 24000  # catalog samples (world + catalog kinds)
    world_share: float = 0.75  # of the catalog samples, the share placed in the world (the rest: on white)
    photo_repeats: int = 2  # jittered crops per real train-split CC0 photo
    image_size: int = 128  # the embedder's input size
    shard: int = 2000  # samples per shard file (a partial render is usable)
    workers: int = 1
    reverse: bool = False  # render the shards last-first: a second process started so finishes the set sooner
    seed: int = 0


def _jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def jitter_box(box: list[float], size: tuple[int, int], rng: np.random.Generator, amount: float = 0.08) -> list[float]:
    """``box`` with each side moved by up to ``amount`` of its width/height (a detector's box is never exact),
    kept inside the image and at least 4 px wide."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    d = rng.uniform(-amount, amount, 4) * np.array([w, h, w, h])
    x0, y0, x1, y1 = x0 + d[0], y0 + d[1], x1 + d[2], y1 + d[3]
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(float(size[0]), max(x1, x0 + 4)), min(float(size[1]), max(y1, y0 + 4))
    return [x0, y0, x1, y1]


def world_view(path: str, background: tuple[Image.Image, list[int]], rng: np.random.Generator,
               prep: Preprocess) -> Image.Image | None:
    """The catalog item at ``path`` photographed in the world and cut out as a search would (S×S RGB)."""
    item, mask = _product(path)
    photo, garment_box = background
    side = int(rng.integers(160, 320))
    aspect = rng.uniform(0.75, 1.33)
    W, H = (side, max(32, round(side / aspect))) if aspect >= 1 else (max(32, round(side * aspect)), side)
    board = relight(border_background(photo, garment_box, (W, H), rng), rng, 0.7)
    scale = rng.uniform(0.45, 0.85) * min(W, H) / max(item.width, item.height)
    size = (max(4, round(item.width * scale)), max(4, round(item.height * scale)))
    item, mask = _transform(relight(item, rng, 0.6), mask, size, rng)
    mx, my = item.width // 5, item.height // 5  # partial crops: up to 20 % out of the frame
    xy = (int(rng.integers(-mx, max(-mx + 1, W - item.width + mx + 1))),
          int(rng.integers(-my, max(-my + 1, H - item.height + my + 1))))
    box = paste_item(board, item, mask, xy, rng, shadow=rng.random() < 0.8, min_visible=0.6)
    if box is None:
        return None
    if rng.random() < 0.5:
        board = relight(board, rng, 0.5)
    return prep.square(item_crop(board, tuple(jitter_box(box, board.size, rng))))


def catalog_view(path: str, rng: np.random.Generator, prep: Preprocess) -> Image.Image:
    """The catalog image trimmed to its item, rescaled to 40–128 px, JPEG'd and padded on white/off-white."""
    item, mask = _product(path)
    tone = tuple(int(255 - v) for v in (rng.uniform(0, 18, 3) if rng.random() < 0.4 else np.zeros(3)))
    canvas = Image.new("RGB", item.size, tone)
    canvas.paste(item, (0, 0), mask)
    scale = int(rng.integers(40, 129)) / max(canvas.size)
    small = canvas.resize((max(8, round(canvas.width * scale)), max(8, round(canvas.height * scale))), Image.BILINEAR)
    small = Image.open(io.BytesIO(_jpeg(small, int(rng.integers(30, 91))))).convert("RGB")
    if rng.random() < 0.5:
        small = small.transpose(Image.FLIP_LEFT_RIGHT)
    return Preprocess(prep.image_size, tone).square(small)


def photo_view(rec: dict, rng: np.random.Generator, prep: Preprocess) -> Image.Image:
    """A real photo cut around its (jittered) GrabCut box as a search cuts a detected item."""
    with Image.open(rec["path"]) as img:
        photo = img.convert("RGB")
    sx, sy = photo.width / rec["size"][0], photo.height / rec["size"][1]
    box = [rec["box"][0] * sx, rec["box"][1] * sy, rec["box"][2] * sx, rec["box"][3] * sy]
    crop = item_crop(photo, tuple(jitter_box(box, photo.size, rng, 0.1)))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    return prep.square(relight(crop, rng, 0.4) if rng.random() < 0.5 else crop)


# --- one shard per job (workers load the sources once) ---------------------------------------------
_STATE: dict = {}


def _init(cfg: PairsConfig) -> None:
    from training.data.wild import load_wild_sources
    from training.data.wild_boxes import load_wild_boxes
    from training.data.boards import load_board_sources

    records = load_wild_boxes(cfg.data or None, cfg.boxes or None, progress=False, splits=(cfg.split,))
    src = load_wild_sources(cfg.data or None, records, load_board_sources(cfg.data or None, False, False))
    backgrounds = []
    for rec in src.photos[cfg.split]:  # the photos are small (≈240×320): all kept decoded in memory
        with Image.open(rec["path"]) as img:
            photo = img.convert("RGB")
        sx, sy = photo.width / rec["size"][0], photo.height / rec["size"][1]
        backgrounds.append((photo, [round(rec["box"][0] * sx), round(rec["box"][1] * sy),
                                    round(rec["box"][2] * sx), round(rec["box"][3] * sy)]))
    _STATE.update(cfg=cfg, items=sorted(src.items[cfg.split]), photos=src.photos[cfg.split], backgrounds=backgrounds,
                  prep=Preprocess(cfg.image_size))


def plan(n_items: int, n_catalog: int, n_photos: int, repeats: int, world_share: float,
         seed: int) -> list[tuple[str, int]]:
    """The samples as (kind, source index): catalog items in order (consecutive samples share an item, so the
    per-process cut-out cache hits), each real photo ``repeats`` times."""
    rng = np.random.default_rng(seed)
    jobs: list[tuple[str, int]] = []
    if n_catalog:
        for k in range(n_items):
            jobs.append(("world" if rng.random() < world_share else "catalog", k * n_catalog // n_items))
    jobs += [("photo", i) for i in range(n_photos) for _ in range(repeats)]
    return jobs


def render_shard(args: tuple[int, list[tuple[str, int]]]) -> dict:
    """Render the samples of one shard: JPEG views, class ids, product ids and kinds."""
    shard_id, jobs = args
    cfg, prep = _STATE["cfg"], _STATE["prep"]
    target = Path(cfg.out) / f"shard-{shard_id:04d}.pkl"
    if target.is_file():  # another render process (``--reverse``) got here first
        return {"shard": shard_id, "samples": len(jobs)}
    out: dict[str, list] = {"view": [], "clean": [], "label": [], "product": [], "kind": []}
    for j, (kind, idx) in enumerate(jobs):
        rng = np.random.default_rng([cfg.seed, shard_id, j])
        if kind == "photo":
            rec = _STATE["photos"][idx]
            view, clean, category, product = photo_view(rec, rng, prep), None, rec["category"], f"cc0-{rec['id']}"
        else:
            path, category = _STATE["items"][idx]
            view = None
            if kind == "world":
                bgs = _STATE["backgrounds"]
                for _ in range(4):
                    view = world_view(path, bgs[int(rng.integers(len(bgs)))], rng, prep)
                    if view is not None:
                        break
            if view is None:
                kind, view = "catalog", catalog_view(path, rng, prep)
            with Image.open(path) as img:
                clean = _jpeg(prep.square(img), 95)
            product = Path(path).stem
        out["view"].append(_jpeg(view))
        out["clean"].append(clean)
        out["label"].append(CLASSES.index(category))
        out["product"].append(product)
        out["kind"].append(kind)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(target)
    return {"shard": shard_id, "samples": len(jobs)}


def render_pairs(cfg: PairsConfig, progress: bool = True) -> dict:
    """Render every shard not already on disk (a stopped render resumes); returns a summary."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    _init(cfg)
    n_catalog, n_photos = len(_STATE["items"]), len(_STATE["photos"])
    if not n_catalog:
        raise SystemExit(f"no {cfg.split}-split catalog items under the data root")
    if not n_photos:
        raise SystemExit(f"no {cfg.split}-split CC0 photo boxes (backgrounds) in {cfg.boxes or 'the data root'}")
    jobs = plan(cfg.items, n_catalog, n_photos, cfg.photo_repeats, cfg.world_share, cfg.seed)
    order = np.random.default_rng(cfg.seed + 1).permutation(len(jobs))  # shards mix kinds and classes…
    chunks = [sorted((jobs[i] for i in order[s:s + cfg.shard]), key=lambda j: (j[0] == "photo", j[1]))
              for s in range(0, len(jobs), cfg.shard)]  # …and render in item order inside a shard
    todo = [(i, c) for i, c in enumerate(chunks) if not (out / f"shard-{i:04d}.pkl").is_file()]
    if cfg.reverse:
        todo.reverse()
    (out / "config.json").write_text(json.dumps({**asdict(cfg), "catalog_items": n_catalog, "photos": n_photos,
                                                 "samples": len(jobs), "shards": len(chunks)}, indent=2))
    bar = tqdm(total=sum(len(c) for _, c in todo), desc="dae pairs", unit="img", disable=not progress)
    if cfg.workers > 1:
        with Pool(cfg.workers, initializer=_init, initargs=(cfg,)) as pool:
            for r in pool.imap_unordered(render_shard, todo):
                bar.update(r["samples"])
    else:
        for t in todo:
            bar.update(render_shard(t)["samples"])
    bar.close()
    return {"samples": len(jobs), "shards": len(chunks), "catalog_items": n_catalog, "photos": n_photos}


def load_pairs(folder: str | Path) -> dict[str, list]:
    """All rendered shards in ``folder`` merged (whatever is finished so far)."""
    merged: dict[str, list] = {"view": [], "clean": [], "label": [], "product": [], "kind": []}
    for path in sorted(Path(folder).glob("shard-*.pkl")):
        part = pickle.loads(path.read_bytes())
        for k in merged:
            merged[k].extend(part[k])
    return merged


def load_training_pairs(folder: str | Path) -> dict[str, list]:
    """``load_pairs``, refusing a folder with no rendered pair yet (photos alone train nothing)."""
    data = load_pairs(folder)
    if not any(k != "photo" for k in data["kind"]):
        raise SystemExit(f"no rendered pairs in {folder} (run `stylist data dae-pairs` first)")
    return data


@dataclass
class PairIndex:
    """Which loaded samples are world/catalogue pairs and which real photos, with each sample's class and
    product code (views of one product share a code, so the contrastive loss can mask them)."""

    kinds: np.ndarray
    pairs: np.ndarray
    photos: np.ndarray
    labels: torch.Tensor
    products: torch.Tensor

    @classmethod
    def of(cls, data: dict[str, list]) -> PairIndex:
        kinds = np.array(data["kind"])
        code_of = {p: i for i, p in enumerate(dict.fromkeys(data["product"]))}
        return cls(kinds, np.flatnonzero(kinds != "photo"), np.flatnonzero(kinds == "photo"),
                   torch.tensor(data["label"]), torch.tensor([code_of[p] for p in data["product"]]))

    def sample(self, rng: np.random.Generator, n_pairs: int, n_photos: int) -> tuple[np.ndarray, np.ndarray]:
        """One step's pairs and photos, drawn without replacement."""
        idx = rng.choice(self.pairs, min(n_pairs, len(self.pairs)), replace=False)
        ph = rng.choice(self.photos, min(n_photos, len(self.photos)), replace=False) if len(self.photos) else idx[:0]
        return idx, ph


def main(argv: list[str] | None = None) -> int:
    from training.common import add_dataclass_args

    parser = argparse.ArgumentParser(prog="stylist data dae-pairs", description=__doc__.split("\n")[0])
    cfg = PairsConfig(**vars(add_dataclass_args(parser, PairsConfig).parse_args(argv)))
    print(json.dumps(render_pairs(cfg)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
