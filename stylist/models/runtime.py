"""Fast CPU inference for the three image models: ONNX exports run by ONNX Runtime (or OpenVINO).

Torch stays the source of truth (training, and the fallback when a runtime is missing or an export
fails); the exports are derived files made at first use into ``<STYLIST_HOME>/cache/runtime``, named by
a digest of the weights, so new weights are re-exported and nothing large ships with the package.
``STYLIST_RUNTIME`` chooses: ``torch``, ``onnx`` (ONNX Runtime), ``openvino``, or ``auto`` (ONNX Runtime
when installed, else torch). Measured on the 2-core dev box, ONNX Runtime ran the autoencoder encoder,
the CLIP image tower and the detector faster than torch with the same outputs (cosine ≥ 0.999, boxes
IoU ≥ 0.99; tests/stylist/models/test_runtime.py checks both).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from stylist.config import Config

log = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx", "openvino", "auto")
OPSET = 17
EXPORT_LOCK = threading.Lock()  # one export at a time in a process; a waiting thread then reuses the written file

Runner = Callable[[np.ndarray], np.ndarray]  # float32 N×C×H×W batch -> N×D float32


def cpu_threads(config: Config) -> int:
    """Threads for one inference: ``config.threads`` when set, else the cores this process may use."""
    if config.threads > 0:
        return config.threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS / Windows
        return max(1, os.cpu_count() or 1)


def chosen_runtime(config: Config) -> str:
    """``torch``, ``onnx`` or ``openvino`` for this config (``auto`` resolves to what is installed)."""
    runtime = config.runtime
    if runtime not in RUNTIMES:
        raise ValueError(f"STYLIST_RUNTIME must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if config.device != "cpu":
        return "torch"  # the exports are for CPU serving; a GPU runs torch
    if runtime == "auto":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return "torch"
        return "onnx"
    return runtime


def cache_dir(config: Config) -> Path:
    path = config.cache_dir / "runtime"
    path.mkdir(parents=True, exist_ok=True)
    return path


class OrtRunner:
    """An ONNX Runtime CPU session; ``run`` is thread-safe (ORT sessions are)."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # no busy-waiting between ops: on a shared or oversubscribed box spinning threads steal the cores
        # other inferences (and torch's text encoder) need; measured faster here with it off
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.path = path

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(batch, dtype=np.float32)})[0]


class OpenVinoRunner:
    """The same ONNX file compiled by OpenVINO for the CPU (latency hint, ``threads`` streams' worth)."""

    def __init__(self, path: Path, threads: int):
        import openvino as ov

        core = ov.Core()
        self.model = core.compile_model(str(path), "CPU", {"INFERENCE_NUM_THREADS": threads,
                                                           "PERFORMANCE_HINT": "LATENCY",
                                                           "INFERENCE_PRECISION_HINT": "f32"})
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:  # one infer request per compiled model call; serialise for thread safety
            return np.asarray(self.model(np.ascontiguousarray(batch, dtype=np.float32))[0])


def make_runner(path: Path, runtime: str, threads: int) -> Runner:
    return OpenVinoRunner(path, threads) if runtime == "openvino" else OrtRunner(path, threads)


def clip_image_size(clip) -> int | None:
    """The side CLIP's image tower expects (its preprocessing config, else the tower's own), None if unknown."""
    cfg = getattr(getattr(clip.model, "visual", None), "preprocess_cfg", None) or {}
    size = cfg.get("size") or getattr(getattr(clip.model, "visual", None), "image_size", None)
    if isinstance(size, (tuple, list)):
        size = size[0]
    return int(size) if size else None


def safe_name(name: str) -> str:
    """``name`` made safe for a cache file name (other characters become "_", at most 60)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]


def detector_export(weights: Path, config: Config) -> Path | None:
    """An ultralytics ONNX export of ``weights`` at the serving size (dynamic shapes), made once in the cache,
    with ``classes.json`` beside it; None (and a warning) when the export fails.

    The checkpoint is copied into the cache first, because ultralytics writes exports beside the weights
    (never into the installed package). Dynamic shapes keep ultralytics' minimal letterbox (no square
    padding), so the boxes match the torch path's.
    """
    h = file_key(weights)
    folder = cache_dir(config) / f"det-{safe_name(Path(weights).stem)}-{h}-{config.imgsz}"
    target = folder / "model.onnx"
    if target.exists() and (folder / "classes.json").exists():
        return target
    with EXPORT_LOCK:
        if target.exists() and (folder / "classes.json").exists():
            return target
        # exported in a folder of this process's own, then moved in (the model last): two processes sharing a
        # home may export at once, and neither may see the other's half-written or deleted files
        tmp = folder.parent / f"{folder.name}.{os.getpid()}.tmp"
        try:
            from ultralytics import YOLO

            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            local = tmp / "model.pt"
            shutil.copyfile(weights, local)
            yolo = YOLO(str(local), task="detect")
            names = yolo.names
            classes = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
            out = Path(yolo.export(format="onnx", imgsz=config.imgsz, dynamic=True, simplify=True, opset=OPSET,
                                   verbose=False))
            (tmp / "classes.json").write_text(json.dumps(classes))
            folder.mkdir(parents=True, exist_ok=True)
            (tmp / "classes.json").replace(folder / "classes.json")
            out.replace(target)
            return target
        except Exception as exc:  # noqa: BLE001
            log.warning("detector: ONNX export failed (%s); serving with torch", exc)
            return None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def load_fast_detector(weights: Path, config: Config, **kwargs):
    """The detector served by the config's fast runtime (an ``OnnxDetector``), or None for torch."""
    chosen = chosen_runtime(config)
    if chosen == "torch" or Path(weights).suffix != ".pt":
        return None
    path = detector_export(Path(weights), config)
    if path is None:
        return None
    from stylist.models.onnx_detector import OnnxDetector

    classes = tuple(json.loads((path.parent / "classes.json").read_text()))
    runner = make_runner(path, chosen, cpu_threads(config))
    return OnnxDetector(runner, classes, name=Path(weights).stem, **kwargs)


def file_key(path: Path) -> str:
    """sha1 of a weight file's bytes: names its exports and manifests without loading it. Remembered per
    (path, size, mtime): a search's start-up asks it of the detector twice (its export, its item check)."""
    st = Path(path).stat()
    return _file_key(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_key(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]


def manifest_path(config: Config, kind: str, key: str) -> Path:
    return cache_dir(config) / f"{kind}-{key}.json"


def read_manifest(path: Path) -> dict | None:
    """What an export needs to serve without torch (written at export time), or None."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if Path(data.get("onnx", "")).exists() else None


def write_manifest(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


__all__ = ["RUNTIMES", "cpu_threads", "chosen_runtime", "OrtRunner", "OpenVinoRunner", "make_runner",
           "detector_export", "load_fast_detector", "file_key", "manifest_path", "read_manifest", "write_manifest",
           "EXPORT_LOCK", "clip_image_size", "safe_name"]
