"""Text–image model quality on held-out FPI products: zero-shot colour and article-type top-1, and
text→image Recall@k of held-out titles against the held-out images."""
from __future__ import annotations

import time
from collections import Counter
from typing import Sequence

import numpy as np
from tqdm import tqdm

from stylist import metrics
from stylist.images import load_image

COLOUR_TEMPLATES = ("a photo of a {} product", "a {} fashion item", "a product in {}", "{} clothing")
ARTICLE_TEMPLATES = ("a photo of a {}", "a product photo of {}", "{}")
N_COLOURS = 12


def top_colours(items: Sequence, n: int = N_COLOURS) -> list[str]:
    """The ``n`` most common base colours over the whole FPI catalogue (fixed, whatever the test subset)."""
    counts = Counter(it.color for it in items if it.color and it.color.upper() != "NA")
    return [c for c, _ in counts.most_common(n)]


def _norm_title(title: str) -> str:
    return " ".join(title.lower().split())


def _prompt_embeddings(clip, classes: Sequence[str], templates: Sequence[str]) -> np.ndarray | None:
    """(classes, templates, dim) text embeddings of every prompt (None when there are no classes)."""
    if not classes:
        return None
    texts = [t.format(c.lower()) for c in classes for t in templates]
    return clip.embed_texts(texts).reshape(len(classes), len(templates), -1)


def embed_images(clip, items: Sequence, chunk: int = 256) -> tuple[np.ndarray, float]:
    """CLIP image vectors of the items' photos; returns (vectors, seconds spent in the model)."""
    out, spent = [], 0.0
    for start in tqdm(range(0, len(items), chunk), desc=f"clip images {clip.name}", unit=f"×{chunk}"):
        imgs = [load_image(it.path) for it in items[start:start + chunk]]
        t = time.perf_counter()
        out.append(clip.embed_images(imgs))
        spent += time.perf_counter() - t
    return (np.concatenate(out) if out else np.zeros((0, clip.dim), np.float32)), spent


def zero_shot(image_emb: np.ndarray, labels: Sequence[str], classes: Sequence[str], class_prompts) -> dict:
    """Top-1 over ``classes`` for the items whose label is one of them, with per-class accuracy and chance level."""
    keep = [i for i, lab in enumerate(labels) if lab in classes]
    if not keep:
        return {"top1": float("nan"), "n": 0, "classes": list(classes), "chance": float("nan"), "per_class": {},
                "_pred": np.zeros(0, dtype=int), "_rows": keep}
    y = np.asarray([classes.index(labels[i]) for i in keep], dtype=np.int64)
    scores = metrics.zero_shot_scores(image_emb[keep], class_prompts)
    hit = (scores.argmax(axis=1) == y).astype(float)
    return {"top1": metrics.top1_accuracy(scores, y), "n": len(keep), "classes": list(classes),
            "chance": 1.0 / len(classes), "per_class": metrics.per_class_mean(hit, [classes[k] for k in y]),
            "_pred": scores.argmax(axis=1), "_rows": keep}


def text_to_image(clip, items: Sequence, image_emb: np.ndarray) -> dict:
    """Each distinct held-out title as a query against all held-out images; any image with that exact title is a hit.

    FPI repeats titles ("Nike Men Black T-shirt"), so one-to-one pairing would punish the model for tying among
    identical captions; grouping by title is the fair version of the standard protocol.
    """
    titles = [_norm_title(it.title) for it in items]
    unique = sorted(set(t for t in titles if t))
    if not unique:
        return {"queries": 0, "gallery": len(items), "recall_at_1": float("nan"), "recall_at_5": float("nan"),
                "recall_at_10": float("nan")}
    col = {t: i for i, t in enumerate(unique)}
    relevant = np.zeros((len(unique), len(items)), dtype=bool)
    for j, t in enumerate(titles):
        if t:
            relevant[col[t], j] = True
    text_emb = clip.embed_texts(unique)
    scores = text_emb @ image_emb.T
    return {"queries": len(unique), "gallery": len(items),
            "recall_at_1": metrics.recall_at_k_multi(scores, relevant, 1),
            "recall_at_5": metrics.recall_at_k_multi(scores, relevant, 5),
            "recall_at_10": metrics.recall_at_k_multi(scores, relevant, 10)}


def evaluate_clip(clip, test_items: Sequence, colours: Sequence[str], min_article: int = 1) -> tuple[dict, np.ndarray]:
    """Every CLIP number of the eval; also returns the test image vectors (for the text-query pictures).

    Article types: every type present among the held-out products (at least ``min_article`` of them) — harder
    than a top-N list and stated with its class count and chance level.
    """
    image_emb, seconds = embed_images(clip, test_items)
    colour = zero_shot(image_emb, [it.color for it in test_items], list(colours),
                       _prompt_embeddings(clip, colours, COLOUR_TEMPLATES))
    counts = Counter(it.article_type for it in test_items if it.article_type)
    articles = sorted(a for a, n in counts.items() if n >= min_article)
    article = zero_shot(image_emb, [it.article_type for it in test_items], articles,
                        _prompt_embeddings(clip, articles, ARTICLE_TEMPLATES))
    article.pop("per_class")  # ~100 types: too long for the report; the top-1 and count say enough
    result = {"model": clip.name, "test_products": len(test_items), "colour": colour, "article_type": article,
              "text_to_image": text_to_image(clip, test_items, image_emb),
              "images_per_s": len(test_items) / seconds if seconds > 0 else float("nan")}
    return result, image_emb
