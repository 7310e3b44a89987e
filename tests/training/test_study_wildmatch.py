from training.study_wildmatch import box_causes, box_verdict


def _row(truth, raw, obj, served, iou):
    return {"truth_box": truth, "raw": raw, "object": obj, "served": served, "iou": iou,
            "verdict": box_verdict(truth, max(served, key=lambda b: iou, default=None) if served else None)}


def test_box_verdicts():
    truth = (100, 100, 200, 200)
    assert box_verdict(truth, None) == "nothing"
    assert box_verdict(truth, (105, 100, 200, 195)) == "boxed"
    assert box_verdict(truth, (120, 120, 150, 150)) == "part"
    assert box_verdict(truth, (0, 0, 400, 400)) == "too big"
    assert box_verdict(truth, (300, 300, 350, 350)) == "off"


def test_box_causes_tell_who_decided_the_unboxed_box():
    truth = (100, 100, 200, 200)
    rows = [
        _row(truth, [truth], None, [truth], 1.0),  # boxed: not among the causes
        _row(truth, [], None, [], 0.0),  # nothing served
        _row(truth, [(120, 120, 150, 150)], None, [(120, 120, 150, 150)], 0.09),  # the detector's part kept
        _row(truth, [truth], (0, 0, 400, 400), [(0, 0, 400, 400)], 0.0625),  # a good box replaced by the object
        _row(truth, [(300, 300, 350, 350)], (0, 0, 300, 300), [(0, 0, 300, 300)], 0.11),  # the object served
    ]
    out = box_causes(rows)
    assert out["n"] == 5 and out["unboxed"] == 4 and abs(out["boxed"] - 0.2) < 1e-9
    assert out["decided_by"] == {"none": 1, "detector": 1, "object replaced a good box": 1, "object": 1}
    assert out["verdict"] == {"nothing": 1, "part": 1, "too big": 2}
