"""Train the YOLOv5 fashion detector (ultralytics, from scratch) on the generated style boards.

    stylist data boards --out runs/boards --n 6000 --imgsz 512          # the dataset (training.data.boards)
    stylist train detector --data runs/boards/data.yaml --model yolov5n.yaml --imgsz 512 \
        --epochs 30 --batch 64 --device 0 --out runs/detector --export stylist/weights/yolov5n-fashion.pt

Offline-safe: ``import stylist`` sets YOLO_OFFLINE / YOLO_CONFIG_DIR / the font; ``amp=False``
(ultralytics' AMP check downloads a model); results.csv is read without polars; plots off by default.
``--minutes`` trains by wall clock (ultralytics' ``time``: epochs are re-planned to fit), so a slow
machine cannot overrun a GPU lease. ``close_mosaic`` stays small: the epoch after mosaic closes dips.
The best checkpoint (fp16, class names inside) is copied to ``--export`` with our training config and
validation metrics added under the ``"stylist"`` key. With the backbone free (``--freeze 0``) on CPU the
batch-norm running statistics drift and val mAP (hence best.pt) misleads: keep every epoch
(``--save-period 1``) and run ``training.reestimate_bn`` on the candidates before judging them.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import stylist  # noqa: F401  (offline settings before ultralytics is imported)
from stylist.schema import CLASSES
from training.common import add_dataclass_args


@dataclass
class TrainConfig:
    data: str = "runs/boards/data.yaml"  # ultralytics dataset yaml (stylist data boards)
    model: str = "yolov5n.yaml"  # architecture yaml (from scratch) or a .pt to fine-tune
    imgsz: int = 512
    epochs: int = 30
    batch: int = 64
    device: str = "cpu"  # "0" for the first GPU
    out: str = "runs/detector"
    minutes: float = 0.0  # > 0: wall-clock budget; overrides epochs (ultralytics `time`)
    workers: int = 8
    cache: str = "ram"  # "ram", "disk" or "" (none)
    close_mosaic: int = 3
    lr0: float = 0.01  # lower (e.g. 0.002) with warmup_epochs 0 to fine-tune a trained .pt
    warmup_epochs: float = 3.0
    patience: int = 100
    fraction: float = 1.0  # share of the training boards to use
    optimizer: str = "auto"  # ultralytics: "auto" picks AdamW (lr0 ignored) for short runs; "SGD" honours lr0
    freeze: int = 0  # first N layers frozen (10 = the backbone): a gentler fine-tune of a trained .pt
    mosaic: float = 1.0  # mosaic probability (0 = whole images only)
    seed: int = 0
    threads: int = 0  # CPU training's torch threads; 0 = ultralytics' own choice (cores - 1: one on a 2-core box)
    save_period: int = -1  # > 0: also keep epochN.pt every N epochs (candidates to evaluate on held-out data)
    plots: bool = False  # ultralytics' plots need polars; EVAL draws curves from results.csv
    export: str = ""  # copy best.pt here (e.g. stylist/weights/yolov5n-fashion.pt)


def make_trainer_class():
    """ultralytics' DetectionTrainer, reading results.csv with the csv module instead of polars."""
    from ultralytics.models.yolo.detect import DetectionTrainer

    class OfflineDetectionTrainer(DetectionTrainer):
        def read_results_csv(self) -> dict:
            try:
                with open(self.csv, newline="") as fh:
                    rows = list(csv.DictReader(fh))
            except OSError:
                return {}
            cols: dict[str, list] = {k.strip(): [] for k in (rows[0] if rows else {})}
            for row in rows:
                for k, v in row.items():
                    try:
                        cols[k.strip()].append(float(v))
                    except (TypeError, ValueError):
                        cols[k.strip()].append(v)
            return cols

    return OfflineDetectionTrainer


def val_metrics(metrics) -> dict:
    """mAP50, mAP50-95, P, R overall and mAP50 per class from an ultralytics DetMetrics."""
    box = metrics.box
    names = metrics.names
    per_class = {names[int(c)]: round(float(box.ap50[i]), 4) for i, c in enumerate(box.ap_class_index)}
    return {"mAP50": round(float(box.map50), 4), "mAP50-95": round(float(box.map), 4),
            "precision": round(float(box.mp), 4), "recall": round(float(box.mr), 4), "per_class_mAP50": per_class}


def use_cpu_threads(n: int) -> None:
    """Make ultralytics train on ``n`` CPU threads: its device selection resets torch to ``os.cpu_count() - 1``
    threads for CPU training, which leaves one core of a 2-core machine idle. ``n`` <= 0 leaves ultralytics'
    choice."""
    if n > 0:
        import ultralytics.utils.torch_utils as torch_utils

        torch_utils.NUM_THREADS = n


def train(cfg: TrainConfig) -> dict:
    """Train, validate best.pt on the val and test boards, export; returns the metrics dict."""
    import torch
    from ultralytics import YOLO

    use_cpu_threads(cfg.threads)
    out = Path(cfg.out).resolve()
    t0 = time.time()
    model = YOLO(cfg.model, task="detect")
    model.train(
        trainer=make_trainer_class(), data=cfg.data, imgsz=cfg.imgsz, epochs=cfg.epochs, batch=cfg.batch,
        device=cfg.device, project=str(out.parent), name=out.name, exist_ok=True, workers=cfg.workers,
        cache=cfg.cache or False, amp=False, close_mosaic=cfg.close_mosaic, patience=cfg.patience,
        lr0=cfg.lr0, warmup_epochs=cfg.warmup_epochs, optimizer=cfg.optimizer, freeze=cfg.freeze or None,
        mosaic=cfg.mosaic, save_period=cfg.save_period,
        fraction=cfg.fraction, seed=cfg.seed, deterministic=False, plots=cfg.plots, verbose=False,
        time=(cfg.minutes / 60.0) if cfg.minutes > 0 else None,
    )
    train_s = time.time() - t0
    best = out / "weights" / "best.pt"
    if not best.exists():
        best = out / "weights" / "last.pt"
    trained = YOLO(str(best), task="detect")
    if tuple(trained.names[i] for i in sorted(trained.names)) != CLASSES:
        raise ValueError(f"{best} classes {trained.names} differ from stylist.schema.CLASSES")
    results = {"train_seconds": round(train_s, 1), "device": cfg.device,
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() and cfg.device != "cpu" else "cpu"}
    for split in ("val", "test"):
        m = trained.val(data=cfg.data, split=split, imgsz=cfg.imgsz, batch=cfg.batch, device=cfg.device,
                        plots=False, verbose=False, project=str(out), name=f"val_{split}", exist_ok=True)
        results[split] = val_metrics(m)
    (out / "metrics.json").write_text(json.dumps(results, indent=2))
    if cfg.export:
        export(best, Path(cfg.export), cfg, results)
    return results


def export(best: Path, dst: Path, cfg: TrainConfig, metrics: dict) -> Path:
    """best.pt (already fp16, optimizer stripped by ultralytics) + our config and metrics under "stylist"."""
    import torch

    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    ckpt["stylist"] = {"train_config": asdict(cfg), "classes": list(CLASSES), "metrics": metrics}
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, dst)
    return dst


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stylist train detector", description=__doc__.split("\n")[0])
    cfg = TrainConfig(**vars(add_dataclass_args(parser, TrainConfig).parse_args(argv)))
    results = train(cfg)
    print(json.dumps({k: results[k] for k in ("val", "test")}, indent=2))
    return 0


if __name__ == "__main__":  # python -m training.train_detector … (the same as `stylist …`)
    import sys

    raise SystemExit(main(sys.argv[1:]))
