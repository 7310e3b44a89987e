"""The colour of the garment in a product photo: mask the garment, cluster its pixels in CIELAB, name the
main cluster by CIEDE2000 distance to a palette of the colour words shoppers use.

Why each step: a catalogue photo's white background, a backdrop, shadows and a model's skin or other
clothes are not the product's colour, so the garment is masked first (the silhouette against a plain
backdrop, flooded from the border so a white shirt on white keeps its inside, also when a tight crop lets
the product touch the edges; GrabCut, twenty times dearer, only when the border is busy), a
person's skin is set aside, and for worn clothes the category picks the body region (a top is above the
waist). RGB/HSV thresholds misjudge dark and pale colours (navy read as black, cream as grey); CIELAB is
perceptually even, and CIEDE2000 is the standard distance in it, so "nearest palette colour" matches how
people name colours.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from stylist.cielab import ciede2000, srgb_to_lab
from stylist.colors import COLORS

# Reference swatches (sRGB) -> canonical colour name (stylist.colors.COLORS). Several per name cover
# light and dark variants; the nearest swatch in CIEDE2000 names a colour.
PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (15, 15, 15)), ("black", (40, 40, 42)), ("black", (58, 58, 60)), ("black", (72, 72, 74)), ("charcoal", (98, 100, 106)),
    ("grey", (120, 120, 120)), ("grey", (155, 155, 155)), ("grey", (178, 178, 180)), ("silver", (175, 178, 185)),
    ("white", (250, 250, 250)), ("white", (232, 234, 236)), ("white", (212, 213, 216)),
    ("cream", (245, 238, 215)), ("beige", (225, 205, 175)), ("beige", (212, 192, 162)), ("khaki", (195, 176, 145)),
    ("khaki", (185, 170, 120)),
    ("tan", (205, 160, 110)), ("brown", (130, 85, 50)), ("brown", (90, 60, 40)), ("brown", (60, 40, 30)),
    ("brown", (150, 120, 95)),
    ("red", (200, 25, 35)), ("red", (230, 50, 50)), ("maroon", (125, 15, 15)), ("burgundy", (128, 0, 32)), ("burgundy", (95, 20, 40)),
    ("pink", (245, 150, 180)), ("pink", (250, 200, 215)), ("pink", (225, 100, 140)), ("magenta", (200, 40, 130)),
    ("peach", (250, 195, 160)), ("orange", (245, 125, 30)), ("orange", (250, 155, 20)), ("orange", (250, 120, 80)), ("rust", (175, 75, 35)),
    ("yellow", (245, 220, 40)), ("yellow", (250, 240, 140)), ("yellow", (238, 228, 160)), ("mustard", (210, 170, 40)), ("gold", (200, 160, 70)),
    ("olive", (110, 110, 45)), ("olive", (85, 90, 50)), ("green", (40, 150, 70)), ("green", (25, 90, 45)),
    ("green", (140, 210, 90)), ("green", (160, 220, 180)), ("green", (50, 140, 110)), ("green", (120, 165, 120)),
    ("olive", (150, 160, 100)),
    ("teal", (0, 120, 125)), ("turquoise", (60, 195, 200)),
    ("blue", (40, 90, 200)), ("blue", (90, 140, 210)), ("blue", (160, 195, 230)), ("blue", (70, 100, 145)), ("blue", (105, 120, 145)),
    ("navy", (25, 35, 80)), ("navy", (40, 50, 100)), ("navy", (28, 33, 55)),
    ("purple", (110, 50, 140)), ("purple", (70, 35, 90)), ("purple", (80, 40, 80)), ("lavender", (185, 165, 220)), ("mauve", (175, 125, 155)),
)
MAX_SIDE = 96  # colour needs few pixels; GrabCut on larger images is slow
CLUSTERS = 4
MAX_PIXELS = 2000  # k-means on at most about this many of the garment's pixels (a 96-px photo has up to 9,216)
NEUTRALS = frozenset({"black", "white", "grey"})
CHROMATIC_SHARE = 0.25  # a chromatic cluster this large outvotes neutrals up to 1/NEUTRAL_DISCOUNT its size
NEUTRAL_DISCOUNT = 0.5

# Body regions of worn clothes, as fractions of the silhouette's height (top=0): where to look per class.
_BODY_REGION: dict[str, tuple[float, float]] = {
    "Shirts & Tops": (0.18, 0.55), "Coats & Jackets": (0.18, 0.6), "Dresses": (0.2, 0.75),
    "Pants": (0.5, 0.92), "Shorts": (0.45, 0.7), "Skirts": (0.45, 0.8),
}


@dataclass(frozen=True)
class GarmentColor:
    """The named colour, its Lab value, the share of the garment's pixels in its cluster, and each colour
    family's share of the garment (after the neutrals' discount): a soft reading for fusing with CLIP."""

    name: str
    lab: tuple[float, float, float]
    share: float
    families: dict[str, float] = field(default_factory=dict)


FAMILY_OF: dict[str, str] = {name: COLORS[name] for name, _ in PALETTE}
_PALETTE_LAB = srgb_to_lab(np.array([rgb for _, rgb in PALETTE]))
_PALETTE_NAMES = [name for name, _ in PALETTE]


def name_lab(lab: np.ndarray) -> list[str]:
    """The palette name nearest (CIEDE2000) to each Lab row."""
    lab = np.atleast_2d(lab)
    d = ciede2000(lab[:, None, :], _PALETTE_LAB[None, :, :])
    return [_PALETTE_NAMES[i] for i in d.argmin(axis=1)]


# --- the garment's pixels -------------------------------------------------------------------------------
# A catalogue photo's backdrop is one plain colour. When most of the border is that colour the silhouette
# is everything the backdrop does not reach from the border (well under 1 ms at 96 px). A tight crop lets
# the product touch the edges, so less of the border is backdrop; the same silhouette is kept when at least
# TOUCHED_BORDER of the border is a light backdrop (a catalogue's white; a grey band across a photo is as
# likely the product) and it covers a plausible share of the image (crops of CTL style boards: ~13 % of
# them, almost all on white). Only a busy border (a photo with a scene behind; ~2 % of those crops) needs
# GrabCut (~20 ms).
PLAIN_BORDER = 0.7
TOUCHED_BORDER = 0.35
COVER = (0.05, 0.95)  # a silhouette covering less or more than this of the image is a doubtful one
BACKDROP_DE = 6.0  # Lab distance within which a border pixel is the backdrop's colour
GARMENT_DE = 7.0  # Lab distance beyond which a pixel differs from the backdrop
LIGHT_BACKDROP = (85.0, 10.0)  # a light backdrop: L* at least, chroma at most


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Everything not reachable from the border through background: a white shirt's inside stays."""
    import cv2

    count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    if count <= 1:
        return mask.copy()
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.zeros(count, bool)
    outside[edge[edge > 0]] = True  # label 0 is the mask itself
    return ~outside[labels]


def _border(lab: np.ndarray) -> np.ndarray:
    return np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])


def _silhouette(lab: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """Pixels that differ from the backdrop colour, closed and hole-filled, without their outer rim."""
    import cv2

    mask = np.linalg.norm(lab - backdrop, axis=2) > GARMENT_DE
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    mask = _fill_holes(mask)
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # edges blend into bg
    return inner if inner.sum() >= 0.5 * mask.sum() else mask


def _grabcut(rgb: np.ndarray) -> np.ndarray:
    """GrabCut from a centred rectangle (a busy border: a scene behind the product)."""
    import cv2

    h, w, _ = rgb.shape
    gc = np.zeros((h, w), np.uint8)
    rect = (max(1, w // 12), max(1, h // 12), w - 2 * max(1, w // 12), h - 2 * max(1, h // 12))
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[:, :, ::-1]), gc, rect, bgd, fgd, 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return np.ones((h, w), bool)
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


def garment_mask(rgb: np.ndarray, lab: np.ndarray | None = None) -> np.ndarray:
    """True on the product. A plain backdrop (most of the border one colour, or enough of it light and a
    silhouette of a plausible size): the silhouette against it. Otherwise GrabCut. ``lab``: ``rgb`` in
    CIELAB when the caller has it already."""
    h, w, _ = rgb.shape
    if lab is None:
        lab = srgb_to_lab(rgb.reshape(-1, 3)).reshape(h, w, 3)
    border = _border(lab)
    backdrop = np.median(border, axis=0)
    plain = float(np.mean(np.linalg.norm(border - backdrop, axis=1) < BACKDROP_DE))
    if plain > PLAIN_BORDER:
        return _silhouette(lab, backdrop)
    light = backdrop[0] >= LIGHT_BACKDROP[0] and np.hypot(backdrop[1], backdrop[2]) <= LIGHT_BACKDROP[1]
    if plain >= TOUCHED_BORDER and light:
        mask = _silhouette(lab, backdrop)
        if COVER[0] <= mask.mean() <= COVER[1]:
            return mask
    return _grabcut(rgb)


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels in the usual skin range (YCrCb box of Chai & Ngan, tightened on saturation)."""
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = (r - y) * 0.713 + 128
    cb = (b - y) * 0.564 + 128
    return (cr >= 137) & (cr <= 173) & (cb >= 77) & (cb <= 127) & (y > 60) & (r > g) & (g > b)


def _body_region(mask: np.ndarray, skin: np.ndarray, category: str | None) -> np.ndarray:
    """For worn clothes (visible skin), keep the rows where the category sits on a body."""
    region = _BODY_REGION.get(category or "")
    if region is None or skin[mask].mean() < 0.06:
        return mask
    rows = np.flatnonzero(mask.any(axis=1))
    top, height = rows[0], rows[-1] - rows[0] + 1
    keep = np.zeros_like(mask)
    keep[int(top + region[0] * height):int(top + region[1] * height) + 1] = True
    out = mask & keep
    return out if out.sum() >= 12 else mask


def garment_color(img: Image.Image, category: str | None = None, max_side: int = MAX_SIDE) -> GarmentColor:
    """Mask the garment, drop skin when the garment is not skin-coloured, cluster in Lab (k-means), and
    name the largest cluster. ``category`` (a detection class) helps with worn clothes; optional."""
    import cv2

    small = img.convert("RGB")
    small.thumbnail((max_side, max_side))
    rgb = np.asarray(small)
    lab = srgb_to_lab(rgb.reshape(-1, 3)).reshape(rgb.shape)
    mask = garment_mask(rgb, lab)
    if mask.sum() < max(12, 0.02 * mask.size):
        mask = np.ones(mask.shape, bool)  # nothing stands out (a white product on white): use everything
    skin = skin_mask(rgb)
    mask = _body_region(mask, skin, category)
    not_skin = mask & ~skin
    if not_skin.sum() >= 0.35 * mask.sum() and not_skin.sum() >= 12:
        mask = not_skin
    pixels = lab[mask][::max(1, int(mask.sum()) // MAX_PIXELS)]  # an even sample: shares barely move
    k = min(CLUSTERS, len(pixels))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centers = cv2.kmeans(pixels.astype(np.float32), k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    names = name_lab(centers)
    families = [FAMILY_OF[n] for n in names]
    # one vote per family: clusters "navy" and "blue" (shadow and light of one shirt) are one colour
    votes: dict[str, float] = {}
    for fam, n in zip(families, counts):
        votes[fam] = votes.get(fam, 0.0) + n
    # neutrals (soles, seams, shadows, hair, a watch's steel) surround most products: a chromatic colour
    # covering a fair share is what a shopper names
    chromatic = {f: v for f, v in votes.items() if f not in NEUTRALS}
    if chromatic and max(chromatic.values()) >= CHROMATIC_SHARE * counts.sum():
        votes = {f: v * (NEUTRAL_DISCOUNT if f in NEUTRALS else 1.0) for f, v in votes.items()}
    family = max(votes, key=votes.__getitem__)
    members = [i for i, f in enumerate(families) if f == family]
    best = members[int(np.argmax(counts[members]))]
    lab = tuple(float(v) for v in (centers[members] * counts[members, None]).sum(axis=0) / counts[members].sum())
    total = sum(votes.values())
    return GarmentColor(names[best], lab, votes[family] / counts.sum(), {f: v / total for f, v in votes.items()})
