"""The detector's ONNX export served without ultralytics: letterbox → ONNX Runtime → class-agnostic NMS.

Same preprocessing as ultralytics' predictor (OpenCV bilinear resize to the serving size, minimal
stride-32 padding with grey 114, RGB in [0, 1]) and the same post-processing (best class per anchor,
confidence threshold, class-agnostic NMS, boxes mapped back to the photo), so its boxes match the torch
``Detector`` (IoU ≥ 0.99, tested). Skipping ultralytics' predictor saves its per-call overhead, its import
at start-up and the memory of a second copy of the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from stylist.models.detector_settings import DetectorSettings, Found, nms
from stylist.results import Detection

STRIDE = 32
PAD_VALUE = 114


@dataclass
class Candidates:
    """One network pass: letterboxed boxes (x0, y0, x1, y1), best-class scores and ids, the letterbox
    (gain_x, gain_y, pad_x, pad_y) and the photo's size."""

    boxes: np.ndarray
    score: np.ndarray
    classes: np.ndarray
    frame: tuple[float, float, float, float]
    width: int
    height: int


def letterbox(rgb: np.ndarray, size: int, stride: int = STRIDE) -> tuple[np.ndarray, float, float, float, float]:
    """H×W×3 uint8 → (1×3×h×w float32 in [0, 1], gain_x, gain_y, pad_x, pad_y) as ultralytics' LetterBox."""
    import cv2

    h0, w0 = rgb.shape[:2]
    r = min(size / h0, size / w0)
    new_w, new_h = max(round(w0 * r), 1), max(round(h0 * r), 1)
    dw, dh = (size - new_w) % stride / 2, (size - new_h) % stride / 2
    if (w0, h0) != (new_w, new_h):
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    rgb = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    batch = rgb.transpose(2, 0, 1)[None].astype(np.float32) * (1 / 255.0)
    return batch, new_w / w0, new_h / h0, float(left), float(top)


class OnnxDetector(DetectorSettings):
    """Drop-in for ``Detector`` (same ``detect``, ``classes``, ``name``, settings) over an ultralytics ONNX export."""

    def __init__(self, runner, classes: tuple[str, ...], imgsz: int = 512, conf: float = 0.25, device: str = "cpu",
                 name: str = "", iou: float = 0.5, max_det: int = 30, **more: float):
        super().__init__(imgsz, conf, device, name, iou, max_det, **more)
        self.runner = runner
        self.classes = tuple(classes)
        self._yolo = None

    @property
    def yolo(self):
        """The export as an ultralytics model (loaded on first use), for ``yolo.val`` in the evaluation:
        validation then measures the ONNX model that serves."""
        if self._yolo is None:
            from ultralytics import YOLO

            self._yolo = YOLO(str(self.runner.path), task="detect")
        return self._yolo

    def candidates(self, img: Image.Image, floor: float, imgsz: int | None = None) -> Candidates:
        """Every anchor's box scoring above ``floor`` with its best class, before NMS, from one pass at
        ``imgsz`` (default the serving size); tuning applies many settings to one pass's candidates."""
        rgb = np.asarray(img.convert("RGB"))
        batch, gx, gy, px, py = letterbox(rgb, imgsz or self.imgsz)
        pred = self.runner(batch)[0].T  # anchors × (4 + classes): cx, cy, w, h, class scores
        cls_scores = pred[:, 4:]
        best = cls_scores.argmax(1)
        score = cls_scores[np.arange(len(pred)), best]
        keep = score > floor
        xywh, score, best = pred[keep, :4], score[keep], best[keep]
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
        return Candidates(boxes, score, best, (gx, gy, px, py), img.width, img.height)

    def found(self, cand: Candidates) -> list[Found]:
        """Class-agnostic NMS at ``floor`` (in the letterboxed frame, as ultralytics), boxes mapped back to
        the photo, best first."""
        keep = cand.score > self.floor
        boxes, score, best = cand.boxes[keep], cand.score[keep], cand.classes[keep]
        gx, gy, px, py = cand.frame
        out = []
        for i in nms(boxes, score, self.iou)[: max(self.max_det, self.fallback_keep)]:
            x0, y0, x1, y1 = boxes[i]
            out.append((float(score[i]), int(best[i]), ((x0 - px) / gx, (y0 - py) / gy, (x1 - px) / gx, (y1 - py) / gy)))
        return out

    def select(self, looks: dict[int, Candidates]) -> list[Detection]:
        """``serve`` over stored passes (``{imgsz: candidates}``, one per size the settings look at)."""
        any_cand = next(iter(looks.values()))
        return self.serve(lambda size: self.found(looks[size]), any_cand.width, any_cand.height)

    def detect(self, img: Image.Image) -> list[Detection]:
        """Items in ``img``: boxes (x0, y0, x1, y1) in pixels of ``img``, best score first, index 0..n-1."""
        return self.serve(lambda size: self.found(self.candidates(img, self.floor, size)), img.width, img.height)
