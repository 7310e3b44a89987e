"""What deciding "one garment or several" (``stylist.garment_photo.judged``) costs per photo, on real photos.

    .venv/bin/python benchmarks/bench_one_garment.py [--photos 200] [--data ../shared/data]

Real CC0 photos of the val split (one garment each, on a bed, a floor, a hanger), detected once with the bundled
detector (whole-garment boxes, as the search does); then ``judged`` is timed on each photo's detections with the
photo (rules 1–3: the salient object is found only when the boxes and scores do not decide) and without it
(rules 1–2, no pixels read). Prints process CPU ms per photo (mean, p95) and the share of photos whose pixels
were read.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine_line  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    from stylist.config import load_config
    from stylist.garment_box import WholeGarmentDetector
    from stylist.garment_photo import MAX_ITEMS, judged, one_garment, unsure_of_all
    from stylist.images import load_image
    from stylist.models.registry import shared_detector
    from training.data.sources import load_clothing
    from training.data.splits import split_of

    config = load_config()
    detector = WholeGarmentDetector(shared_detector(config))
    photos = sorted((x for x in load_clothing(Path(args.data)) if split_of(x.path.stem) == "val"),
                    key=lambda x: x.path.name)[:args.photos]
    cases = []
    for x in photos:
        img = load_image(x.path.read_bytes(), config.max_pixels)
        cases.append((img, detector.detect(img)))
    read = np.mean([not one_garment([d.box for d in dets], [d.score for d in dets])
                    and unsure_of_all([d.score for d in dets], MAX_ITEMS) for _, dets in cases])
    for name, with_img in (("rules 1-3 (with the photo)", True), ("rules 1-2 (boxes and scores only)", False)):
        times = []
        for img, dets in cases:
            c0 = time.process_time()
            for _ in range(args.repeat):
                judged(dets, img if with_img else None)
            times.append((time.process_time() - c0) / args.repeat)
        print(f"{name}: CPU {np.mean(times) * 1000:.2f} ms mean, {np.percentile(times, 95) * 1000:.2f} ms p95 per photo")
    print(f"{len(cases)} val photos; pixels read for {read:.3f} of them")
    print(machine_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
