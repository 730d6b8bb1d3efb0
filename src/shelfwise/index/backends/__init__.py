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
from typing import TYPE_CHECKING

from shelfwise.index.vector import VectorIndex, VectorIndexConfig

if TYPE_CHECKING:
    from shelfwise.index.backends.milvus import MilvusVectorIndex

MARKER = "vector_store.json"
EMBEDDED = ("", "embedded")


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
