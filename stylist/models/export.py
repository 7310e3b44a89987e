"""Exporting the torch models to ONNX (needs torch; serving from the exports does not: stylist.models.fast).

Each export is made once per weights into ``<STYLIST_HOME>/cache/runtime`` with a manifest beside it
holding what serving needs (name, size, classes, weight digests), so a later process can serve with ONNX
Runtime alone — no torch import (~5 s and ~0.9 GB of memory on the 2-core box).
"""
from __future__ import annotations

import copy
import hashlib
import logging
import os
import warnings
from pathlib import Path

import torch

from stylist.config import Config
from stylist.models.runtime import (EXPORT_LOCK, OPSET, Runner, clip_image_size, safe_name, cache_dir, chosen_runtime,
                                    cpu_threads, file_key, make_runner, manifest_path, write_manifest)
from stylist.models.signature import params_digest

log = logging.getLogger(__name__)


def weights_digest(module) -> str:
    """sha1 over every tensor of a torch module (name, dtype, values): any change of weights changes it."""
    h = hashlib.sha1()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export_onnx(module, example, path: Path) -> Path:
    """Export ``module`` (batch axis dynamic) to ``path`` atomically; an existing file is reused."""
    if path.exists():
        return path
    with EXPORT_LOCK:
        if path.exists():
            return path
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        module = module.eval()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice; it exports these fine
            torch.onnx.export(module, (example,), str(tmp), input_names=["images"], output_names=["out"],
                              dynamic_axes={"images": {0: "batch"}, "out": {0: "batch"}}, opset_version=OPSET,
                              dynamo=False)
        tmp.replace(path)
    return path


class EmbedOnly(torch.nn.Module):
    """What serving runs of the autoencoder: encoder -> flat code (normalised by the caller)."""

    def __init__(self, autoencoder):
        super().__init__()
        self.encoder = autoencoder.encoder

    def forward(self, x):
        return self.encoder(x).flatten(1)


class TextTower(torch.nn.Module):
    """An open_clip model's text tower with its projection (``encode_text``): token ids in, vector out."""

    def __init__(self, clip_model):
        super().__init__()
        self.text = clip_model.text

    def forward(self, ids):
        return self.text(ids)


PROBE_TEXTS = ("in red", "soft leather with stitched trim", "Crimson  sneakers under $50!", "a very long description "
               "of a floral summer dress with puffed sleeves, a square neckline and a tiered midi skirt in pale blue",
               "café crème", "t-shirt", "")


def _text_export(clip, config: Config) -> dict | None:
    """Export the text tower and check that the torch-free tokenizer gives the same ids and the ONNX model the
    same vectors on probe texts; the manifest's text fields, or None (words then need torch)."""
    tok = getattr(clip, "tokenizer", None)
    folder = getattr(getattr(tok, "tokenizer", None), "name_or_path", "")
    tokenizer_json = Path(folder) / "tokenizer.json"
    if (type(tok).__name__ != "HFTokenizer" or getattr(tok, "tokenizer_mode", "") or tok.strip_sep_token
            or tok.clean_fn.__name__ != "_clean_whitespace" or not tokenizer_json.exists()
            or not hasattr(clip.model, "text")):
        return None
    from stylist.models.fast import TextRunner

    try:
        module = TextTower(copy.deepcopy(clip.model).float()).eval()
        ids = tok(list(PROBE_TEXTS))
        path = cache_dir(config) / f"text-{safe_name(clip.name)}-{weights_digest(module)}.onnx"
        if not path.exists():
            with EXPORT_LOCK, torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                torch.onnx.export(module, (ids,), str(tmp), input_names=["ids"], output_names=["out"],
                                  dynamic_axes={"ids": {0: "batch"}, "out": {0: "batch"}}, opset_version=OPSET,
                                  dynamo=False)
                tmp.replace(path)
        fields = {"text_onnx": str(path), "tokenizer_json": str(tokenizer_json),
                  "context_length": int(tok.context_length), "pad_id": int(tok.tokenizer.pad_token_id or 0)}
        runner = TextRunner(make_runner(path, "onnx", cpu_threads(config)), fields)  # ids in: ONNX Runtime
        same_ids = bool((runner.tokenize(list(PROBE_TEXTS)) == ids.numpy()).all())
        cos = (runner(list(PROBE_TEXTS)) * clip.embed_texts(list(PROBE_TEXTS))).sum(1).min()
        if not same_ids or cos < 0.999:
            log.warning("text tower export differs from torch (ids equal: %s, cosine %.5f); words stay on torch",
                        same_ids, cos)
            return None
        return fields
    except Exception as exc:  # noqa: BLE001 - words then load torch, as before
        log.warning("text tower: ONNX export unavailable (%s); words need torch", exc)
        return None


def _image_preprocess_spec(clip) -> dict | None:
    """The fields of ``fast.ClipImagePreprocess`` when the model's transform is open_clip's "longest" resize
    + centre pad + normalise and the numpy version gives the same arrays on probe pictures (else None:
    images then need torch)."""
    from stylist.models.fast import ClipImagePreprocess

    steps = [type(t).__name__ for t in getattr(clip.preprocess, "transforms", [])]
    cfg = getattr(getattr(clip.model, "visual", None), "preprocess_cfg", None) or {}
    if (steps != ["ResizeKeepRatio", "CenterCropOrPad", "MaybeConvertMode", "MaybeToTensor", "Normalize"]
            or cfg.get("resize_mode") != "longest" or getattr(clip.preprocess.transforms[0], "longest", 0) != 1
            or str(cfg.get("interpolation", "bicubic")) != "bicubic"):
        return None
    norm = clip.preprocess.transforms[-1]
    size = clip.preprocess.transforms[0].size
    spec = {"size": int(size[0]) if isinstance(size, (tuple, list)) else int(size), "fill": int(cfg.get("fill_color", 0)),
            "mean": [float(v) for v in norm.mean], "std": [float(v) for v in norm.std]}
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    probes = [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for h, w in
              ((37, 211), (211, 37), (96, 96), (95, 97), (480, 640), (1, 3), (300, 299))]
    ours = ClipImagePreprocess(spec).batch(probes)
    theirs = torch.stack([clip.preprocess(im.convert("RGB")) for im in probes]).numpy()
    if ours.shape != theirs.shape or float(np.abs(ours - theirs).max()) > 1e-5:
        log.warning("CLIP image preprocessing: the torch-free version differs; images stay on torch")
        return None
    return spec


class ImageTower(torch.nn.Module):
    """An open_clip model's image tower with its projection (``encode_image``), without the text tower."""

    def __init__(self, clip_model):
        super().__init__()
        self.visual = clip_model.visual

    def forward(self, x):
        return self.visual(x)


def export_runner(module, size: int, name: str, config: Config, runtime: str) -> Runner | None:
    """Export (once) and open a runner; any failure logs a warning and returns None (torch keeps serving)."""
    try:
        digest = weights_digest(module)
        path = cache_dir(config) / f"{name}-{digest}.onnx"
        export_onnx(module, torch.zeros(1, 3, size, size), path)
        return make_runner(path, runtime, cpu_threads(config))
    except Exception as exc:  # noqa: BLE001 - missing runtime, exporter limits: fall back, loudly
        log.warning("%s: %s export/runtime unavailable (%s); serving with torch", name, runtime, exc)
        return None


def accelerate_embedder(embedder, config: Config, weights: Path | None = None) -> None:
    """Give an ImageEmbedder a fast runner (in place) when the config's runtime is not torch; with the
    weight file known, also write the manifest that lets later processes serve it without torch."""
    runtime = chosen_runtime(config)
    if runtime == "torch":
        return
    module = EmbedOnly(copy.deepcopy(embedder.model).float().to(memory_format=torch.contiguous_format))
    embedder.runner = export_runner(module, embedder.preprocess.image_size, f"ae-{safe_name(embedder.name)}",
                                  config, runtime)
    if embedder.runner is not None and weights is not None:
        pre = embedder.preprocess
        write_manifest(manifest_path(config, "embedder", file_key(weights) + safe_name(embedder.name)), {
            "name": embedder.name, "dim": embedder.dim, "classes": list(embedder.classes),
            "image_size": pre.image_size, "background": list(pre.background),
            "digest": params_digest(embedder.model), "onnx": str(embedder.runner.path),
            "head": None if embedder.head is None else [embedder.head[0].tolist(), embedder.head[1].tolist()]})


def accelerate_clip(clip, config: Config, key: str | None = None) -> None:
    """Give a ClipModel's image tower a fast runner (in place) when the config's runtime is not torch;
    with ``key`` (see registry.clip_key), also write the manifest for torch-free serving."""
    runtime = chosen_runtime(config)
    if runtime == "torch" or not hasattr(clip.model, "encode_image"):
        return
    size = clip_image_size(clip)
    if size is None:
        return
    module = ImageTower(clip.model)
    module = copy.deepcopy(module).float().to(memory_format=torch.contiguous_format)
    clip.image_runner = export_runner(module, size, f"clip-{safe_name(clip.name)}", config, runtime)
    if clip.image_runner is not None and key is not None:
        from stylist.vocabulary import text_digest

        text = _text_export(clip, config) or {}
        image = _image_preprocess_spec(clip)
        write_manifest(manifest_path(config, "clip", key), {
            "name": clip.name, "dim": clip.dim, "visual_digest": params_digest(getattr(clip.model, "visual", clip.model)),
            "text_digest": text_digest(clip), "onnx": str(clip.image_runner.path), **text,
            "image_preprocess_checked": True, **({"image_preprocess": image} if image else {})})
