"""Embedding cache keyed by (model name, text), stored in SQLite, so re-runs do not re-embed."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from shelfwise.encode.base import Encoder, Matrix


def _key(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\x00{text}".encode()).hexdigest()


class CachedEncoder:
    """An :class:`Encoder` that looks texts up in a cache before calling the wrapped encoder."""

    def __init__(self, encoder: Encoder, path: str | Path) -> None:
        self.encoder = encoder
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def _found(self, keys: Sequence[str], *, vectors: bool = True) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        what = "key, vec" if vectors else "key, ''"
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            q = f"SELECT {what} FROM emb WHERE key IN ({','.join('?' * len(chunk))})"
            found.update(self._conn.execute(q, chunk).fetchall())
        return found

    def cached(self, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which of ``texts`` the cache already holds for this model (nothing is embedded)."""
        found = self._found(keys := [_key(self.name, t) for t in texts], vectors=False)
        return np.array([k in found for k in keys], dtype=bool)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keys = [_key(self.name, t) for t in texts]
        found = self._found(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        for i, k in enumerate(keys):
            if k in found:
                out[i] = np.frombuffer(found[k], dtype=np.float32)
        if missing:
            step = max(batch_size * 8, 256)
            bar = tqdm(total=len(missing), desc=f"embed {self.name}", unit="text", disable=not progress)
            for start in range(0, len(missing), step):
                idx = missing[start : start + step]
                vecs = self.encoder.encode([texts[i] for i in idx], batch_size=batch_size)
                out[idx] = vecs
                self._conn.executemany(
                    "INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                    [(keys[i], vecs[j].astype(np.float32).tobytes()) for j, i in enumerate(idx)],
                )
                self._conn.commit()
                bar.update(len(idx))
            bar.close()
        return out

    def close(self) -> None:
        self._conn.close()
