"""Where item vectors live, chosen by a spec string (gorse-style):

* ``None`` / ``""`` / ``"embedded"``: the in-process :class:`~shelfwise.index.vector.VectorIndex`
  (numpy / faiss; saved as files in the index folder) -- the default;
* ``milvus-lite:///path/to/folder``: Milvus Lite in this process;
* ``milvus://host:port[?collection=NAME&index=HNSW]``: a Milvus server shared by index builders
  and serving replicas (:mod:`shelfwise.index.backends.milvus`).

:func:`load_vector_store` opens what an index folder's ``vectors/`` holds: a server store leaves
only ``vector_store.json`` there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.results import Results

if TYPE_CHECKING:
    from shelfwise.index.backends.milvus import MilvusVectorIndex

MARKER = "vector_store.json"
EMBEDDED = ("", "embedded")


@runtime_checkable
class VectorStore(Protocol):
    """What dense retrieval reads from a vector index, embedded or on a server (rows = catalog rows)."""

    def __len__(self) -> int: ...

    @property
    def dim(self) -> int: ...

    @property
    def vectors(self) -> npt.NDArray[np.float32]: ...

    def rows(self, ids: npt.NDArray[np.integer[Any]] | list[int]) -> npt.NDArray[np.float32]: ...

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...

    def search(
        self, query: npt.NDArray[np.float32], k: int = 10, mask: npt.NDArray[np.bool_] | None = None
    ) -> Results: ...

    def save(self, path: str | Path) -> None: ...


def open_vector_store(
    spec: str | None = None, config: VectorIndexConfig | None = None
) -> VectorIndex | MilvusVectorIndex:
    """An empty vector store for ``spec`` (fill it with ``fit``); ``config`` is for the embedded index."""
    if spec is None or spec in EMBEDDED:
        return VectorIndex(config)
    if spec.startswith(("milvus-lite:", "milvus:", "milvus+")):
        from shelfwise.index.backends.milvus import MilvusVectorIndex

        return MilvusVectorIndex.from_url(spec)
    raise ValueError(f"unknown vector store {spec!r}: 'embedded', milvus-lite:///folder or milvus://host:port")


def load_vector_store(path: str | Path) -> VectorIndex | MilvusVectorIndex:
    """The vector store saved at ``path``: a server collection when ``vector_store.json`` names one."""
    if (Path(path) / MARKER).exists():
        from shelfwise.index.backends.milvus import MilvusVectorIndex

        return MilvusVectorIndex.load(path)
    return VectorIndex.load(path)
