"""The catalog index: visual vectors + metadata in a ChromaDB collection, CLIP image vectors beside it.

Embedded ``PersistentClient(config.db_dir)`` by default; a Chroma server (``chroma run``) when
``config.chroma_url`` is set — the way a user outgrows one machine. The CLIP image vectors (same ids) live
in ``<collection>-clip.npz`` inside the embedded store's folder (float16, exact search:
stylist.vector_file), and in a second Chroma collection on a server. Every write is batched within
``client.get_max_batch_size()`` (the limit differs between Chroma builds). A product counts as indexed
only when both hold it (the visual side with the current fingerprint), so an interrupted build can resume.
"""
from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping, Sequence
from urllib.parse import urlparse

import numpy as np

from stylist.config import Config
from stylist.errors import EmptyIndexError, IndexUnavailableError
from stylist.hits import Hit
from stylist.schema import CLIP_SUFFIX, VISUAL_SUFFIX
from stylist.stored_metadata import clean_metadata, pack_metadata, unpack_metadata
from stylist.vector_file import VectorFile, VectorFileError

VISUAL, CLIP = "visual", "clip"
COUNT_TTL_S = 5.0  # a query trusts a collection count this old (writes in this process reset it)
# Appended to the recorded model signature while a build that changes models has not finished
# re-embedding every product: searches refuse such an index (old and new vectors side by side).
UNFINISHED = " (unfinished build)"
PROFILE_KEY = "catalog_profile"  # collection metadata: the catalog profile stored by the last build
# The CLIP vectors keep only what their `where` filters need; the visual collection holds the full metadata.
CLIP_META_KEYS = ("category", "color", "color_confidence", "price")  # text-only search's filters; no fingerprint
# sync_threshold: Chroma keeps every written vector a second time in its sqlite log until the HNSW index
# is persisted (by default every 1,000 writes); persisting every 256 leaves at most that many duplicates
# on disk after a build (was ~3.4 MB per 11k products) at no measurable cost to the build.
_SPACE = {"hnsw": {"space": "cosine", "ef_search": 200, "sync_threshold": 256, "batch_size": 128}}


def _settings():
    import chromadb

    return chromadb.Settings(anonymized_telemetry=False)  # offline: no telemetry calls


@contextlib.contextmanager
def _guard(location: str) -> Iterator[None]:
    """Turn a dropped server connection into IndexUnavailableError naming where the index lives."""
    try:
        yield
    except IndexUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - httpx/chromadb raise many types for a dead server
        text = f"{type(exc).__name__}: {exc}"
        if any(word in text.lower() for word in ("connect", "connection", "timed out", "timeout", "refused")):
            raise IndexUnavailableError(f"cannot reach the Chroma server at {location} ({exc})") from exc
        raise


class CatalogStore:
    """The visual collection and the CLIP vectors of one catalog; thread-safe (Chroma clients are), one
    writing process per embedded path (index.lock)."""

    def __init__(self, client, collection: str, location: str, path: Path | None = None):
        self.client = client
        self.name = collection
        self.location = location
        self.path = path
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # kind -> (count, when read)
        with _guard(location):
            self.max_batch = int(client.get_max_batch_size())
            self.visual = client.get_or_create_collection(collection + VISUAL_SUFFIX, configuration=_SPACE,
                                                          embedding_function=None)
            if path is None:  # a server: its disk is not ours, the CLIP vectors stay a collection there
                self.clip = client.get_or_create_collection(collection + CLIP_SUFFIX, configuration=_SPACE,
                                                            embedding_function=None)
            else:
                self.clip = VectorFile(path / f"{collection}{CLIP_SUFFIX}.npz", collection + CLIP_SUFFIX)
            self.legacy_clip = self._legacy_collection() if path is not None else None

    @classmethod
    def open(cls, config: Config) -> "CatalogStore":
        """Connect to the server at ``config.chroma_url`` or open the embedded store at ``config.db_dir``."""
        import chromadb

        if config.chroma_url:
            url = config.chroma_url
            parsed = urlparse(url if "://" in url else f"http://{url}")
            if not parsed.hostname:
                raise IndexUnavailableError(f"STYLIST_CHROMA_URL={url!r} is not a URL like http://127.0.0.1:8000")
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
            try:
                client = chromadb.HttpClient(host=parsed.hostname, port=port, ssl=parsed.scheme == "https",
                                             settings=_settings())
            except Exception as exc:  # noqa: BLE001 - ValueError/ConnectError/... all mean "not there"
                raise IndexUnavailableError(f"cannot reach the Chroma server at {url} ({exc})") from exc
            return cls(client, config.collection, url)
        path = Path(config.db_dir)
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=_settings())
        except Exception as exc:  # noqa: BLE001
            raise IndexUnavailableError(f"cannot open the index at {path} ({exc})") from exc
        return cls(client, config.collection, str(path), path)

    def _col(self, kind: str):
        return self.visual if kind == VISUAL else self.clip

    def _legacy_collection(self):
        """The CLIP collection an embedded index of the earlier layout keeps in Chroma, or None."""
        try:
            return self.client.get_collection(self.name + CLIP_SUFFIX, embedding_function=None)
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError (or ValueError in older builds)
            return None

    def migrate_legacy(self) -> int:
        """Move the CLIP vectors of an earlier-layout index from their Chroma collection into the vector file
        (nothing re-embedded) and drop that collection; returns how many moved. Call under the build lock."""
        legacy = self.legacy_clip
        if legacy is None:
            return 0
        with self._lock, _guard(self.location):
            moved = 0
            for page in self._pages(legacy, ["embeddings", "metadatas"]):
                if page["ids"]:
                    self.clip.upsert(ids=page["ids"], embeddings=np.asarray(page["embeddings"], np.float32),
                                     metadatas=page["metadatas"])
                    moved += len(page["ids"])
            self.client.delete_collection(legacy.name)
            self.legacy_clip = None
        self._counts.clear()
        return moved

    # --- reading -------------------------------------------------------------------------------------
    def count(self) -> int:
        """Products present on both sides, visual and CLIP (a half-written batch is not counted)."""
        with _guard(self.location):
            return min(self.visual.count(), self.clip.count())

    def _pages(self, col, include: list[str]) -> Iterator[dict]:
        total = col.count()
        for offset in range(0, total, self.max_batch):
            yield col.get(limit=self.max_batch, offset=offset, include=include)

    def pages(self, kind: str, include: list[str]) -> Iterator[dict]:
        """Every row of the visual or CLIP collection, ``max_batch`` at a time (``include``: what besides ids)."""
        for page in self._pages(self._col(kind), include):
            if kind == VISUAL and "metadatas" in include:
                page = {**page, "metadatas": [unpack_metadata(m) for m in page["metadatas"]]}
            yield page

    def fingerprints(self) -> dict[str, str]:
        """id -> fingerprint of products fully indexed. Only the visual collection stores the fingerprint:
        writes go CLIP first, so a visual row with the current fingerprint means its CLIP row was written
        too; a product whose CLIP row is missing (deleted half-way) is not counted."""
        with _guard(self.location):
            vis = {i: (m or {}).get("fingerprint", "") for p in self._pages(self.visual, ["metadatas"])
                   for i, m in zip(p["ids"], p["metadatas"])}
            clip = {i for p in self._pages(self.clip, []) for i in p["ids"]}
        return {i: fp for i, fp in vis.items() if fp and i in clip}

    def all_ids(self) -> set[str]:
        """Every id in either collection (a product written to only one of them included)."""
        with _guard(self.location):
            return {i for col in (self.visual, self.clip) for p in self._pages(col, []) for i in p["ids"]}

    def all_metadata(self) -> dict[str, dict]:
        with _guard(self.location):
            return {i: m for p in self.pages(VISUAL, ["metadatas"]) for i, m in zip(p["ids"], p["metadatas"])}

    def metadatas(self, ids: Sequence[str]) -> dict[str, dict]:
        """Full metadata (from the visual collection) for ``ids``."""
        out: dict[str, dict] = {}
        with _guard(self.location):
            for start in range(0, len(ids), self.max_batch):
                res = self.visual.get(ids=list(ids[start:start + self.max_batch]), include=["metadatas"])
                out.update(zip(res["ids"], (unpack_metadata(m) for m in res["metadatas"])))
        return out

    def query(self, kind: str, vector: np.ndarray, n: int, where: dict | None = None) -> list[Hit]:
        """Nearest ``n`` products to ``vector`` in the visual or CLIP collection, optionally filtered."""
        return self.query_many(kind, np.asarray(vector, dtype=np.float32)[None, :], n, where)[0]

    def query_many(self, kind: str, vectors: np.ndarray, n: int, where: dict | None = None) -> list[list[Hit]]:
        """Nearest ``n`` products to each row of ``vectors``: one round trip for all of a photo's items."""
        col = self._col(kind)
        vectors = np.asarray(vectors, dtype=np.float32)
        with _guard(self.location):
            n = min(n, self.collection_count(kind))
            if n <= 0 or not len(vectors):
                return [[] for _ in range(len(vectors))]
            res = col.query(query_embeddings=vectors, n_results=n, where=where or None,
                            include=["distances", "metadatas"])
        meta = unpack_metadata if kind == VISUAL else dict  # the CLIP side keeps slim metadata as it is
        return [[Hit(i, 1.0 - float(d), meta(m or {})) for i, d, m in zip(ids, dists, metas)]
                for ids, dists, metas in zip(res["ids"], res["distances"], res["metadatas"])]

    def collection_count(self, kind: str) -> int:
        """Products in one collection, cached for a few seconds (a count is a round trip of its own)."""
        now = time.monotonic()
        cached = self._counts.get(kind)
        if cached is None or now - cached[1] > COUNT_TTL_S:
            cached = (self._col(kind).count(), now)
            self._counts[kind] = cached
        return cached[0]

    def vectors(self, kind: str, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors for ``ids`` in that order (rows of zeros for ids the collection lacks)."""
        col = self._col(kind)
        out: dict[str, np.ndarray] = {}
        with _guard(self.location):
            for start in range(0, len(ids), self.max_batch):
                res = col.get(ids=list(ids[start:start + self.max_batch]), include=["embeddings"])
                out.update(zip(res["ids"], np.asarray(res["embeddings"], dtype=np.float32)))
        if not out:
            return np.zeros((len(ids), 0), dtype=np.float32)
        dim = len(next(iter(out.values())))
        return np.stack([out.get(i, np.zeros(dim, dtype=np.float32)) for i in ids])

    def models(self) -> dict:
        """The model names the index was built with (collection metadata), {} for an unbuilt index."""
        with _guard(self.location):
            return {k: v for k, v in (self.visual.metadata or {}).items() if k != PROFILE_KEY}

    def stored_profile(self) -> str:
        """The catalog profile the last index build stored (``stylist.catalog_profile``, JSON), "" if none."""
        with _guard(self.location):
            return str((self.visual.metadata or {}).get(PROFILE_KEY) or "")

    def check_usable(self, embedder_name: str, embedder_dim: int, signature: str) -> None:
        """EmptyIndexError for an empty index, IndexUnavailableError for one built by other models or kept in
        the earlier layout (CLIP vectors in a second Chroma collection), or whose vector file is unreadable."""
        if self.legacy_clip is not None:
            raise IndexUnavailableError(
                f"the index at {self.location} keeps its CLIP vectors in the earlier layout (a second Chroma "
                "collection): run `stylist index build CATALOG.csv` once to convert it (nothing is re-embedded)")
        try:
            empty = self.count() == 0
        except VectorFileError as exc:
            raise IndexUnavailableError(f"the index at {self.location} is unreadable ({exc}): "
                                        "rebuild it with `stylist index build CATALOG.csv`") from exc
        if empty:
            raise EmptyIndexError(f"the catalog index at {self.location} is empty: "
                                  "run `stylist index build CATALOG.csv` (or `stylist demo`) first")
        built = self.models()
        if built.get("embedder_dim") and built["embedder_dim"] != str(embedder_dim):
            raise IndexUnavailableError(
                f"the index at {self.location} holds {built['embedder_dim']}-d vectors from "
                f"{built.get('embedder')}, but the current embedder {embedder_name} makes {embedder_dim}-d: "
                "rebuild it with `stylist index build CATALOG.csv`")
        if built.get("signature", "").endswith(UNFINISHED):
            raise IndexUnavailableError(
                f"the index at {self.location} is part-way through an index build (interrupted, or still running; "
                "its products hold vectors of different models): let `stylist index build CATALOG.csv` finish")
        if built.get("signature") and built["signature"] != signature:
            raise IndexUnavailableError(
                f"the index at {self.location} was built with other model weights ({built['signature']}; "
                f"now {signature}): update it with `stylist index build CATALOG.csv`")

    # --- writing -------------------------------------------------------------------------------------
    def set_models(self, info: Mapping[str, str]) -> None:
        """Record build facts in the collection's metadata (model names, signature, ``PROFILE_KEY``)."""
        with _guard(self.location):
            current = dict(self.visual.metadata or {})
            if any(current.get(k) != v for k, v in info.items()):
                # chroma refuses hnsw:* keys in modify; ours are plain strings
                self.visual.modify(metadata={k: v for k, v in {**current, **info}.items() if not k.startswith("hnsw:")})

    def upsert(self, ids: Sequence[str], visual: np.ndarray, clip: np.ndarray,
               metas: Sequence[Mapping[str, object]]) -> None:
        """Write products to both sides, CLIP first, in batches within the client's limit."""
        self._counts.clear()
        metas = [clean_metadata(m) for m in metas]
        slim = [{k: v for k, v in m.items() if k in CLIP_META_KEYS} or None for m in metas]  # Chroma refuses {}
        metas = [pack_metadata(m) or None for m in metas]
        with self._lock, _guard(self.location):
            for start in range(0, len(ids), self.max_batch):
                sl = slice(start, start + self.max_batch)
                self.clip.upsert(ids=list(ids[sl]), embeddings=np.asarray(clip[sl], dtype=np.float32),
                                 metadatas=slim[sl])
                self.visual.upsert(ids=list(ids[sl]), embeddings=np.asarray(visual[sl], dtype=np.float32),
                                   metadatas=metas[sl])

    def delete(self, ids: Sequence[str]) -> list[str]:
        """Remove products from both sides; returns the ids that were there."""
        self._counts.clear()
        with self._lock, _guard(self.location):
            present = set()
            for start in range(0, len(ids), self.max_batch):
                chunk = list(ids[start:start + self.max_batch])
                present |= set(self.visual.get(ids=chunk, include=[])["ids"])
                present |= set(self.clip.get(ids=chunk, include=[])["ids"])
                self.clip.delete(ids=chunk)
                self.visual.delete(ids=chunk)
        return [i for i in ids if i in present]

    def size_on_disk(self) -> int | None:
        """Bytes under the embedded store's folder (None for a server: its disk is not ours to read)."""
        if self.path is None or not self.path.exists():
            return None
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
