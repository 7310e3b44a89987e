"""The eval's report: the table of checked numbers (target, anchor, met) and the BENCHMARKS.md section.

``training.evaluate`` computes the numbers; this module only turns a finished report dict into text.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

START, END = "<!-- eval:start -->", "<!-- eval:end -->"

# (results path, label, target, anchor, higher is better, anchor source)
CHECKS: list[tuple[str, str, float | None, float | None, bool, str]] = [
    ("detector.map50", "detector mAP50", 0.85, 0.609, True, "original YOLOv5s, real boards"),
    ("detector.map50_95", "detector mAP50-95", None, 0.511, True, "original"),
    ("detector.precision", "detector precision", None, 0.548, True, "original"),
    ("detector.recall", "detector recall", None, 0.648, True, "original"),
    ("detector.ms_per_image_p50", "detector CPU ms/image (p50)", None, None, False, ""),
    ("autoencoder.{ae}.p5_with_self", "{ae} category P@5, query counted", 0.70, 0.531, True, "original's metric"),
    ("autoencoder.{ae}.p5_without_self", "{ae} category P@5, query excluded", 0.60, 0.41, True, "original, estimated"),
    ("autoencoder.{ae}.recall_at_1", "{ae} item Recall@1 (detector crops)", None, None, True, ""),
    ("autoencoder.{ae}.recall_at_10", "{ae} item Recall@10 (detector crops)", 0.90, None, True, ""),
    ("autoencoder.{ae}.recall_at_10_of_detected", "{ae} item Recall@10 of detected items", None, None, True, ""),
    ("autoencoder.{ae}.mrr", "{ae} item MRR", None, None, True, ""),
    ("autoencoder.{ae}.detection_rate", "{ae} queries found by the detector", None, None, True, ""),
    ("autoencoder.{ae}.index_mb_per_10k_fp32", "{ae} index MB / 10k items (fp32)", None, 20.5, False,
     "original 512-d: 25 MB / 12,225"),
    ("autoencoder.{ae}.index_mb_per_10k_fp16", "{ae} index MB / 10k items (fp16)", None, None, False, ""),
    ("autoencoder.{ae}.crops_per_s", "{ae} embedding crops/s (CPU)", None, None, True, ""),
    ("autoencoder.{base}.p5_with_self", "{base} category P@5, query counted", None, None, True, ""),
    ("autoencoder.{base}.p5_without_self", "{base} category P@5, query excluded", None, None, True, ""),
    ("autoencoder.{base}.recall_at_1", "{base} item Recall@1", None, None, True, ""),
    ("autoencoder.{base}.recall_at_10", "{base} item Recall@10", None, None, True, ""),
    ("autoencoder.{base}.mrr", "{base} item MRR", None, None, True, ""),
    ("autoencoder.{base}.index_mb_per_10k_fp32", "{base} index MB / 10k items (fp32)", None, 163.8, False,
     "original 4096-d baseline"),
    ("autoencoder.{base}.crops_per_s", "{base} embedding crops/s (CPU)", None, None, True, ""),
    ("clip.colour.top1", "CLIP zero-shot colour top-1 (12 colours)", 0.70, None, True, ""),
    ("clip.article_type.top1", "CLIP zero-shot article-type top-1", None, None, True, ""),
    ("clip.text_to_image.recall_at_1", "CLIP text→image Recall@1", None, 0.121, True,
     "Marqo-FashionSigLIP, other data"),
    ("clip.text_to_image.recall_at_10", "CLIP text→image Recall@10", 0.30, 0.340, True,
     "Marqo-FashionSigLIP, other data"),
    ("search.boards.detected", "search: held-out items found by the detector", None, None, True, ""),
    ("search.boards.item_recall_at_10", "search end to end: item Recall@10", 0.90, None, True, ""),
    ("search.boards.category_p_at_5", "search end to end: category P@5", None, None, True, ""),
] + [
    (f"search.color_refinement.modes.{mode}.{what}_p_at_5",
     f"search 'in <colour>': {what.replace('color', 'colour')} P@5, {label}",
     0.80 if mode == "full" else None, None, True, "")
    for mode, label in (("visual", "no re-rank"), ("clip", "CLIP alone"), ("full", "CLIP + parsed filters"))
    for what in ("color", "category")
] + [
    ("words.pixel_colour.agreement", "words: pixel colour = FPI baseColour family (held-out)", None, 0.487, True,
     "previous HSV rules, same 1,500 products"),
    ("words.pixel_colour_in_index.agreement", "words: index colour (pixels + CLIP) = FPI baseColour family", None,
     None, True, ""),
    ("words.in_colour.catalog_colours.color_p_at_5", "words 'in <colour>': colour P@5, catalog colours", 0.95, 0.84,
     True, "before, other pool"),
    ("words.in_colour.pixel_colours.color_p_at_5", "words 'in <colour>': colour P@5, colours from pixels", 0.80, 0.61,
     True, "before, other pool"),
    ("words.in_colour.catalog_colours.category_p_at_5", "words 'in <colour>': category P@5, catalog colours", 0.90,
     None, True, ""),
    ("words.in_colour.pixel_colours.category_p_at_5", "words 'in <colour>': category P@5, colours from pixels", 0.90,
     None, True, ""),
    ("words.relaxation.empty_but_relaxable", "words: empty pages that a relaxed query would fill", 0, None, False, ""),
]



def _get(tree: dict, path: str):
    for part in path.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def clean(obj):
    """JSON-safe copy: numpy → Python, NaN/inf → None, keys starting with '_' (internal arrays) dropped."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return round(obj, 5) if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def merge_reports(old: dict, new: dict) -> dict:
    """``old`` (an earlier full report) with the parts ``new`` (a partial, ``--only`` run) re-measured: those
    parts replaced, the others kept; the pictures united; when and how each re-measured part was run kept in
    ``meta.partial_runs``. The caller rebuilds ``checks`` from the result."""
    import copy

    out = copy.deepcopy(old)
    meta_new = new.get("meta", {})
    parts = [k for k in new if k not in ("meta", "checks", "pictures")]
    for part in parts:
        out[part] = new[part]
    out["pictures"] = list(dict.fromkeys([*old.get("pictures", []), *new.get("pictures", [])]))
    meta = out.setdefault("meta", {})
    runs = meta.setdefault("partial_runs", {})
    for part in parts:
        runs[part] = {k: meta_new.get(k) for k in ("date", "command", "machine", "load_average_1min_at_end")}
        runs[part]["seconds"] = (meta_new.get("timings_s") or {}).get(part)
    meta.setdefault("timings_s", {}).update({k: v for k, v in (meta_new.get("timings_s") or {}).items() if k in parts})
    meta["models"] = {**meta.get("models", {}), **meta_new.get("models", {})}
    meta["notes"] = list(dict.fromkeys([*meta.get("notes", []), *meta_new.get("notes", [])]))
    return out


def build_checks(results: dict, product_ae: str, baseline_ae: str | None) -> list[dict]:
    """Every headline number with its target, anchor and whether the target is met."""
    from stylist.metrics import meets

    checks = []
    for path, label, target, anchor, higher, source in CHECKS:
        if "{base}" in path and not baseline_ae:
            continue
        path = path.format(ae=product_ae, base=baseline_ae)
        label = label.format(ae=product_ae, base=baseline_ae)
        value = _get(results, path)
        if value is None and _get(results, path.rsplit(".", 1)[0]) is None:
            continue  # that part was skipped
        checks.append({"key": path, "metric": label, "value": value, "target": target,
                       "direction": ">=" if higher else "<=", "anchor": anchor, "anchor_source": source,
                       "met": meets(value, target, higher)})
    if results.get("wild"):
        from training.eval_wild import flat_checks

        for key, label, value, target in flat_checks(results["wild"]):
            checks.append({"key": key, "metric": label, "value": value, "target": target, "direction": ">=",
                           "anchor": None, "anchor_source": "", "met": meets(value, target, True)})
    for name, entry in (results.get("search") or {}).items():
        if isinstance(entry, dict) and "value" in entry:  # the search eval reports {value, target, ...} entries
            target = entry.get("target")
            higher = entry.get("direction", ">=") != "<="
            checks.append({"key": f"search.{name}", "metric": entry.get("metric", f"search {name}"),
                           "value": entry["value"], "target": target, "direction": ">=" if higher else "<=",
                           "anchor": entry.get("anchor"), "anchor_source": entry.get("anchor_source", ""),
                           "met": entry.get("met", meets(entry["value"], target, higher))})
    return checks


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.{digits}f}"
    return str(v)


def _met(m) -> str:
    return {True: "yes", False: "NO", None: ""}[m]


def format_table(checks: list[dict]) -> str:
    """The plain-text table printed at the end of a run."""
    rows = [("metric", "value", "target", "anchor", "met")]
    for c in checks:
        target = f"{c['direction']} {_fmt(c['target'])}" if c["target"] is not None else ""
        rows.append((c["metric"], _fmt(c["value"]), target, _fmt(c["anchor"]) if c["anchor"] is not None else "",
                     _met(c["met"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def protocol_lines(report: dict) -> list[str]:
    """What each number was measured on, in words (sizes read from the report itself)."""
    lines = []
    det = report.get("detector") or {}
    if det:
        styles = ", ".join(f"{n} {s}" for s, n in det["boards"].get("styles", {}).items())
        lines.append(f"Detector: ultralytics val on {det['boards']['test_boards']} held-out boards ({styles}), "
                     f"{det['instances']} boxes, imgsz {det.get('imgsz')}; CPU ms/image = `Detector.detect` per board "
                     f"at serving size and confidence {det.get('conf')}.")
    aes = report.get("autoencoder") or {}
    if aes:
        a = next(iter(aes.values()))
        lines.append(f"Autoencoders: index = {a['index_size']:,} CTL crops (the whole catalogue); category P@5 uses "
                     f"every index vector as a query. Item retrieval: {a['queries']:,} held-out products on the test "
                     f"boards, each cut by the detector's best box (IoU ≥ 0.5; a miss counts as failure), downscaled "
                     f"×0.75 and JPEG q75 re-encoded, ranked against the full index ({a.get('not_indexed_boxes', 0)} "
                     "Fashion-MNIST demo boxes are not in the index and are left out).")
    clip = report.get("clip") or {}
    if clip:
        t2i = clip["text_to_image"]
        lines.append(f"CLIP: {clip['test_products']:,} held-out FPI products. Colour: top-1 over the "
                     f"{len(clip['colour']['classes'])} commonest base colours ({clip['colour']['n']:,} products, "
                     f"4 prompt templates averaged). Article type: top-1 over the {len(clip['article_type']['classes'])} "
                     f"types present in the test split (chance {clip['article_type']['chance'] or 0:.3f}). "
                     f"Text→image: {t2i['queries']:,} distinct held-out titles against a gallery of {t2i['gallery']:,} "
                     "held-out images; any image with the query's exact title is a hit.")
    wild = report.get("wild") or {}
    if wild.get("real"):
        lines.append(f"In the wild: {wild['real']['photos']} held-out CC0 photos (one garment on a bed/floor/hanger; "
                     "labels = fused class of the highest-scoring item, top-5 = majority category of the first 5 "
                     f"products, whole photo when nothing is found); {wild['composites'].get('composites', 0)} held-out "
                     "CTL products on held-out photo backgrounds (shadow, relight, rotation), searched through the "
                     f"detector; {wild['boards'].get('boards', 0)} held-out boards with unlabelled distractors (class-"
                     "agnostic greedy matching at IoU 0.5). Index: the CTL catalog (training.eval_wild).")
    search = report.get("search") or {}
    if search.get("skipped"):
        lines.append(f"Search: skipped — {search['skipped']}")
    elif search:
        lines.append("Search: `training.eval_search.evaluate_search` end to end through the Chroma "
                     "index, on the same test boards; colour refinement on held-out FPI queries.")
    words = report.get("words") or {}
    if words.get("in_colour"):
        c = words["in_colour"]["catalog_colours"]
        lines.append(f"Words: `training.eval_words` — pixel colour on {words['pixel_colour']['products']:,} held-out "
                     f"FPI products; 'in <colour>' on {c['queries']} held-out FPI items (whole image) against "
                     f"{words['indexes']['catalog_colours']['products']:,} other held-out FPI products, once with the "
                     "catalog's colour column and once with it dropped (colours read from pixels, CLIP as a second "
                     "opinion); colour judged by the products' true colour; relaxation on queries the catalog (no "
                     "prices) cannot fully satisfy.")
    return lines


def markdown_section(report: dict, pictures_dir: str | None = None) -> str:
    """The BENCHMARKS.md results section: headline table, per-class tables, where the pictures are
    (``pictures_dir`` as seen from the markdown file; default the report folder as given)."""
    meta = report["meta"]
    pictures_dir = pictures_dir or meta["out"]
    lines = [
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}` in {meta['runtime_s']:.0f} s "
        f"(models: {', '.join(f'{k} = {v}' for k, v in meta['models'].items())}).",
        f"Held-out data: {meta['held_out']}",
        "",
    ]
    timings = ", ".join(f"{k} {v:.0f} s" for k, v in meta.get("timings_s", {}).items())
    lines += [f"Time per part: {timings} (load average {meta.get('load_average_1min_at_end')} at the end: "
              "CPU speeds are from a shared 2-core machine).", ""]
    for part, run in (meta.get("partial_runs") or {}).items():
        lines += [f"Part `{part}` re-measured {run.get('date')} with `{run.get('command')}` (load average "
                  f"{run.get('load_average_1min_at_end')} at the end); the other parts are from the run above.", ""]
    if meta.get("quick"):
        lines += ["**`--quick` run: subsampled smoke test, not the reported numbers.**", ""]
    lines += [f"- {p}" for p in protocol_lines(report)] + [""]
    with_target = [c for c in report["checks"] if c["met"] is not None]
    if with_target:
        lines += [f"Targets met: {sum(c['met'] for c in with_target)} of {len(with_target)}.", ""]
    lines += ["| metric | value | target | anchor | met |", "|---|---|---|---|---|"]
    for c in report["checks"]:
        target = f"{c['direction']} {_fmt(c['target'])}" if c["target"] is not None else ""
        anchor = f"{_fmt(c['anchor'])} ({c['anchor_source']})" if c["anchor"] is not None else ""
        lines.append(f"| {c['metric']} | {_fmt(c['value'])} | {target} | {anchor} | {_met(c['met'])} |")
    det = report.get("detector") or {}
    if det.get("per_class"):
        lines += ["", "Detector per class (held-out test boards):", "",
                  "| class | instances | mAP50 | mAP50-95 | P | R |", "|---|---|---|---|---|---|"]
        for cls, m in det["per_class"].items():
            lines.append(f"| {cls} | {m['instances']} | {_fmt(m['map50'])} | {_fmt(m['map50_95'])} | "
                         f"{_fmt(m['precision'])} | {_fmt(m['recall'])} |")
    aes = report.get("autoencoder") or {}
    if aes:
        names = list(aes)
        lines += ["", "Autoencoder category P@5 (query excluded) per class, whole CTL catalog as index:", "",
                  "| class | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        classes = sorted({c for a in aes.values() for c in a.get("p5_without_self_per_class", {})})
        for cls in classes:
            lines.append(f"| {cls} | " + " | ".join(_fmt(aes[n]["p5_without_self_per_class"].get(cls)) for n in names) + " |")
    per_type = ((report.get("wild") or {}).get("real") or {}).get("per_garment_type") or {}
    if per_type:
        lines += ["", "In the wild, real photos per garment type (held-out CC0 photos):", "",
                  "| garment type | class | photos | ≥ 1 detection | fused label right | top-5 majority right |",
                  "|---|---|---|---|---|---|"]
        for g, m in per_type.items():
            lines.append(f"| {g} | {m['class']} | {m['n']} | {_fmt(m['detected'])} | {_fmt(m['label_accuracy'])} | "
                         f"{_fmt(m['top5_majority'])} |")
    if (report.get("words") or {}).get("phrases"):
        from training.eval_words import phrase_lines

        lines += ["", "What 30 phrases were understood as (on the FPI catalog, which has no prices):", "",
                  *phrase_lines(report["words"]["phrases"])]
    if report.get("pictures"):
        lines += ["", "Pictures: " + ", ".join(f"[{p}]({pictures_dir}/{p})" for p in report["pictures"]) + "."]
    for note in meta.get("notes", []):
        lines += ["", f"Note: {note}"]
    return "\n".join(lines)


def update_benchmarks(path: Path, section: str, markers: tuple[str, str] = (START, END)) -> None:
    """Replace only the text between the markers (append the markers at the end when missing)."""
    opening, closing = markers
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find(opening), text.find(closing)
    if start >= 0 and end > start:
        text = f"{text[:start + len(opening)]}\n{section}\n{text[end:]}"
    else:
        text = f"{text.rstrip()}\n\n" if text.strip() else ""
        text += f"{opening}\n{section}\n{closing}\n"
    path.write_text(text, encoding="utf-8")
