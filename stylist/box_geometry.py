"""Box geometry shared by the one-garment rule and the whole-garment step: areas, overlaps, parts of one box.

Both ``stylist.garment_photo`` (is a photo one garment?) and ``stylist.garment_box`` (grow a part to the
garment) ask whether a photo's boxes are parts of one garment; the answer lives here, so neither module needs
the other for it. Boxes are (x0, y0, x1, y1) in pixels, best first where order matters.
"""
from __future__ import annotations

from typing import Sequence

Box = Sequence[float]

PART_INSIDE = 0.5  # a box at least this much inside the best one is a part of the same garment


def area(b: Box) -> float:
    """Area of ``b`` (0 for a box with no extent)."""
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def intersection(a: Box, b: Box) -> float:
    """Area of the overlap of ``a`` and ``b`` (0 when apart)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def share_inside(b: Box, of: Box) -> float:
    """Share of ``b``'s area inside ``of`` (0 for an empty ``b``)."""
    size = area(b)
    return intersection(b, of) / size if size > 0 else 0.0


def parts_of_one(boxes: Sequence[Box], inside: float = PART_INSIDE) -> bool:
    """One box; every other box lying mostly (``inside`` of its area) within the best one; or just two boxes
    that overlap (the halves of a dress). ``boxes`` best first."""
    if not boxes:
        return False
    best = boxes[0]
    if len(boxes) == 2 and share_inside(boxes[1], best) > 0:
        return True
    return all(area(b) > 0 and share_inside(b, best) >= inside for b in boxes[1:])


__all__ = ["Box", "PART_INSIDE", "area", "intersection", "share_inside", "parts_of_one"]
