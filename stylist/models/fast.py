"""Serving from the ONNX exports without torch: the crop embedder and a CLIP whose torch model loads on demand.

``registry.load_embedder`` / ``load_clip`` return these when the runtime is ONNX Runtime (or OpenVINO) and
an export with its manifest is already in the cache (``stylist.models.export`` writes both the first time).
A search then imports neither torch nor open_clip: the detector and the embedder run in ONNX Runtime, the
candidates' CLIP vectors come from the index and common words' text vectors from the vocabulary cache.
Only words never seen before load the CLIP text tower (torch), once.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from stylist.metrics import l2_normalize

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def preprocess_cfg(arch: dict) -> dict:
    """fashion-lite's image preprocessing (open_clip's format). Product photos: pad to square on white (no
    centre crop cutting off shoes or hems), OpenAI stats."""
    return {"resize_mode": "longest", "fill_color": 255, "mean": OPENAI_MEAN, "std": OPENAI_STD,
            "size": arch["vision_cfg"]["image_size"]}


class SquarePreprocess:
    """The autoencoder's preprocessing in numpy: pad to square on the background colour, resize (bilinear)
    to S, scale to [0, 1]. The one home of these steps: ``stylist.models.autoencoder.Preprocess`` (the torch
    side) inherits them, so serving with or without torch sees the same pixels."""

    def __init__(self, image_size: int, background: Sequence[int]):
        self.image_size = int(image_size)
        self.background = tuple(int(v) for v in background)

    def pad_square(self, img: Image.Image) -> Image.Image:
        """The crop as RGB, centred on a square of the background colour (unchanged when already square)."""
        img = img.convert("RGB")
        if img.width == img.height:
            return img
        side = max(img.size)
        canvas = Image.new("RGB", (side, side), self.background)
        canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
        return canvas

    def square(self, img: Image.Image) -> Image.Image:
        """The crop padded and resized to S×S (what the network sees, before scaling to [0, 1])."""
        return self.pad_square(img).resize((self.image_size, self.image_size), Image.BILINEAR)

    def batch(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        """N crops → N×3×S×S float32: uint8 rows are stacked first and scaled once (torch.stack of float
        tensors cost ~3 ms per crop on 2 busy cores)."""
        arr = np.stack([np.asarray(self.square(im)) for im in imgs])
        return arr.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)


class ClipImagePreprocess:
    """open_clip's image preprocessing for ``resize_mode="longest"`` in PIL + numpy, without torch: resize the
    longest side to S keeping the ratio (bicubic, sides rounded as open_clip's ResizeKeepRatio), pad to S×S
    centred on ``fill`` (its CenterCropOrPad), RGB, scale to [0, 1], normalise. ``export.accelerate_clip``
    records these fields only after checking them equal to open_clip's transform on probe images."""

    def __init__(self, spec: dict):
        self.size = int(spec["size"])
        self.fill = int(spec["fill"])
        self.mean = np.asarray(spec["mean"], np.float32)[None, :, None, None]
        self.std = np.asarray(spec["std"], np.float32)[None, :, None, None]

    def square(self, img: Image.Image) -> Image.Image:
        img = img.convert("RGB")
        ratio = max(img.height / self.size, img.width / self.size)
        h, w = round(img.height / ratio), round(img.width / ratio)
        img = img.resize((w, h), Image.BICUBIC)
        if (w, h) == (self.size, self.size):
            return img
        canvas = Image.new("RGB", (self.size, self.size), (self.fill,) * 3)
        canvas.paste(img, ((self.size - w) // 2, (self.size - h) // 2))
        return canvas

    def batch(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        arr = np.stack([np.asarray(self.square(im)) for im in imgs]).transpose(0, 3, 1, 2).astype(np.float32)
        return (arr / np.float32(255.0) - self.mean) / self.std


class OnnxEmbedder:
    """The crop embedder served from its ONNX export (``embed``, ``name``, ``dim``, ``classes`` as ImageEmbedder)."""

    def __init__(self, runner, manifest: dict, batch_size: int = 64):
        self.runner = runner
        self.name = manifest["name"]
        self.dim = int(manifest["dim"])
        self.classes = tuple(manifest.get("classes") or ())
        self.weights_digest = manifest["digest"]  # what stylist.models.signature reads instead of the weights
        head = manifest.get("head")  # the category head (weight, bias), for label fusion
        self.head = None if not head else (np.asarray(head[0], np.float32), np.asarray(head[1], np.float32))
        self.preprocess = SquarePreprocess(manifest["image_size"], manifest["background"])
        self.device = "cpu"
        self.batch_size = batch_size

    def embed(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        """N crops → N×dim float32, each row L2-normalised."""
        if not imgs:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self.runner(self.preprocess.batch(imgs[s:s + self.batch_size]))
               for s in range(0, len(imgs), self.batch_size)]
        return l2_normalize(np.concatenate(out))


def clean_text(text: str) -> str:
    """open_clip's "whitespace" cleaning of a prompt: fix mojibake, unescape HTML twice, collapse spaces."""
    import html

    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).strip()


class TextRunner:
    """CLIP's text tower from its ONNX export with the model's own tokenizer.json (the ``tokenizers`` library,
    no transformers/torch): same ids as open_clip's HFTokenizer and same vectors (checked at export time)."""

    def __init__(self, runner, fields: dict):
        from tokenizers import Tokenizer

        self.runner = runner
        self.context_length = int(fields["context_length"])
        self.tokenizer = Tokenizer.from_file(fields["tokenizer_json"])
        self.tokenizer.enable_truncation(max_length=self.context_length)
        self.tokenizer.enable_padding(length=self.context_length, pad_id=int(fields["pad_id"]))

    def tokenize(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch([clean_text(t) for t in texts])
        return np.asarray([e.ids for e in encoded], dtype=np.int64)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        return l2_normalize(self.runner.session.run(None, {"ids": self.tokenize(texts)})[0])


class LazyClip:
    """A CLIP that knows its name, size and weight digests from the manifest and loads the torch model
    (``load``) only when text or images must actually be embedded."""

    def __init__(self, manifest: dict, load: Callable[[], object],
                 text: "TextRunner | Callable[[], TextRunner] | None" = None, image=None):
        self.name = manifest["name"]
        # words without torch, when the text tower was exported; a factory opens that session on first use
        # (~0.2 s of CPU a one-off search skips when its words' vectors are cached)
        self._text = text if text is None or isinstance(text, TextRunner) else None
        self._make_text = None if text is None or isinstance(text, TextRunner) else text
        self._text_lock = threading.Lock()
        spec = manifest.get("image_preprocess")
        # images without torch, when the export recorded (and checked) the image preprocessing
        self.image_runner = image if spec else None
        self.image_preprocess = ClipImagePreprocess(spec) if spec else None
        self.batch_size = 64
        self._dim = int(manifest["dim"])
        self.visual_digest = manifest["visual_digest"]
        self.text_digest = manifest["text_digest"]
        self.text_cache: Path | None = None  # where text vectors that never change are kept (set by load_clip)
        self._load = load
        self._real = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def real(self):
        """The full ClipModel (torch), loaded on first use."""
        with self._lock:
            if self._real is None:
                self._real = self._load()
        return self._real

    @property
    def text_runner(self) -> "TextRunner | None":
        """The ONNX text tower (opened on first use), or None when it was not exported."""
        if self._text is None and self._make_text is not None:
            with self._text_lock:
                if self._text is None:
                    self._text = self._make_text()
        return self._text

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if self.text_runner is not None:
            return self.text_runner(list(texts))
        return self.real.embed_texts(texts)

    def embed_images(self, imgs: Sequence[Image.Image]) -> np.ndarray:
        if self.image_runner is None:
            return self.real.embed_images(imgs)
        if not len(imgs):
            return np.zeros((0, self.dim), np.float32)
        out = [self.image_runner(self.image_preprocess.batch(imgs[s:s + self.batch_size]))
               for s in range(0, len(imgs), self.batch_size)]
        return l2_normalize(np.concatenate(out))

    def __getattr__(self, name: str):  # model, preprocess, tokenizer, logit_scale...: the real model's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real, name)
