"""int8 scalar-quantised item vectors (4x smaller than float32).

Per-dimension symmetric scalar quantisation, as in FAISS's ``ScalarQuantizer`` (QT_8bit) and
Jégou et al., 2011 for the general idea of compressed-domain search: code = round(v / s_d) with
s_d = max |v_d| / 127. A query is scored against the codes as ``codes @ (q * s)``, i.e. the exact
inner product with the dequantised vectors, so only the rounding error separates it from fp32.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.results import Results


class Int8VectorIndex:
    """Exact inner-product search over int8 codes; ``fit`` / ``search`` / ``save`` / ``load``."""

    def __init__(self, chunk: int = 16384) -> None:
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        self.chunk = chunk
        self.codes: npt.NDArray[np.int8] = np.zeros((0, 0), dtype=np.int8)
        self.scale: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.codes.nbytes + self.scale.nbytes)

    def fit(self, vectors: npt.NDArray[np.float32]) -> Int8VectorIndex:
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2:
            raise ValueError(f"vectors must be 2-d, got shape {v.shape}")
        amax = np.abs(v).max(axis=0) if len(v) else np.ones(v.shape[1], dtype=np.float32)
        self.scale = (np.maximum(amax, 1e-12) / 127.0).astype(np.float32)
        self.codes = np.clip(np.rint(v / self.scale), -127, 127).astype(np.int8)
        return self

    def dequantised(self) -> npt.NDArray[np.float32]:
        return (self.codes.astype(np.float32) * self.scale).astype(np.float32)

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        q = np.asarray(query, dtype=np.float32).reshape(-1) * self.scale
        out = np.empty(len(self), dtype=np.float32)
        for start in range(0, len(self), self.chunk):
            block = self.codes[start : start + self.chunk].astype(np.float32)
            out[start : start + len(block)] = block @ q
        return out

    def search(self, query: npt.NDArray[np.float32], k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        return Results.from_scores(self.scores(query), k, mask)

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "int8_vectors.npz", codes=self.codes, scale=self.scale)
        (p / "int8_index.json").write_text(json.dumps({"chunk": self.chunk, "n": len(self)}))

    @classmethod
    def load(cls, path: str | Path) -> Int8VectorIndex:
        p = Path(path)
        meta = json.loads((p / "int8_index.json").read_text())
        obj = cls(chunk=int(meta["chunk"]))
        with np.load(p / "int8_vectors.npz", allow_pickle=False) as z:
            obj.codes = z["codes"]
            obj.scale = z["scale"]
        if len(obj) != int(meta["n"]):
            raise ValueError(f"{p}: int8_index.json says {meta['n']} vectors, file holds {len(obj)}")
        return obj
