"""Find fashion items in a photo: an ultralytics YOLO model behind a thread-safe ``detect``."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, Sequence

from PIL import Image

from stylist.results import Detection
from stylist.schema import CLASSES


def random_init_yolo(arch: str = "yolov5n.yaml", classes: Sequence[str] = CLASSES):
    """An untrained YOLO with ``len(classes)`` outputs, built from ultralytics' bundled yaml (no download)."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load

    yolo = YOLO(arch, task="detect")
    cfg = dict(yaml_model_load(arch))
    cfg["nc"] = len(classes)
    model = DetectionModel(cfg, nc=len(classes), verbose=False)
    model.names = {i: name for i, name in enumerate(classes)}
    model.args, model.task = yolo.model.args, "detect"
    yolo.model = model
    return yolo


class DetectorSettings:
    """What a detector serves with (this module's ``Detector`` and ``OnnxDetector`` alike): input size,
    confidence and NMS IoU thresholds, at most ``max_det`` boxes, the device, and a name for logs."""

    def __init__(self, imgsz: int = 512, conf: float = 0.25, device: str = "cpu", name: str = "",
                 iou: float = 0.5, max_det: int = 30):
        self.imgsz = imgsz
        self.conf = conf
        self.iou = iou
        self.max_det = max_det
        self.device = device
        self.name = name


def to_detections(found: Iterable[tuple[float, int, Sequence[float]]], classes: Sequence[str], width: int,
                  height: int) -> list[Detection]:
    """Detections from (score, class id, box x0 y0 x1 y1), best first: index 0..n-1, the class's name (its
    number when the model has more outputs than names), the box clamped to the ``width`` × ``height`` image."""
    return [
        Detection(
            index=i, label=classes[c] if 0 <= c < len(classes) else str(c), score=float(s),
            box=(max(0.0, float(b[0])), max(0.0, float(b[1])), min(float(width), float(b[2])), min(float(height), float(b[3]))),
        )
        for i, (s, c, b) in enumerate(found)
    ]


class Detector(DetectorSettings):
    """A YOLO model plus its serving settings; ``detect`` holds a lock so concurrent requests never share
    one predictor's state (a shared ultralytics model returned other requests' boxes: ultralytics#6174)."""

    def __init__(self, yolo, imgsz: int = 512, conf: float = 0.25, device: str = "cpu", name: str = "",
                 iou: float = 0.5, max_det: int = 30):
        super().__init__(imgsz, conf, device, name, iou, max_det)
        self.yolo = yolo
        self._lock = threading.Lock()

    @classmethod
    def from_weights(cls, path: str | Path, **kwargs) -> "Detector":
        """Load an ultralytics checkpoint (.pt); class names come from the checkpoint itself."""
        from ultralytics import YOLO

        return cls(YOLO(str(path), task="detect"), name=Path(path).stem, **kwargs)

    @property
    def classes(self) -> tuple[str, ...]:
        names = self.yolo.names
        return tuple(names[i] for i in sorted(names)) if isinstance(names, dict) else tuple(names)

    def detect(self, img: Image.Image) -> list[Detection]:
        """Items in ``img``: boxes (x0, y0, x1, y1) in pixels of ``img``, best score first, index 0..n-1."""
        img = img.convert("RGB")
        with self._lock:
            result = self.yolo.predict(
                img, imgsz=self.imgsz, conf=self.conf, iou=self.iou, max_det=self.max_det,
                device=self.device, verbose=False,
                agnostic_nms=True,  # one physical item -> one button, even when two classes both fire on it
            )[0]
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy().tolist()
            scores = boxes.conf.cpu().numpy().tolist()
            labels = boxes.cls.cpu().numpy().astype(int).tolist()
        found = sorted(zip(scores, labels, xyxy), key=lambda t: -t[0])
        return to_detections(found, self.classes, img.width, img.height)
