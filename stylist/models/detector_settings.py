"""What a detector serves with, and the post-processing both runtimes share (torch ``Detector`` and
``OnnxDetector`` differ only in how they run the network, so they cannot drift apart).

Two rules for shoppers' own photos, tuned on the validation split (``training.tune_detector``):

- **a second look, zoomed out**: the detector learned items of a board's scale; a garment that fills a
  photo is far larger than anything it saw, and at the serving size it boxes a print, a pocket or
  nothing. Looked at again at ``zoom_imgsz`` (e.g. 256 px), the garment has a board item's scale and is
  boxed whole. Only large boxes (≥ ``zoom_min_area`` of the picture) are taken from that look, merged
  with the first by class-agnostic NMS, so a board's small items are untouched (``zoom_always`` False:
  looked at only when the first look found nothing above ``conf``).
- **parts are not items**: with ``contain`` > 0, a box lying that much inside a better-scored box is
  dropped (a print boxed as a handbag inside its top).
- **a second chance**: a shopper's photo almost always shows a garment, so when no box reaches ``conf``
  the best ``fallback_keep`` boxes above ``fallback_conf`` are kept if they look like an item (at least
  ``fallback_min_area`` of the picture, at most ``fallback_max_aspect`` : 1). When something does reach
  ``conf`` the result is what ``conf`` alone gives (greedy NMS keeps a box whatever lower-scored boxes
  exist).
- **a closer look at boards**: with ``propose`` > 0, a picture where at least ``PROPOSE_AFTER`` boxes reach
  ``conf`` (a board, an outfit) also gets its boxes scoring above ``propose``: on boards the detector scores
  small, overlapped and grey-backed items low. Such pictures' boxes are then checked by the item check
  (``stylist.verify``); a photo of one garment is served exactly as without it.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from stylist.results import Detection

Found = tuple[float, int, Sequence[float]]  # (score, class id, box x0 y0 x1 y1 in the photo's pixels)
PROPOSE_AFTER = 2  # boxes above conf that make a picture a board, whose lower-scored boxes are proposed too


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


def to_detections(found: Iterable[Found], classes: Sequence[str], width: int, height: int) -> list[Detection]:
    """Detections from (score, class id, box x0 y0 x1 y1), best first: index 0..n-1, the class's name (its
    number when the model has more outputs than names), the box clamped to the ``width`` × ``height`` image."""
    return [
        Detection(
            index=i, label=classes[c] if 0 <= c < len(classes) else str(c), score=float(s),
            box=(max(0.0, float(b[0])), max(0.0, float(b[1])), min(float(width), float(b[2])), min(float(height), float(b[3]))),
        )
        for i, (s, c, b) in enumerate(found)
    ]


def visible_area(box: Sequence[float], width: int, height: int) -> tuple[float, float]:
    """Width and height of the part of ``box`` inside the picture."""
    return (max(0.0, min(float(width), float(box[2])) - max(0.0, float(box[0]))),
            max(0.0, min(float(height), float(box[3])) - max(0.0, float(box[1]))))


class DetectorSettings:
    """Serving settings: input size, confidence and class-agnostic NMS IoU thresholds, at most ``max_det``
    boxes, the device, a name for logs, the zoomed-out second look, the second chance and the closer look
    at boards (module doc)."""

    classes: tuple[str, ...]

    def __init__(self, imgsz: int = 512, conf: float = 0.25, device: str = "cpu", name: str = "",
                 iou: float = 0.5, max_det: int = 30, fallback_conf: float = 0.0, fallback_keep: int = 1,
                 fallback_min_area: float = 0.02, fallback_max_aspect: float = 6.0, zoom_imgsz: int = 0,
                 zoom_min_area: float = 0.25, zoom_always: bool = True, contain: float = 0.0, propose: float = 0.0,
                 board_imgsz: int = 0):
        self.imgsz = imgsz
        self.conf = conf
        self.iou = iou
        self.max_det = max_det
        self.device = device
        self.name = name
        self.fallback_conf = fallback_conf
        self.fallback_keep = fallback_keep
        self.fallback_min_area = fallback_min_area
        self.fallback_max_aspect = fallback_max_aspect
        self.zoom_imgsz = zoom_imgsz
        self.zoom_min_area = zoom_min_area
        self.zoom_always = zoom_always
        self.contain = contain
        self.propose = propose
        self.board_imgsz = board_imgsz

    @property
    def floor(self) -> float:
        """The lowest score any box may have: the threshold candidates are drawn (and NMS run) at."""
        return min([self.conf] + [t for t in (self.fallback_conf, self.propose) if t > 0])

    def plausible(self, box: Sequence[float], width: int, height: int) -> bool:
        """Large enough and not a sliver: a second-chance box must look like a garment, not an edge or a seam."""
        w, h = visible_area(box, width, height)
        if w <= 0 or h <= 0:
            return False
        return w * h >= self.fallback_min_area * width * height and max(w, h) / min(w, h) <= self.fallback_max_aspect

    def merge(self, found: list[Found], zoomed: list[Found], width: int, height: int) -> list[Found]:
        """The first look's boxes plus the zoomed-out look's large ones, class-agnostic NMS over both."""
        big = [f for f in zoomed if f[0] > self.floor
               and np.prod(visible_area(f[2], width, height)) >= self.zoom_min_area * width * height]
        if not big:
            return found
        union = list(found) + big
        keep = nms(np.array([f[2] for f in union], dtype=np.float64).reshape(-1, 4),
                   np.array([f[0] for f in union], dtype=np.float64), self.iou)
        return [union[i] for i in keep]

    def drop_parts(self, found: list[Found]) -> list[Found]:
        """Without boxes lying ``contain`` or more inside a better-scored box (a print or a pocket boxed
        besides its garment); ``contain`` 0 keeps everything."""
        if self.contain <= 0 or len(found) < 2:
            return found
        kept: list[Found] = []
        for f in found:
            x0, y0, x1, y1 = f[2]
            area = max(1e-9, (x1 - x0) * (y1 - y0))
            inside = any(max(0.0, min(x1, k[2][2]) - max(x0, k[2][0])) * max(0.0, min(y1, k[2][3]) - max(y0, k[2][1]))
                         >= self.contain * area for k in kept)
            if not inside:
                kept.append(f)
        return kept

    def choose(self, found: Iterable[Found], width: int, height: int) -> list[Detection]:
        """The served detections from class-agnostic NMS output at ``floor`` (best first): those above
        ``conf`` (on a board: above ``propose``), or else the second chance."""
        found = self.drop_parts(list(found))
        sure = [f for f in found if f[0] > self.conf][: self.max_det]
        if self.propose > 0 and len(sure) >= PROPOSE_AFTER:
            low = min(self.propose, self.conf)
            return to_detections([f for f in found if f[0] > low][: self.max_det], self.classes, width, height)
        if sure or self.fallback_conf <= 0:
            return to_detections(sure, self.classes, width, height)
        second = [f for f in found if f[0] > self.fallback_conf and self.plausible(f[2], width, height)]
        return to_detections(second[: self.fallback_keep], self.classes, width, height)

    def serve(self, look, width: int, height: int) -> list[Detection]:
        """The whole post-processing around ``look(imgsz) -> [Found]`` (one network pass + NMS at ``floor``,
        best first): the first look, the zoomed-out one when enabled, then ``choose``."""
        found = look(self.imgsz)
        if self.zoom_imgsz > 0 and (self.zoom_always or not any(f[0] > self.conf for f in found)):
            found = self.merge(found, look(self.zoom_imgsz), width, height)
        if self.propose > 0 and self.board_imgsz > 0 and sum(f[0] > self.conf for f in found) >= PROPOSE_AFTER:
            union = list(found) + look(self.board_imgsz)  # a board looked at closer: its small items
            keep = nms(np.array([f[2] for f in union], dtype=np.float64).reshape(-1, 4),
                       np.array([f[0] for f in union], dtype=np.float64), self.iou)
            found = [union[i] for i in keep]
        return self.choose(found, width, height)
