"""One garment or several: whether a photo's detections show one garment, so that the whole photo is evidence
for its name (and its products are of that kind).

A shopper's photo of one garment (on a bed, a floor, a hanger) is often detected as parts of it (a collar, a
pocket, a sleeve) or, when the detector is unsure, as bits of the background (floor tiles, a bed's pattern)
beside the garment; every source that names such a box names the part or the background, while the whole
photo shows the garment. So a photo is one garment when

1. its detections are parts of one (``stylist.box_geometry.parts_of_one``): a single box, boxes lying mostly
   inside the best one, or just two boxes that overlap (the halves of a dress); or
2. the detector is unsure (score < ``UNSURE``) of each of its one or two boxes: a board's items are detected
   surely; or
3. the detector is unsure of each of its few boxes (at most ``MAX_ITEMS``) and its best box lies mostly outside
   the one object the pixels show (``stylist.garment_box.garment_box``, the salient object the whole-garment
   boxes grow to): the boxes are the background's texture and the object is the garment;
4. none of the above, but the detector is not sure (< ``SURE_ITEM``) of any of its boxes and the garment namer,
   shown the whole photo, is sure (>= ``NAMER_SURE``) what one garment it is (``namer_says_one``; asked by
   ``stylist.candidates`` only for such photos, as it names the items anyway).

Measured on the val split (bundled detector and namer; 482 real CC0 photos, 72 composites of one catalogue item
on a real background, 75 cluttered and 75 catalogue boards): rule 1 holds for 0.940 of the real photos, 0.93 of
the composites, 0.027 of the cluttered and 0.107 of the catalogue boards. Rules 2 and 3 add 0.033 of the real
photos (the whole-photo namer was right for nearly all of those left out before) and no composite or board: the
fused label of real photos 0.861 -> 0.888. Without "best box outside" rule 3 also took two catalogue outfit
boards whose touching items form one object; with ``UNSURE`` 0.6 or three boxes in rule 2, a catalogue board.
Rule 4 (the same 482 val photos, 150 cluttered and 150 catalogue boards): 24 real photos were still left out
(their fused label right for 7, the whole photo's namer for 23); it takes 12 (5 and 7 in the two halves of the
photos), the namer right on all 12, and no board (namer 0.7 or detector 0.8 would take 1-6 boards). Through the
whole search on the val photos: fused label 0.880 -> 0.898, top-5 majority 0.876 -> 0.896; composites' and
boards' labels and Recall@10 unchanged. The namer is asked for 4 % of real photos and 7-9 % of boards, ~6.5 ms
of CPU each (the loaded dev box): under 1 ms a photo on average.

Which detection comes first (button 1, and the item a one-garment photo searches at once): when the detector is
not sure (< ``SURE_ITEM``) of any of a photo's boxes, its scores alone put a small box at the photo's edge (a pair
of sunglasses on a tiled floor) before the garment in the middle, so the boxes are ordered by score times
(1 - distance of the box's centre from the photo's centre, as a share of the half-diagonal) ** ``CENTRE_POWER``
(``prominent_first``); a photo with a sure box keeps the detector's order. On the val split (482 real photos,
78 with two or more detections; 75 cluttered and 75 catalogue boards): the first detection changes on 16 photos;
the fused label of the first item 0.898 -> 0.903 and its top-5 majority category 0.888 -> 0.896 (each half of a
random split lifts or ties); 10 of the 150 boards change button order. Powers 1 / 4, or box area instead of
centrality: the same or smaller gains; without the "no sure box" gate, half of the boards change order.
Two detections judged one garment that lie apart (neither mostly inside the other) are its two halves: the two
lenses of sunglasses, two earrings, two shoes, or a garment the detector split; the first item's box becomes
their union (``paired``), the second stays a button of its own. On val composites (one catalogue product on a
real background) the product boxed 0.893 -> 0.900 and Recall@10 0.783 -> 0.790 (300), boxed 0.863 -> 0.873
(599 others, each random half gains; none lost); on the 482 val real photos 18 first boxes change, the fused
label of the first item unchanged, its top-5 majority 1 photo worse (-0.002); 75 val boards unchanged.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from PIL import Image

from stylist.box_geometry import PART_INSIDE, Box, parts_of_one, share_inside
from stylist.garment_box import garment_box
from stylist.results import Detection

UNSURE = 0.5  # rules 2 and 3: every detection scores below this ...
FEW = 2  # ... and there are at most this many (rule 2) ...
MAX_ITEMS = 4  # ... or at most this many (rule 3) ...
OUTSIDE = 0.5  # ... and less than this share of the best box lies inside the salient object
SURE_ITEM = 0.7  # rule 4: every detection scores below this ...
NAMER_SURE = 0.8  # ... and the namer gives the whole photo one class at least this probability
CENTRE_POWER = 2.0  # the first detection of an unsure photo: score * centrality ** this (``prominent_first``)


def unsure_of_all(scores: Sequence[float], most: int) -> bool:
    """At most ``most`` detections (at least one), the detector unsure of each."""
    return 0 < len(scores) <= most and max(scores) < UNSURE


def background_beside(boxes: Sequence[Box], scores: Sequence[float], garment: Box | None) -> bool:
    """Rule 3: few unsure detections and the best box mostly outside the salient object ``garment`` (None: the
    pixels show no single object)."""
    return garment is not None and unsure_of_all(scores, MAX_ITEMS) and share_inside(boxes[0], garment) < OUTSIDE


def one_garment(boxes: Sequence[Box], scores: Sequence[float] | None = None, garment: Box | None = None,
                inside: float = PART_INSIDE) -> bool:
    """Whether detections (``boxes`` best first, their ``scores``) show one garment (module doc): rule 1 from
    the boxes alone, rule 2 when the scores are given, rule 3 when the photo's salient object ``garment`` is too."""
    if parts_of_one(boxes, inside):
        return True
    if not boxes or scores is None:
        return False
    return unsure_of_all(scores, FEW) or background_beside(boxes, scores, garment)


def namer_may_decide(detections: Sequence[Detection | None]) -> bool:
    """Rule 4's precondition: two or more detections not named yet, none judged one garment, the detector not
    sure (``SURE_ITEM``) of any: then the garment namer's view of the whole photo decides (``namer_says_one``)."""
    return (len(detections) >= 2 and all(d is not None and not d.detector_label and not d.whole_photo
                                         and d.score < SURE_ITEM for d in detections))


def namer_says_one(probs: Sequence[float] | None) -> bool:
    """Rule 4: the garment namer is sure (``NAMER_SURE``) of the whole photo's class."""
    return probs is not None and len(probs) > 0 and float(max(probs)) >= NAMER_SURE


def prominent_first(detections: Sequence[Detection], size: tuple[int, int]) -> list[Detection]:
    """``detections`` best first for a shopper: unchanged when the detector is sure (``SURE_ITEM``) of any of
    them, else ordered by score times centrality ** ``CENTRE_POWER`` in a photo of ``size`` (width, height),
    so that a garment in the middle comes before an unsure small box at the edge (module doc)."""
    w, h = size
    if len(detections) < 2 or w <= 0 or h <= 0 or max(d.score for d in detections) >= SURE_ITEM:
        return list(detections)

    def prominence(d: Detection) -> float:
        dx, dy = (d.box[0] + d.box[2]) / (2 * w) - 0.5, (d.box[1] + d.box[3]) / (2 * h) - 0.5
        centrality = max(0.0, 1.0 - (dx * dx + dy * dy) ** 0.5 / 0.5 ** 0.5)
        return d.score * centrality ** CENTRE_POWER

    return sorted(detections, key=prominence, reverse=True)


def judged(detections: Sequence[Detection], img: Image.Image | None = None) -> list[Detection]:
    """A photo's detections (all of them, best first) with ``whole_photo`` decided: those not named yet are
    judged together (``one_garment``; rule 3 needs ``img``, whose salient object is found only when the boxes
    and scores alone do not decide and the detector is unsure: ~3 ms on ~4 % of real photos); a detection named
    before keeps its decision. Only the callers that hold all of a photo's detections judge (``Stylist.photo``,
    ``detect_items``): a detection searched on its own may be one of several, so it gets no whole-photo
    evidence unless judged before. With ``img`` the list comes back ``prominent_first``."""
    fresh = [d for d in detections if not d.detector_label]
    boxes, scores = [d.box for d in fresh], [d.score for d in fresh]
    together = bool(fresh) and one_garment(boxes, scores)
    if not together and img is not None and unsure_of_all(scores, MAX_ITEMS):
        together = background_beside(boxes, scores, garment_box(img))
    out = [d if d.detector_label else dataclasses.replace(d, whole_photo=together) for d in detections]
    out = paired(out) if together and len(fresh) == len(out) else out
    return prominent_first(out, img.size) if img is not None else out


def paired(detections: Sequence[Detection]) -> list[Detection]:
    """Two detections judged one garment, neither mostly (``PART_INSIDE``) inside the other, are the two halves
    of a pair (two lenses, two earrings, two shoes) or of a garment the detector split: the first becomes their
    union, the second stays. Anything else: unchanged."""
    if len(detections) != 2:
        return list(detections)
    a, b = detections[0].box, detections[1].box
    if share_inside(a, b) >= PART_INSIDE or share_inside(b, a) >= PART_INSIDE:
        return list(detections)
    union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
    return [dataclasses.replace(detections[0], box=union), detections[1]]


__all__ = ["one_garment", "paired", "unsure_of_all", "background_beside", "judged", "namer_may_decide",
           "namer_says_one", "prominent_first", "UNSURE", "FEW", "MAX_ITEMS", "SURE_ITEM", "NAMER_SURE",
           "CENTRE_POWER"]
