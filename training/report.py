"""Pictures for the evaluation report: training curves, detection examples, retrieval and text-query sheets."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from stylist.draw import LabelledBox, draw_boxes as draw_labelled
from stylist.images import load_image

GREEN, RED, ORANGE, GREY = (20, 170, 60), (220, 40, 40), (240, 150, 20), (200, 200, 200)
CELL = 128
BOOKKEEPING = {"step", "seconds", "time"}  # log columns that are counters, not training curves


def _font(size: int = 12) -> ImageFont.ImageFont:
    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def _thumb(img: Image.Image, side: int = CELL) -> Image.Image:
    """``img`` fitted into a white ``side``×``side`` square."""
    img = img.convert("RGB").copy()
    img.thumbnail((side, side))
    canvas = Image.new("RGB", (side, side), "white")
    canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return canvas


def _outline(img: Image.Image, colour: tuple[int, int, int], width: int = 4) -> Image.Image:
    ImageDraw.Draw(img).rectangle([0, 0, img.width - 1, img.height - 1], outline=colour, width=width)
    return img


# --- training curves ---------------------------------------------------------------------------------
def read_log(path: Path) -> dict[str, list[float]]:
    """Numeric columns of a training log (CSV, or JSON lines), in file order; blanks become NaN.

    Validation metrics are often logged only every few epochs, so a column is kept when at least two rows
    hold a number. CSV headers are stripped (ultralytics pads them with spaces).
    """
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [r for r in rows if isinstance(r, dict)]
    else:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    cols: dict[str, list[float]] = {}
    for key in keys:
        values = []
        for r in rows:
            try:
                values.append(float(r.get(key)))
            except (TypeError, ValueError):
                values.append(float("nan"))
        if sum(math.isfinite(v) for v in values) >= 2:
            cols[key] = values
    return cols


def plot_training_curves(weights_dir: Path, out_dir: Path) -> list[Path]:
    """One figure per training log (*.csv, *.jsonl) found next to the weights: every numeric column against the
    first (epoch or step). Returns the PNGs written (none when no logs are bundled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    weights_dir = Path(weights_dir)
    logs = sorted([*weights_dir.rglob("*.csv"), *weights_dir.rglob("*.jsonl")])
    for path in logs:
        try:
            cols = read_log(path)
        except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError):
            continue
        if len(cols) < 2 or len(next(iter(cols.values()))) < 2:
            continue
        x_name, *series = list(cols)
        series = [s for s in series if s not in BOOKKEEPING and len({v for v in cols[s] if math.isfinite(v)}) > 1][:16]
        if not series:
            continue
        ncol = min(4, len(series))
        nrow = math.ceil(len(series) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False)
        for ax, name in zip(axes.flat, series):
            xs, ys = zip(*[(x, y) for x, y in zip(cols[x_name], cols[name]) if math.isfinite(y)])
            ax.plot(xs, ys, marker=".", linewidth=1)
            ax.set_title(name, fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(series):]:
            ax.axis("off")
        fig.suptitle(f"{path.relative_to(weights_dir)} (x = {x_name})", fontsize=10)
        fig.tight_layout()
        stem = "_".join(path.relative_to(weights_dir).with_suffix("").parts).replace(".", "_")
        out = out_dir / f"curves_{stem}.png"
        fig.savefig(out, dpi=90)
        plt.close(fig)
        written.append(out)
    return written


# --- detection examples --------------------------------------------------------------------------------
def draw_boxes(img: Image.Image, true_boxes: Sequence[dict], detections: Sequence) -> Image.Image:
    """True boxes in green (category), predictions in red (label score)."""
    boxes = [LabelledBox(tuple(t["box"]), t["category"], GREEN) for t in true_boxes]
    boxes += [LabelledBox(d.box, f"{d.label} {d.score:.2f}", RED) for d in detections]
    return draw_labelled(img, boxes, width=2, font_size=11)


def detection_examples(boards, images, detections, classes: Sequence[str], out: Path, side: int = 320) -> Path | None:
    """One test board per class (the first that holds it), true vs predicted boxes, in one grid."""
    panels, used = [], set()
    for cls in classes:
        holding = [i for i, board in enumerate(boards) if any(b["category"] == cls for b in board.boxes)]
        fresh = [i for i in holding if i not in used]
        if not holding:
            continue
        i = (fresh or holding)[0]  # a board not shown yet when there is one
        used.add(i)
        panel = _thumb(draw_boxes(images[i], boards[i].boxes, detections[i]), side)
        ImageDraw.Draw(panel).text((4, side - 16), cls, fill=(0, 0, 0), font=_font(12))
        panels.append(panel)
    if not panels:
        return None
    cols = 4
    sheet = Image.new("RGB", (cols * side, math.ceil(len(panels) / cols) * side), "white")
    for i, p in enumerate(panels):
        sheet.paste(_outline(p, GREY, 1), ((i % cols) * side, (i // cols) * side))
    sheet.save(out)
    return out


# --- retrieval contact sheet -----------------------------------------------------------------------------
def retrieval_sheet(queries: Sequence[Image.Image], query_rows: Sequence[int], top_rows, index_paths: Sequence[Path],
                    index_labels: Sequence[str], query_labels: Sequence[str], out: Path, title: str) -> Path | None:
    """Query crop → its top 10 in the index: the exact product outlined green, same category orange."""
    if not queries:
        return None
    k = top_rows.shape[1]
    head = 22
    sheet = Image.new("RGB", ((k + 1) * CELL + 8, head + len(queries) * CELL), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"{title}  —  query | top {k} (green = the same product, orange = same category)",
              fill=(0, 0, 0), font=_font(12))
    for r, (q, target, top, q_label) in enumerate(zip(queries, query_rows, top_rows, query_labels)):
        y = head + r * CELL
        sheet.paste(_outline(_thumb(q), (60, 60, 200), 3), (0, y))
        for c, row in enumerate(top):
            if row < 0:
                continue
            cell = _thumb(load_image(index_paths[row]))
            if row == target:
                _outline(cell, GREEN, 6)
            elif index_labels[row] == q_label:
                _outline(cell, ORANGE, 2)
            sheet.paste(cell, (8 + (c + 1) * CELL, y))
    sheet.save(out)
    return out


# --- text queries ------------------------------------------------------------------------------------------
def text_query_sheet(texts: Sequence[str], top_rows, gallery_paths: Sequence[Path], hits, out: Path, k: int = 8) -> Path | None:
    """Each text query → its top ``k`` images; ``hits[i][j]`` outlines result j of query i green when relevant."""
    if not texts:
        return None
    label_w, head = 240, 22
    sheet = Image.new("RGB", (label_w + k * CELL, head + len(texts) * CELL), "white")
    draw, font = ImageDraw.Draw(sheet), _font(13)
    draw.text((4, 4), f"text → top {k} held-out images (green = relevant: the colour or title asked for)",
              fill=(0, 0, 0), font=_font(12))
    for r, (text, rows) in enumerate(zip(texts, top_rows)):
        y = head + r * CELL
        words, line, lines = text.split(), "", []
        for w in words:
            if len(line) + len(w) > 26:
                lines.append(line)
                line = ""
            line = f"{line} {w}".strip()
        lines.append(line)
        draw.multiline_text((6, y + 8), "\n".join(lines[:6]), fill=(0, 0, 0), font=font)
        for c, row in enumerate(rows[:k]):
            cell = _thumb(load_image(gallery_paths[row]))
            if hits[r][c]:
                _outline(cell, GREEN, 5)
            sheet.paste(cell, (label_w + c * CELL, y))
    sheet.save(out)
    return out
