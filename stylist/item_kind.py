"""What a searched item is (its class), fused from its nearest catalog neighbours and the detector's label.

A refinement such as "in red" on a photographed black skirt should show red skirts, so the search needs
the item's kind even when the shopper does not name it.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from PIL import Image

from stylist.images import item_crop
from stylist.query import category_of
from stylist.results import Detection
from stylist.store import CLIP, CatalogStore, Hit

KIND_NEIGHBOURS = 10  # visual and CLIP neighbours that vote on what the item is

DETECTOR_VOTES = 5.0  # the detector's label counts as this many neighbours (times its confidence)
KIND_SHARE = 0.4  # the winning class needs this share of the votes, else the kind is unknown


def item_kind(neighbour_categories: Sequence[str], detected: str | None = None, detected_score: float = 0.0) -> list[str]:
    """The item's class, fused from its nearest catalog neighbours (visual and CLIP, one vote each) and the
    detector's label: [class], or [] when no class wins ``KIND_SHARE`` of the votes.

    Neither source alone is reliable: the detector's class is wrong on a fair share of held-out items, and
    a visual neighbour list can be dominated by look-alikes of another kind; CLIP neighbours add a second,
    differently-wrong opinion.
    """
    votes: Counter[str] = Counter()
    for raw in neighbour_categories:
        cat = category_of(raw) or raw
        if cat:
            votes[cat] += 1.0
    if detected:
        votes[category_of(detected) or detected] += DETECTOR_VOTES * max(0.0, min(1.0, detected_score))
    if not votes:
        return []
    best, n = votes.most_common(1)[0]
    return [best] if n >= KIND_SHARE * sum(votes.values()) else []


def guess_item_kind(store: CatalogStore, clip, img: Image.Image, detection: Detection | None,
                    visual_hits: Sequence[Hit]) -> list[str]:
    """What the item is: the categories of its nearest visual (``visual_hits``) and CLIP neighbours and the
    detector's label, fused by ``item_kind``; the whole image stands for the item when ``detection`` is None."""
    crop = item_crop(img, detection.box if detection is not None else None)
    clip_hits = store.query(CLIP, clip.embed_images([crop])[0], KIND_NEIGHBOURS)
    cats = [str(h.meta.get("category") or "") for h in [*visual_hits[:KIND_NEIGHBOURS], *clip_hits]]
    return item_kind(cats, detection.label if detection else None, detection.score if detection else 0.0)


__all__ = ["item_kind", "guess_item_kind", "KIND_NEIGHBOURS", "DETECTOR_VOTES", "KIND_SHARE"]
