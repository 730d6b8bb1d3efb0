"""The encoder protocol shared by every text-embedding family."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors of width ``dim``.

    ``name`` identifies the model *and its weights version*: the embedding cache keys on it.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix: ...


def l2_normalise(x: npt.NDArray[np.floating]) -> Matrix:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def query_encoder(encoder: Encoder) -> Encoder:
    """The encoder for the query side: ``for_queries()`` of an asymmetric model (E5 prefixes
    queries with "query: " and documents with "passage: "), otherwise the model itself.

    A persistent caching wrapper (``.encoder``) is looked through: shopper queries are unbounded
    and repeat in memory (the retriever's LRU), so they are not written to the embedding cache.
    Wrappers with a query side of their own (a bounded or student encoder) have no ``.encoder``
    and answer ``for_queries()`` themselves."""
    inner = getattr(encoder, "encoder", encoder)
    for_queries = getattr(inner, "for_queries", None)
    return for_queries() if callable(for_queries) else inner
