"""A dependency-free hashing encoder: character n-gram feature hashing.

Not a language model; it is the fast, deterministic fallback used by unit tests and by
installs without the ``lm`` extra. Feature hashing after Weinberger et al., 2009,
"Feature Hashing for Large Scale Multitask Learning".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from shelfwise.encode.base import Matrix, l2_normalise
from shelfwise.index.text import normalise


class HashingEncoder:
    """Signed hashing of character 3- to 4-grams into ``dim`` buckets."""

    def __init__(self, dim: int = 256, ngrams: tuple[int, ...] = (3, 4)) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        self._dim = dim
        self._ngrams = ngrams

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}-{'-'.join(map(str, self._ngrams))}"

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        s = f" {normalise(text)} "
        for n in self._ngrams:
            for i in range(max(len(s) - n + 1, 0)):
                h = int.from_bytes(hashlib.blake2b(s[i : i + n].encode(), digest_size=8).digest(), "little")
                v[h % self._dim] += 1.0 if (h >> 63) & 1 else -1.0
        return v

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return l2_normalise(np.stack([self._vec(t) for t in texts]))
