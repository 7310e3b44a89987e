"""Find fashion items in a photo: an ultralytics YOLO model behind a thread-safe ``detect``."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

from PIL import Image

from stylist.models.detector_settings import DetectorSettings, Found
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


class Detector(DetectorSettings):
    """A YOLO model plus its serving settings; ``detect`` holds a lock so concurrent requests never share
    one predictor's state (a shared ultralytics model returned other requests' boxes: ultralytics#6174)."""

    def __init__(self, yolo, imgsz: int = 512, conf: float = 0.25, device: str = "cpu", name: str = "",
                 iou: float = 0.5, max_det: int = 30, **more: float):
        super().__init__(imgsz, conf, device, name, iou, max_det, **more)
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

    def look(self, img: Image.Image, imgsz: int) -> list[Found]:
        """One pass at ``imgsz``: class-agnostic NMS at ``floor``, boxes in ``img``'s pixels, best first."""
        result = self.yolo.predict(
            img, imgsz=imgsz, conf=self.floor, iou=self.iou, max_det=max(self.max_det, self.fallback_keep),
            device=self.device, verbose=False,
            agnostic_nms=True,  # one physical item -> one button, even when two classes both fire on it
        )[0]
        boxes = result.boxes
        xyxy = boxes.xyxy.cpu().numpy().tolist()
        scores = boxes.conf.cpu().numpy().tolist()
        labels = boxes.cls.cpu().numpy().astype(int).tolist()
        return sorted(zip(scores, labels, xyxy), key=lambda t: -t[0])

    def detect(self, img: Image.Image) -> list[Detection]:
        """Items in ``img``: boxes (x0, y0, x1, y1) in pixels of ``img``, best score first, index 0..n-1."""
        img = img.convert("RGB")
        with self._lock:
            return self.serve(lambda size: self.look(img, size), img.width, img.height)
