"""Align the compact CLIP ("fashion-lite") on real image–text pairs with a LOCKED text tower (LiT).

    # step 1, CPU (needs the 83 MB MiniLM wheel): caption features of FPI train/val products + CTL crops
    stylist train clip captions --out runs/clip/captions.npz
    # step 2, GPU: image tower + both projections + logit scale, contrastively, on 96-px images
    stylist train clip fit --captions runs/clip/captions.npz --out runs/clip --minutes 3 \
        --export stylist/weights/fashion-lite.pt

Captions: each FPI product's real title plus templates with its base colour and article type
("a photo of a navy blue shirt"); each CTL crop gets its category word and a colour word named from its own
pixels (``stylist.colors.dominant_color``). Step 1 stores the mean-pooled MiniLM outputs *before* the
projection (exactly what open_clip's text tower feeds its ``proj``), int8 with a per-row scale, so the
file is small enough to travel to the GPU where the MiniLM cannot. Step 2 trains on train-split products
only; val products give the logged proxies (colour top-1 over the 12 commonest colours, text→image R@10).
The bundle holds only the trained parts, fp16; at load the MiniLM comes from its package.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from stylist.models.clip import build_visual, load_imagenet_lite0
from stylist.models.fast import OPENAI_MEAN, OPENAI_STD
from stylist.models.registry import get_model_config
from training.common import add_dataclass_args, save_run, warmup_cosine
from training.eval_clip import top_colours

CTL_WORDS = {
    "Shirts & Tops": "top", "Skirts": "skirt", "Jewelry": "necklace", "Shoes": "shoes", "Pants": "pants",
    "Hats": "hat", "Dresses": "dress", "Handbags": "handbag", "Coats & Jackets": "jacket", "Shorts": "shorts",
    "Sunglasses": "sunglasses", "Scarves & Shawls": "scarf", "Watches": "watch",
}


@dataclass
class TrainConfig:
    step: str = "fit"  # captions (CPU, once) | fit (GPU) | world (CPU fine-tune: training.finetune_clip)
    data: str = ""  # data root (../shared/data or a packed mini root); "" = Config.data_dir
    captions: str = "runs/clip/captions.npz"
    out: str = "runs/clip"
    model: str = "fashion-lite"  # registry config giving the architecture
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    epochs: int = 100
    minutes: float = 3.0  # wall-clock budget for fit; 0 = epochs only
    batch_size: int = 512
    lr: float = 1e-3
    trunk_lr: float = 3e-4  # the pretrained image trunk moves slower than the new projections
    weight_decay: float = 0.05
    warmup_steps: int = 100
    title_share: float = 0.5  # how often a product's title (vs a colour/article template) is its caption
    limit: int = 0  # tiny runs / tests: first N products per source
    eval_every: int = 2  # epochs between val proxies
    seed: int = 0
    workers: int = 8
    export: str = ""  # fp16 bundle of the trained parts, e.g. stylist/weights/fashion-lite.pt


# --- step 1: captions and their locked-text features (CPU) -----------------------------------------
def fpi_captions(item) -> list[str]:
    """The real title, then templates with the base colour and article type (lower-case, as people type).

    Colour-only phrasings ("a red product", "shirts in red") teach the colour word on its own, as a shopper's
    "in red" reaches the re-ranker."""
    colour, article = item.color.lower().strip(), item.article_type.lower().strip()
    gender = item.gender.lower().strip()
    return [item.title.strip() or f"{colour} {article}", f"a photo of a {colour} {article}",
            f"{colour} {article} for {gender}" if gender else f"{colour} {article}",
            f"a {colour} product", f"{article} in {colour}"]


def ctl_captions(category: str, colour: str) -> list[str]:
    word = CTL_WORDS.get(category, category.lower())
    return [f"a photo of a {colour} {word}", f"{colour} {word}", f"a {colour} product", f"{word} in {colour}", f"a {word}"]


def colour_prompt(colour: str, article: str) -> str:
    """The zero-shot prompt the val proxy (and stylist eval) uses: the training template."""
    return f"a photo of a {colour.lower()} {article.lower()}"


def quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows → int8 with a per-row fp16 scale (max-abs), ~0.4 % error, 4× smaller than fp32."""
    scale = np.maximum(np.abs(x).max(axis=1), 1e-8) / 127.0
    return np.round(x / scale[:, None]).astype(np.int8), scale.astype(np.float16)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale.astype(np.float32)[:, None]


@torch.no_grad()
def text_features(texts: list[str], model_name: str, batch: int = 256) -> np.ndarray:
    """Mean-pooled MiniLM outputs before fashion-lite's text projection (384-d), via open_clip itself.

    Texts are batched by token length and each batch is cut to its longest text: padding is masked out of
    both attention and the mean pool, so the result equals the full 32-token run at a third of the cost."""
    from tqdm import tqdm

    from stylist.models.clip import create_fashion_lite

    model, _, tokenizer = create_fashion_lite(get_model_config(model_name)["arch"], None, model_name)
    model.text.proj = nn.Identity()
    model.eval()
    pad = model.text.config.pad_token_id
    tokens = tokenizer(texts)
    lengths = (tokens != pad).sum(1)
    order = torch.argsort(lengths)
    out = torch.empty(len(texts), model.text.transformer.config.hidden_size)
    for i in tqdm(range(0, len(texts), batch), desc="caption features", unit="batch"):
        rows = order[i:i + batch]
        chunk = tokens[rows][:, :int(lengths[rows].max())]
        out[rows] = model.encode_text(chunk).float()
    return out.numpy()


def build_captions(cfg: TrainConfig) -> Path:
    """Write captions.npz: unique caption texts + int8 features, and per-product caption indexes."""
    from stylist.colors import dominant_color
    from stylist.errors import DataMissingError
    from training.data.sources import load_ctl_crops, load_fpi
    from training.data.splits import split_of

    root = cfg.data or None
    fpi = [it for it in load_fpi(root) if split_of(it.id) in ("train", "val")]
    try:
        ctl = [c for c in load_ctl_crops(root) if split_of(c.id) in ("train", "val")]
    except DataMissingError as exc:  # an FPI-only data root: captions for FPI alone
        print(f"no CTL crops ({exc}); FPI captions only", flush=True)
        ctl = []
    if cfg.limit:
        fpi, ctl = fpi[:cfg.limit], ctl[:cfg.limit]
    texts: dict[str, int] = {}
    ref = lambda t: texts.setdefault(t, len(texts))  # noqa: E731
    fpi_caps = [[ref(t) for t in fpi_captions(it)] for it in fpi]
    colours = top_colours(fpi)  # the same 12 the eval scores (NA left out)
    articles = sorted({it.article_type for it in fpi if it.article_type})
    prompts = {f"{c}|{a}": ref(colour_prompt(c, a)) for c in colours for a in articles}
    ctl_caps = []
    for crop in ctl:
        with Image.open(crop.path) as img:
            colour = dominant_color(img)
        ctl_caps.append([ref(t) for t in ctl_captions(crop.category, colour)])
    order = sorted(texts, key=texts.get)
    q, scale = quantize(text_features(order, cfg.model))
    out = Path(cfg.captions)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, texts=np.array(order), q=q, scale=scale,
        fpi_ids=np.array([it.id for it in fpi]), fpi_caps=np.array(fpi_caps, dtype=np.int32),
        fpi_split=np.array([split_of(it.id) for it in fpi]), fpi_colour=np.array([it.color for it in fpi]),
        fpi_article=np.array([it.article_type for it in fpi]),
        ctl_ids=np.array([c.id for c in ctl]),
        ctl_caps=np.array(ctl_caps, dtype=np.int32).reshape(len(ctl), len(ctl_captions("", ""))),
        ctl_split=np.array([split_of(c.id) for c in ctl]),
        prompt_keys=np.array(list(prompts)), prompt_caps=np.array(list(prompts.values()), dtype=np.int32),
        colours=np.array(colours),
    )
    print(f"{len(order)} unique captions for {len(fpi)} FPI products and {len(ctl)} CTL crops → {out} "
          f"({out.stat().st_size / 1e6:.1f} MB)")
    return out


# --- step 2: train the image tower + projections (GPU) ----------------------------------------------
def load_images(paths: list[Path], size: int, workers: int) -> torch.Tensor:
    """All images as one uint8 tensor N×3×S×S (pad to square on white, resize: fashion-lite's preprocess)."""
    from multiprocessing import Pool

    jobs = [(str(p), size) for p in paths]
    if workers > 1 and len(jobs) > 256:
        with Pool(workers) as pool:
            arrays = pool.map(_square_uint8, jobs, chunksize=64)
    else:
        arrays = [_square_uint8(j) for j in jobs]
    return torch.from_numpy(np.stack(arrays))


@lru_cache(maxsize=4)
def pad_resize(size: int):
    """fashion-lite's own preprocess up to (not including) tensor conversion: longest side → size, white pad."""
    from open_clip.transform import PreprocessCfg, image_transform_v2

    from stylist.models.clip import preprocess_cfg

    tf = image_transform_v2(PreprocessCfg(**preprocess_cfg({"vision_cfg": {"image_size": size}})), is_train=False)
    return tf.transforms[0], tf.transforms[1]  # ResizeKeepRatio (longest side), CenterCropOrPad (white fill)


def _square_uint8(args: tuple[str, int]) -> np.ndarray:
    path, size = args
    resize, pad = pad_resize(size)
    with Image.open(path) as img:
        x = pad(resize(img.convert("RGB")))
    return np.asarray(x.convert("RGB")).transpose(2, 0, 1).copy()


def augment(x: torch.Tensor, gen: torch.Generator, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 batch → normalised float: random zoom 0.85–1.15, shift ±6 %, flip; white padding; colours kept."""
    b, dev = x.shape[0], x.device
    rand = lambda *s: torch.rand(*s, generator=gen, device=dev)  # noqa: E731
    img = x.float() / 255.0
    scale = 0.85 + 0.3 * rand(b)
    flip = torch.where(rand(b) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0], theta[:, 1, 1] = flip / scale, 1.0 / scale
    theta[:, :, 2] = (rand(b, 2) - 0.5) * 0.12
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    img = 1.0 - F.grid_sample(1.0 - img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (img - mean) / std


def normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255.0 - mean) / std


class LitHead(nn.Module):
    """The trainable parts of fashion-lite named as in open_clip's CLIP: visual.*, text.proj, logit_scale."""

    def __init__(self, arch: dict, text_width: int):
        super().__init__()
        self.visual = build_visual(arch)
        self.text_proj = nn.Linear(text_width, arch["embed_dim"], bias=False)
        nn.init.normal_(self.text_proj.weight, std=text_width ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.visual(x).float(), dim=-1)

    def encode_text(self, feats: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text_proj(feats).float(), dim=-1)

    def bundle_state(self) -> dict[str, torch.Tensor]:
        sd = {f"visual.{k}": v for k, v in self.visual.state_dict().items()}
        sd["text.proj.weight"] = self.text_proj.weight.detach()
        sd["logit_scale"] = self.logit_scale.detach()
        return sd


def clip_loss(img: torch.Tensor, txt: torch.Tensor, cap_ids: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss; products sharing a caption (a template) are all positives for it."""
    logits = scale * img @ txt.t()
    same = (cap_ids[:, None] == cap_ids[None, :]).float()
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (torch.sum(-target * F.log_softmax(logits, 1), 1).mean()
                  + torch.sum(-target * F.log_softmax(logits.t(), 1), 1).mean())


@torch.no_grad()
def proxy_metrics(head: LitHead, images: torch.Tensor, feats: torch.Tensor, caps: np.ndarray, colours: np.ndarray,
                  articles: np.ndarray, cap_data: dict, mean, std, device: str) -> dict[str, float]:
    """Val products: colour top-1 (12 commonest colours, prompt with the item's article) and title→image R@10."""
    from stylist.metrics import rank_of_target, recall_at_k

    head.eval()
    img = torch.cat([head.encode_image(normalise(images[i:i + 512].to(device), mean, std))
                     for i in range(0, len(images), 512)])
    titles = head.encode_text(feats[torch.as_tensor(caps[:, 0], device=feats.device)])
    ranks = rank_of_target((titles @ img.t()).cpu().numpy(), np.arange(len(img)))
    keys = {k: i for k, i in zip(cap_data["prompt_keys"], cap_data["prompt_caps"])}
    palette = list(cap_data["colours"])
    hits, n = 0, 0
    for j, (c, a) in enumerate(zip(colours, articles)):
        if c not in palette or f"{palette[0]}|{a}" not in keys:
            continue
        t = head.encode_text(feats[torch.as_tensor([keys[f"{p}|{a}"] for p in palette], device=feats.device)])
        hits += int(palette[int((t @ img[j]).argmax())] == c)
        n += 1
    head.train()
    return {"val_t2i_R@10": recall_at_k(ranks, 10), "val_t2i_R@1": recall_at_k(ranks, 1),
            "val_colour_top1": hits / max(n, 1)}


def fit(cfg: TrainConfig) -> dict:
    from stylist.errors import DataMissingError
    from training.data.sources import load_ctl_crops, load_fpi

    t_start = time.time()
    torch.manual_seed(cfg.seed)
    device, out = cfg.device, Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    arch = get_model_config(cfg.model)["arch"]
    size = arch["vision_cfg"]["image_size"]
    cap = dict(np.load(cfg.captions))
    feats = torch.from_numpy(dequantize(cap["q"], cap["scale"])).to(device)
    # pairs: (image path, caption index row, split, colour, article) for products that have an image here
    root = cfg.data or None
    fpi_paths = {it.id: it.path for it in load_fpi(root)}
    rows = [(fpi_paths[i], c, s, col, art) for i, c, s, col, art in
            zip(cap["fpi_ids"], cap["fpi_caps"], cap["fpi_split"], cap["fpi_colour"], cap["fpi_article"]) if i in fpi_paths]
    ctl_rows = []
    try:
        ctl_paths = {c.id: c.path for c in load_ctl_crops(root)}
        ctl_rows = [(ctl_paths[i], c, s) for i, c, s in zip(cap["ctl_ids"], cap["ctl_caps"], cap["ctl_split"]) if i in ctl_paths]
    except DataMissingError:  # the FPI-only bundle has no ctl/: train on FPI alone
        print("no CTL crops in this data root; training on FPI only", flush=True)
    if cfg.limit:
        rows, ctl_rows = rows[:cfg.limit], ctl_rows[:cfg.limit]
    train_rows = [r for r in rows if r[2] == "train"]
    val_rows = [r for r in rows if r[2] == "val"]
    ctl_train = [r for r in ctl_rows if r[2] == "train"]
    n_caps = max(cap["fpi_caps"].shape[1], cap["ctl_caps"].shape[1] if len(ctl_train) else 0)
    train_caps = np.full((len(train_rows) + len(ctl_train), n_caps), -1, np.int64)
    for k, r in enumerate(train_rows + ctl_train):
        train_caps[k, :len(r[1])] = r[1]
    is_fpi = torch.tensor([1] * len(train_rows) + [0] * len(ctl_train), device=device, dtype=torch.bool)
    images = load_images([r[0] for r in train_rows + ctl_train], size, cfg.workers).to(device)
    val_images = load_images([r[0] for r in val_rows], size, cfg.workers)
    val_caps = np.array([r[1] for r in val_rows]).reshape(len(val_rows), -1)
    print(f"[clip] {len(train_rows)} FPI + {len(ctl_train)} CTL train pairs, {len(val_rows)} val; "
          f"images decoded in {time.time() - t_start:.0f}s", flush=True)
    caps_t = torch.from_numpy(train_caps).to(device)

    head = LitHead(arch, feats.shape[1]).to(device).to(memory_format=torch.channels_last)
    load_imagenet_lite0(head.visual.trunk)
    trunk = [p for n, p in head.named_parameters() if n.startswith("visual.trunk.")]
    rest = [p for n, p in head.named_parameters() if not n.startswith("visual.trunk.")]
    opt = torch.optim.AdamW([{"params": trunk, "lr": cfg.trunk_lr, "base": cfg.trunk_lr},
                             {"params": rest, "lr": cfg.lr, "base": cfg.lr}], weight_decay=cfg.weight_decay)
    mean = torch.tensor(OPENAI_MEAN, device=device).view(1, 3, 1, 1)  # what fashion-lite's preprocess uses
    std = torch.tensor(OPENAI_STD, device=device).view(1, 3, 1, 1)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    use_amp = device.startswith("cuda")
    bs = min(cfg.batch_size, len(images))
    steps_per_epoch = max(1, len(images) // bs)
    total, budget = cfg.epochs * steps_per_epoch, cfg.minutes * 60.0
    t0, step, history = time.time(), 0, []
    log = (out / "log.jsonl").open("w")
    for epoch in range(cfg.epochs):
        perm = torch.randperm(len(images), generator=gen, device=device)
        loss_sum = torch.zeros((), device=device)
        for i in range(steps_per_epoch):
            progress = max(step / total, (time.time() - t0) / budget if budget else 0.0)
            for g in opt.param_groups:
                g["lr"] = warmup_cosine(g["base"], step, cfg.warmup_steps, progress)
            idx = perm[i * bs:(i + 1) * bs]
            # caption choice: the title (column 0) for FPI products title_share of the time, else a template
            row_caps = caps_t[idx]
            n_valid = (row_caps >= 0).sum(1)
            use_title = (torch.rand(len(idx), generator=gen, device=device) < cfg.title_share) & is_fpi[idx]
            u = torch.rand(len(idx), generator=gen, device=device)
            template = torch.where(is_fpi[idx], 1 + (u * (n_valid - 1)).long(), (u * n_valid).long())
            pick = torch.minimum(torch.where(use_title, torch.zeros_like(n_valid), template), n_valid - 1)
            cap_ids = row_caps.gather(1, pick[:, None])[:, 0]
            x = augment(images[idx], gen, mean, std).contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                img = head.encode_image(x)
                txt = head.encode_text(feats[cap_ids])
            loss = clip_loss(img, txt, cap_ids, head.logit_scale.exp().clamp(max=100))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.detach()
        row = {"epoch": epoch + 1, "step": step, "seconds": round(time.time() - t0, 1),
               "loss": round(float(loss_sum) / steps_per_epoch, 4), "logit_scale": round(float(head.logit_scale.detach().exp()), 2)}
        last = (budget and time.time() - t0 > budget) or epoch + 1 == cfg.epochs
        if val_rows and ((epoch + 1) % cfg.eval_every == 0 or last):
            row.update({k: round(v, 4) for k, v in proxy_metrics(
                head, val_images, feats, val_caps, np.array([r[3] for r in val_rows]),
                np.array([r[4] for r in val_rows]), cap, mean, std, device).items()})
        history.append(row)
        log.write(json.dumps(row) + "\n")
        log.flush()
        print(json.dumps(row), flush=True)
        if last:
            break
    log.close()
    metrics = {**{k: v for k, v in history[-1].items() if k.startswith("val_")}, "epochs": history[-1]["epoch"],
               "steps": step, "train_seconds": round(time.time() - t0, 1), "train_pairs": len(images),
               "device": device, "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"}
    save_run(out, cfg.export, metrics, kind="clip", arch=arch,
             state_dict=head.to(memory_format=torch.contiguous_format).bundle_state(), train_config=asdict(cfg))
    return metrics


def main(argv: list[str]) -> int:
    if argv[:1] == ["world"]:  # step 3, CPU: the image tower fine-tuned on garments photographed in the world
        from training.finetune_clip import main as world

        return world(argv[1:])
    parser = argparse.ArgumentParser(prog="stylist train clip", description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("captions", "fit", "world"))
    cfg = TrainConfig(**vars(add_dataclass_args(parser, TrainConfig, skip=("step",)).parse_args(argv)))
    if cfg.step == "captions":
        build_captions(cfg)
    else:
        print(json.dumps(fit(cfg), indent=2))
    return 0


if __name__ == "__main__":  # python -m training.train_clip … (the same as `stylist …`)
    import sys

    raise SystemExit(main(sys.argv[1:]))
