"""The detector's ONNX export served without ultralytics: letterbox → ONNX Runtime → class-agnostic NMS.

Same preprocessing as ultralytics' predictor (OpenCV bilinear resize to the serving size, minimal
stride-32 padding with grey 114, RGB in [0, 1]) and the same post-processing (best class per anchor,
confidence threshold, class-agnostic NMS, boxes mapped back to the photo), so its boxes match the torch
``Detector`` (IoU ≥ 0.99, tested). Skipping ultralytics' predictor saves its per-call overhead, its import
at start-up and the memory of a second copy of the model.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from stylist.results import Detection

STRIDE = 32
PAD_VALUE = 114


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


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression (boxes x0, y0, x1, y1); indices kept, best score first."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        overlap = inter / (area[i] + area[rest] - inter + 1e-9)
        order = rest[overlap <= iou]
    return keep


class OnnxDetector:
    """Drop-in for ``Detector`` (same ``detect``, ``classes``, ``name``, settings) over an ultralytics ONNX export."""

    def __init__(self, runner, classes: tuple[str, ...], imgsz: int = 512, conf: float = 0.25, device: str = "cpu",
                 name: str = "", iou: float = 0.5, max_det: int = 30):
        self.runner = runner
        self.classes = tuple(classes)
        self.imgsz = imgsz
        self.conf = conf
        self.iou = iou
        self.max_det = max_det
        self.device = device
        self.name = name
        self._yolo = None

    @property
    def yolo(self):
        """The export as an ultralytics model (loaded on first use), for ``yolo.val`` in the evaluation:
        validation then measures the ONNX model that serves."""
        if self._yolo is None:
            from ultralytics import YOLO

            self._yolo = YOLO(str(self.runner.path), task="detect")
        return self._yolo

    def detect(self, img: Image.Image) -> list[Detection]:
        """Items in ``img``: boxes (x0, y0, x1, y1) in pixels of ``img``, best score first, index 0..n-1."""
        rgb = np.asarray(img.convert("RGB"))
        batch, gx, gy, px, py = letterbox(rgb, self.imgsz)
        pred = self.runner(batch)[0].T  # anchors × (4 + classes): cx, cy, w, h, class scores
        cls_scores = pred[:, 4:]
        best = cls_scores.argmax(1)
        score = cls_scores[np.arange(len(pred)), best]
        keep = score > self.conf
        xywh, score, best = pred[keep, :4], score[keep], best[keep]
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
        chosen = nms(boxes, score, self.iou)[:self.max_det]
        out = []
        for k, i in enumerate(chosen):
            x0, y0, x1, y1 = boxes[i]
            box = ((x0 - px) / gx, (y0 - py) / gy, (x1 - px) / gx, (y1 - py) / gy)
            c = int(best[i])
            out.append(Detection(
                index=k, label=self.classes[c] if c < len(self.classes) else str(c), score=float(score[i]),
                box=(max(0.0, float(box[0])), max(0.0, float(box[1])),
                     min(float(img.width), float(box[2])), min(float(img.height), float(box[3]))),
            ))
        return out
