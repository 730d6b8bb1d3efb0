"""Vector index: exact inner product (numpy) or HNSW (faiss; Malkov & Yashunin, 2018,
"Efficient and robust approximate nearest neighbor search using HNSW graphs")."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError
from shelfwise.results import Results


@dataclass(frozen=True)
class VectorIndexConfig:
    """``kind``: "flat" (exact), "hnsw" (faiss), or "auto" (flat below ``hnsw_min_items``)."""

    kind: str = "auto"
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    hnsw_min_items: int = 50_000

    def __post_init__(self) -> None:
        if self.kind not in ("auto", "flat", "hnsw"):
            raise ValueError("VectorIndexConfig.kind must be 'auto', 'flat' or 'hnsw'")
        if self.hnsw_m < 4 or self.ef_search < 1 or self.ef_construction < 1:
            raise ValueError("VectorIndexConfig: hnsw_m >= 4, ef_search >= 1, ef_construction >= 1")


class VectorIndex:
    """Inner-product search over L2-normalised vectors (so scores are cosines)."""

    def __init__(self, config: VectorIndexConfig | None = None) -> None:
        self.config = config or VectorIndexConfig()
        self.vectors: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._hnsw: Any = None

    @property
    def kind(self) -> str:
        if self.config.kind != "auto":
            return self.config.kind
        return "hnsw" if len(self.vectors) >= self.config.hnsw_min_items else "flat"

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def fit(self, vectors: npt.NDArray[np.float32]) -> VectorIndex:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._hnsw = None
        if self.kind == "hnsw":
            self._build_hnsw()
        return self

    def _build_hnsw(self) -> None:
        try:
            import faiss
        except ImportError as exc:
            raise MissingExtraError("faiss-cpu", "search") from exc
        idx = faiss.IndexHNSWFlat(self.vectors.shape[1], self.config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = self.config.ef_construction
        idx.add(self.vectors)
        self._hnsw = idx

    def search(self, query: npt.NDArray[np.float32], k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if self._hnsw is None:
            return Results.from_scores(self.vectors @ q, k, mask)
        import faiss

        params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
            efSearch=max(self.config.ef_search, k)
        )
        if mask is not None:
            sel = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
            params.sel = sel
        scores, ids = self._hnsw.search(q[None, :], k, params=params)
        keep = ids[0] >= 0
        return Results(ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.save(p / "vectors.npy", self.vectors, allow_pickle=False)
        (p / "vector_index.json").write_text(json.dumps({"config": asdict(self.config)}))
        if self._hnsw is not None:
            import faiss

            faiss.write_index(self._hnsw, str(p / "hnsw.faiss"))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        p = Path(path)
        meta = json.loads((p / "vector_index.json").read_text())
        obj = cls(VectorIndexConfig(**meta["config"]))
        obj.vectors = np.load(p / "vectors.npy", allow_pickle=False)
        if (p / "hnsw.faiss").exists():
            import faiss

            obj._hnsw = faiss.read_index(str(p / "hnsw.faiss"))
        return obj
