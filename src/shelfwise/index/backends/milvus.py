"""Item vectors in Milvus: the server counterpart of the embedded faiss/numpy ``VectorIndex``.

One collection per index (``id`` = catalog row, ``vector`` = the L2-normalised item vector, inner
product metric, so scores are cosines as in the embedded index). The same class talks to

* Milvus Lite embedded in this process (``milvus-lite:///path/to/folder`` or ``.../name.db``), or
* a Milvus server (``milvus://host:port``): a Milvus cluster, or the Milvus Lite gRPC server that
  :func:`shelfwise.loopback.milvus_server` starts on loopback for the tests.

Index builders write the vectors once (:meth:`MilvusVectorIndex.fit`); every serving replica
opens the same collection from the small ``vector_store.json`` that :meth:`save` writes, so no
replica ships or rebuilds the vectors. ``FLAT`` (exact, the default, same results as the embedded
flat index) or ``HNSW`` on a server built with it (``?index=HNSW``).

What still reads the full matrix: convex / weighted fusion and personalisation score candidate
rows by their vectors (:meth:`rows`, :meth:`scores`), so the first such call fetches every vector
once (``vectors``) and keeps it, as an embedded flat :class:`~shelfwise.index.vector.VectorIndex`
whose exact code answers :meth:`rows`, :meth:`scores` and the filtered-search fallback; ``rrf``
fusion and plain dense search need only the server.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError
from shelfwise.index.backends import MARKER
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.results import Results

log = logging.getLogger(__name__)
INDEX_TYPES = ("FLAT", "HNSW")
_INSERT_BATCH = 2_000
_MAX_LIMIT = 16_384  # Milvus' largest top-k / query page
_FILTER_IDS_MAX = 4_096  # masks allowing at most this many rows go to the server as `id in [...]`


@dataclass(frozen=True)
class MilvusConfig:
    """``uri``: a Milvus Lite folder or ``http://host:port``; ``collection``: one per index."""

    uri: str
    collection: str = "shelfwise_items"
    index_type: str = "FLAT"
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"MilvusConfig.index_type must be one of {INDEX_TYPES}")
        if not self.collection.replace("_", "").isalnum() or self.collection[0].isdigit():
            raise ValueError(f"MilvusConfig.collection {self.collection!r}: letters, digits and _, not first a digit")

    @classmethod
    def from_url(cls, url: str) -> MilvusConfig:
        """``milvus-lite:///abs/folder`` / ``milvus-lite://rel/folder`` (embedded) or ``milvus://host:port``
        (server); options ``?collection=NAME&index=FLAT|HNSW&ef_search=N``."""
        parts = urlsplit(url)
        opts = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        known = {"collection", "index", "ef_search"}
        if set(opts) - known:
            raise ValueError(f"{url!r}: unknown option(s) {sorted(set(opts) - known)}; known: {sorted(known)}")
        if parts.scheme == "milvus-lite":
            folder = parts.netloc + parts.path
            if not folder:
                raise ValueError(f"{url!r}: milvus-lite:///path/to/folder expected")
            db = Path(folder).resolve()
            uri = str(db if db.suffix == ".db" else db / "milvus.db")  # Milvus Lite names its store *.db
        elif parts.scheme in ("milvus", "milvus+http", "milvus+https"):
            if not parts.netloc:
                raise ValueError(f"{url!r}: milvus://host:port expected")
            uri = f"{'https' if parts.scheme.endswith('https') else 'http'}://{parts.netloc}"
        else:
            raise ValueError(f"{url!r}: not a Milvus URL (milvus-lite:///folder or milvus://host:port)")
        kw: dict[str, Any] = {"uri": uri}
        if "collection" in opts:
            kw["collection"] = opts["collection"]
        if "index" in opts:
            kw["index_type"] = opts["index"].upper()
        if "ef_search" in opts:
            kw["ef_search"] = int(opts["ef_search"])
        return cls(**kw)


def _flat(vectors: npt.NDArray[np.float32]) -> VectorIndex:
    """An exact fp32 embedded index over ``vectors`` (no copy of a C-contiguous float32 matrix)."""
    return VectorIndex(VectorIndexConfig(kind="flat", storage="fp32")).fit(vectors)


def _client(config: MilvusConfig) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MissingExtraError("pymilvus", "milvus") from exc
    if not config.uri.startswith(("http://", "https://")):
        try:
            import milvus_lite  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("milvus-lite", "milvus") from exc
        Path(config.uri).parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(uri=config.uri, timeout=config.timeout_s)


class MilvusVectorIndex:
    """Inner-product search over L2-normalised vectors kept in a Milvus collection."""

    def __init__(self, config: MilvusConfig) -> None:
        self.config = config
        self.client = _client(config)
        self._n = 0
        self._dim = 0
        self._local: VectorIndex | None = None  # the vectors in this process, once fetched or fitted

    @classmethod
    def from_url(cls, url: str) -> MilvusVectorIndex:
        return cls(MilvusConfig.from_url(url))

    # --- shape ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def kind(self) -> str:
        return f"milvus-{self.config.index_type.lower()}"

    @property
    def nbytes(self) -> int:
        """Bytes held in this process (the vectors live on the server until a caller needs them)."""
        return 0 if self._local is None else self._local.nbytes

    # --- build ---------------------------------------------------------------------------
    def fit(self, vectors: npt.NDArray[np.floating[Any]]) -> MilvusVectorIndex:
        """Replace the collection's contents with ``vectors`` (row i gets id i); returns once
        Milvus acknowledged every insert and flushed."""
        from pymilvus import DataType

        v = np.ascontiguousarray(vectors, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] < 2:
            raise ValueError(f"fit: a (n, dim >= 2) matrix expected, got shape {v.shape}")
        c, name = self.client, self.config.collection
        if c.has_collection(name):
            c.drop_collection(name)
        schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(v.shape[1]))
        params = c.prepare_index_params()
        extra = {"M": self.config.hnsw_m, "efConstruction": self.config.ef_construction}
        params.add_index("vector", index_type=self.config.index_type, metric_type="IP",
                         params=extra if self.config.index_type == "HNSW" else {})  # fmt: skip
        c.create_collection(name, schema=schema, index_params=params)
        for start in range(0, len(v), _INSERT_BATCH):
            block = v[start : start + _INSERT_BATCH]
            c.insert(name, [{"id": start + i, "vector": row} for i, row in enumerate(block)])
        c.flush(name)
        c.load_collection(name)
        self._n, self._dim, self._local = int(v.shape[0]), int(v.shape[1]), _flat(v)
        return self

    # --- vectors -------------------------------------------------------------------------
    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        """Every vector in row order, fetched from the server once and kept."""
        return self._fetched().vectors

    def _fetched(self) -> VectorIndex:
        """The embedded exact index over every vector (fetched from the server on first use)."""
        if self._local is None:
            out = np.zeros((self._n, self._dim), dtype=np.float32)
            for start in range(0, self._n, _MAX_LIMIT):
                stop = min(start + _MAX_LIMIT, self._n)
                rows = self.client.query(self.config.collection, filter=f"id >= {start} and id < {stop}",
                                         output_fields=["id", "vector"], limit=stop - start)  # fmt: skip
                if len(rows) != stop - start:
                    raise RuntimeError(f"milvus: rows {start}..{stop - 1}: got {len(rows)} of {stop - start}")
                for r in rows:
                    out[int(r["id"])] = np.asarray(r["vector"], dtype=np.float32)
            self._local = _flat(out)
        return self._local

    def rows(self, ids: npt.NDArray[np.integer[Any]] | list[int]) -> npt.NDArray[np.float32]:
        return self._fetched().rows(ids)

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Cosine of every row to ``query`` (reads the whole matrix; see the module docstring)."""
        return self._fetched().scores(query)

    # --- search --------------------------------------------------------------------------
    def _search(self, q: npt.NDArray[np.float32], limit: int, expr: str = "") -> Results:
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.config.index_type == "HNSW":
            params["params"] = {"ef": max(self.config.ef_search, limit)}
        hits = self.client.search(self.config.collection, data=[q.tolist()], filter=expr, limit=limit,
                                  output_fields=[], search_params=params)[0]  # fmt: skip
        ids = np.array([int(h["id"]) for h in hits], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in hits], dtype=np.float32)
        order = np.lexsort((ids, -scores))  # score descending, row ascending on ties (as the embedded index)
        return Results(ids[order], scores[order])

    def search(self, query: npt.NDArray[np.float32], k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        """Top-``k`` rows by inner product; with ``mask``, only rows where it is True. Small masks
        filter on the server (``id in [...]``); large ones over-fetch and filter here, and fall back
        to exact scoring of the allowed rows when that cannot fill ``k``."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        k = min(k, self._n)
        if k < 1:
            return Results.empty()
        if mask is None:
            return self._search(q, min(k, _MAX_LIMIT))
        allowed = np.flatnonzero(mask)
        if len(allowed) == 0:
            return Results.empty()
        k = min(k, len(allowed))
        if len(allowed) <= _FILTER_IDS_MAX:
            return self._search(q, k, f"id in [{','.join(map(str, allowed.tolist()))}]")
        limit = min(4 * k * max(1, self._n // len(allowed)), _MAX_LIMIT)
        while True:
            res = self._search(q, limit)
            keep = mask[res.ids]
            if keep.sum() >= k or limit >= min(self._n, _MAX_LIMIT):
                break
            limit = min(limit * 4, _MAX_LIMIT)
        if keep.sum() >= k:
            return Results(res.ids[keep][:k], res.scores[keep][:k])
        return self._fetched().search(q, k, mask)  # the embedded index's exact filtered search

    # --- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write ``vector_store.json``: where the collection is and its shape (the vectors stay there)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        meta = {"backend": "milvus", "config": asdict(self.config), "n": self._n, "dim": self._dim}
        (p / MARKER).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> MilvusVectorIndex:
        """Open the collection ``save`` recorded; checks it still holds that many rows."""
        f = Path(path) / MARKER
        meta = json.loads(f.read_text())
        obj = cls(MilvusConfig(**meta["config"]))
        name = obj.config.collection
        if not obj.client.has_collection(name):
            raise FileNotFoundError(f"{f}: collection {name!r} not found at {obj.config.uri}")
        obj.client.load_collection(name)
        count = int(obj.client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])
        if count != int(meta["n"]):
            raise ValueError(f"{f}: collection {name!r} holds {count} vectors, the index recorded {meta['n']}")
        obj._n, obj._dim = int(meta["n"]), int(meta["dim"])
        return obj

    def close(self) -> None:
        self.client.close()
