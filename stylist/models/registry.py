"""The model registry: one JSON config per variant in ``configs/``, and the loaders the app calls.

``load_detector`` / ``load_embedder`` / ``load_clip`` take the runtime ``Config`` and return a ready model
with its preprocessing inside. Bundled weights load by default; a config value may instead be a path to a
checkpoint. If a bundled weight file is missing, a random-init model is returned with a loud warning, so the
pipeline and tests run before training lands. ``shared_detector`` / ``shared_embedder`` / ``shared_clip``
return one cached instance per model configuration per process (the bot, the CLI and the index share them).
"""
from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any, Callable

from stylist.config import Config
from stylist.models.checkpoints import bundled_weights, load_checkpoint, resolve_weights, warn_random_init

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
_CONFIGS: dict[str, dict[str, Any]] = {p.stem: json.loads(p.read_text()) for p in sorted(CONFIG_DIR.glob("*.json"))}
_SHARED_LOCK = threading.Lock()
_SHARED: dict[tuple, object] = {}


def get_model_config(name: str) -> dict[str, Any]:
    """A deep copy of a registered model's config (KeyError names the known models)."""
    if name not in _CONFIGS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(_CONFIGS)}")
    return copy.deepcopy(_CONFIGS[name])


def model_names(kind: str) -> list[str]:
    """The registered models of one kind ("detector", "embedder", "clip")."""
    return [name for name, cfg in _CONFIGS.items() if cfg["kind"] == kind]


def autoencoder_arch(name: str):
    """The architecture of a registered embedder (its config's ``arch``): the one table of AE variants."""
    from stylist.models.autoencoder import AutoencoderConfig

    return AutoencoderConfig.from_dict(get_model_config(name)["arch"])


def list_models() -> list[dict[str, Any]]:
    """Every registered model: name, kind, description, its bundled weight file and whether it is present."""
    rows = []
    for name, cfg in _CONFIGS.items():
        path = bundled_weights(cfg["weights"])
        rows.append({
            "name": name, "kind": cfg["kind"], "description": cfg.get("description", ""),
            "weights": str(path), "present": path.exists(),
            "size_mb": round(path.stat().st_size / 1e6, 2) if path.exists() else None,
        })
    return rows


def load_detector(config: Config):
    """The detector named by ``config.detector`` (registry name or a .pt path), with the config's serving
    settings (``Config.detector_settings``: size, thresholds, second chance) on ``config.device``."""
    from stylist.models.detector import Detector, random_init_yolo

    kwargs = config.detector_settings()
    path = detector_weights(config)
    if path is None:
        cfg = get_model_config(config.detector)
        warn_random_init(f"detector {config.detector}", bundled_weights(cfg["weights"]))
        return _seeded(lambda: Detector(random_init_yolo(cfg["arch"]), name=f"{config.detector} (random init)",
                                        **kwargs))
    return _fast_detector(path, config, kwargs) or Detector.from_weights(path, **kwargs)


def detector_weights(config: Config) -> Path | None:
    """The weight file ``config.detector`` names (a registry name or a .pt path); None when a registered
    detector's bundled file is missing. Also read by the item check, which belongs to one detector's boxes."""
    if config.detector in _CONFIGS:
        return resolve_weights(None, get_model_config(config.detector)["weights"])
    return Path(resolve_weights(config.detector, None))


def _fast_detector(weights: Path, config: Config, kwargs: dict):
    """The detector through ONNX Runtime / OpenVINO when the config asks for it and the export works."""
    from stylist.models.runtime import load_fast_detector

    return load_fast_detector(weights, config, **kwargs)


def _served_from_export(config: Config, kind: str, key: str | None):
    """(runner, manifest) of an earlier export of these weights when the runtime is not torch, else None."""
    from stylist.models import runtime

    chosen = runtime.chosen_runtime(config)
    if chosen == "torch" or key is None:
        return None
    manifest = runtime.read_manifest(runtime.manifest_path(config, kind, key))
    if manifest is None or (kind == "embedder" and manifest.get("classes") and "head" not in manifest):
        return None  # an older export without the category head: export again
    if kind == "clip" and "image_preprocess_checked" not in manifest:
        return None  # an older export, made before the torch-free image preprocessing was tried: export again
    return runtime.make_runner(Path(manifest["onnx"]), chosen, runtime.cpu_threads(config)), manifest


def load_embedder(config: Config, name: str | None = None):
    """The crop embedder named by ``name`` or ``config.embedder`` (registry name or a checkpoint path).
    With a fast runtime and an earlier export of the same weights, served from it without torch."""
    from stylist.models.runtime import safe_name, file_key

    name = name or config.embedder
    if name in _CONFIGS:
        cfg = get_model_config(name)
        path = resolve_weights(None, cfg["weights"])
        arch = cfg["arch"]
    else:
        path = resolve_weights(name, None)
        arch = None
    served = _served_from_export(config, "embedder", file_key(path) + safe_name(Path(name).stem) if path else None)
    if served is not None:
        from stylist.models.fast import OnnxEmbedder

        return OnnxEmbedder(*served)
    return _seeded(lambda: _torch_embedder(config, name, path, arch, cfg if name in _CONFIGS else None))


def _torch_embedder(config: Config, name: str, path: Path | None, arch, cfg):
    from stylist.models.autoencoder import Autoencoder, AutoencoderConfig, Preprocess
    from stylist.models.embedder import ImageEmbedder
    from stylist.schema import CLASSES

    ckpt = load_checkpoint(path) if path is not None else None
    arch_cfg = AutoencoderConfig.from_dict(ckpt["arch"] if ckpt else arch)
    model = Autoencoder(arch_cfg)
    classes = list(CLASSES)
    if ckpt:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()})
        classes = ckpt.get("classes") or classes
        label = Path(name).stem
    else:
        warn_random_init(f"embedder {name}", bundled_weights(cfg["weights"]))
        label = f"{name} (random init)"
    embedder = ImageEmbedder(model, Preprocess(arch_cfg.image_size, arch_cfg.background), label, config.device,
                             classes=classes)
    from stylist.models.export import accelerate_embedder

    accelerate_embedder(embedder, config, path)
    return embedder


def clip_key(config: Config) -> str | None:
    """Names a CLIP's exports and manifest without loading it: the weight file's bytes + the model name."""
    from stylist.models.runtime import safe_name, file_key

    name = config.clip_model
    if name in _CONFIGS and _CONFIGS[name]["kind"] == "clip":
        path = resolve_weights(config.clip_pretrained, _CONFIGS[name]["weights"])
        return file_key(path) + safe_name(name) if path is not None else None
    return None  # open_clip models (hub names): no torch-free serving, always loaded


def load_clip(config: Config):
    """The text–image model: ``fashion-lite`` (bundled, or ``config.clip_pretrained`` = a stylist checkpoint),
    or any open_clip model name / ``hf-hub:`` / ``local-dir:`` with ``config.clip_pretrained`` as its weights.
    With a fast runtime and an earlier export, a ``LazyClip``: torch loads only when it must embed."""
    key = clip_key(config)
    served = _served_from_export(config, "clip", key)
    if served is not None:
        from stylist.models.fast import LazyClip

        def load():
            clip = _seeded(lambda: _torch_clip(config))
            clip.image_runner = served[0]
            return clip

        text = None
        if served[1].get("text_onnx") and Path(served[1]["text_onnx"]).exists():
            from stylist.models import runtime
            from stylist.models.fast import TextRunner

            def open_text() -> TextRunner:  # on first use: words whose vectors are cached never need it
                path = Path(served[1]["text_onnx"])
                return TextRunner(runtime.make_runner(path, "onnx", runtime.cpu_threads(config)), served[1])

            text = open_text
        lazy = LazyClip(served[1], load, text, image=served[0])
        lazy.text_cache = _text_cache(config)
        return lazy
    clip = _seeded(lambda: _torch_clip(config))
    from stylist.models.export import accelerate_clip

    accelerate_clip(clip, config, key)
    clip.text_cache = _text_cache(config)
    return clip


def _text_cache(config: Config) -> Path:
    """Where a CLIP keeps text vectors that never change (``stylist.vocabulary``): the runtime cache."""
    from stylist.models.runtime import cache_dir

    return cache_dir(config)


def _torch_clip(config: Config):
    from stylist.models.clip import ClipModel, create_fashion_lite, create_open_clip

    name = config.clip_model
    if name in _CONFIGS and _CONFIGS[name]["kind"] == "clip":
        cfg = get_model_config(name)
        path = resolve_weights(config.clip_pretrained, cfg["weights"])
        trained = None
        if path is None:
            warn_random_init(f"clip {name} (image tower ImageNet, projections random)", bundled_weights(cfg["weights"]))
            label = f"{name} (untrained)"
        else:
            ckpt = load_checkpoint(path)
            trained, label = ckpt["state_dict"], name
            cfg["arch"] = ckpt.get("arch") or cfg["arch"]
        model, preprocess, tokenizer = create_fashion_lite(cfg["arch"], trained, name)
        clip = ClipModel(model, preprocess, tokenizer, label, config.device)
    else:
        model, preprocess, tokenizer = create_open_clip(name, config.clip_pretrained)
        clip = ClipModel(model, preprocess, tokenizer, name, config.device)
    return clip


def _seeded(build: Callable[[], Any]) -> Any:
    """Build a torch model under a fixed seed (without touching the caller's RNG), so that a model that
    falls back to random init is the same in every process: an index built with it still matches its queries."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build()


def _shared(kind: str, key: tuple, load: Callable[[], Any]) -> Any:
    """One instance per model configuration per process."""
    with _SHARED_LOCK:
        if (kind, key) not in _SHARED:
            _SHARED[(kind, key)] = load()
        return _SHARED[(kind, key)]


def shared_embedder(config: Config):
    """``load_embedder(config)``, loaded once per process and then shared."""
    return _shared("embedder", (config.embedder, config.device, config.runtime), lambda: load_embedder(config))


def shared_clip(config: Config):
    """``load_clip(config)``, loaded once per process and then shared."""
    key = (config.clip_model, config.clip_pretrained, config.device, config.runtime)
    return _shared("clip", key, lambda: load_clip(config))


def shared_detector(config: Config):
    """``load_detector(config)``, loaded once per process and then shared."""
    key = (config.detector, config.runtime, *sorted(config.detector_settings().items()))
    return _shared("detector", key, lambda: load_detector(config))


def shared_namer(config: Config):
    """``stylist.models.namer.load_namer(config)`` (None without weights), loaded once per process and shared."""
    from stylist.models.namer import load_namer

    return _shared("namer", (config.runtime,), lambda: load_namer(config))

