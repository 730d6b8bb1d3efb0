"""Where the serving RSS of the 1M shelf + recommender goes (``recommend_serve``'s ``memory``).

Two views, both in MB:

- ``rss_steps``: the process RSS after each load step (shelf, the recommender), the deltas being
  what each step added to the process (arrays, Python objects, allocator slack).
- ``arrays``: the bytes of the numpy arrays (and scipy sparse matrices, faiss codes) reachable
  from each part, each buffer counted once, in the part that reaches it first: catalog, lexical
  index, vector index, then each recommender component. Python objects (the catalog's products,
  dicts of ids, the shoppers' histories) are not arrays: the catalog's share of the RSS is mostly
  those. Arrays from ``np.zeros`` that were never written (an unfitted SASRec's item table) count
  here at full size but take no RSS until touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp

MB = 2**20
_SKIP = (str, bytes, int, float, bool, type(None))


def _base(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def array_bytes(root: object, seen: set[int], depth: int = 8) -> int:
    """Bytes of the numpy arrays reachable from ``root`` (attributes, dict values, list/tuple
    items, scipy sparse parts) not already in ``seen``; each buffer is counted once."""
    total = 0
    stack: list[tuple[object, int]] = [(root, depth)]
    visited: set[int] = set()
    while stack:
        obj, d = stack.pop()
        if isinstance(obj, _SKIP) or id(obj) in visited:
            continue
        visited.add(id(obj))
        if isinstance(obj, np.ndarray):
            b = _base(obj)
            if id(b) not in seen and b.flags.owndata:
                seen.add(id(b))
                total += int(b.nbytes)
            elif obj.base is not None and not isinstance(obj.base, np.ndarray) and id(obj) not in seen:
                seen.add(id(obj))  # a view of foreign memory (faiss codes): its own size
                total += int(obj.nbytes)
            continue
        if d <= 0:
            continue
        if sp.issparse(obj):
            stack += [(getattr(obj, k), d - 1) for k in ("data", "indices", "indptr", "row", "col") if hasattr(obj, k)]
            continue
        children: Iterable[object] = ()
        if isinstance(obj, dict):
            children = obj.values()
        elif isinstance(obj, list | tuple | set | frozenset):
            children = obj if len(obj) < 10_000 or not isinstance(next(iter(obj), None), _SKIP) else ()
        elif hasattr(obj, "__dict__"):
            children = vars(obj).values()
        stack += [(c, d - 1) for c in children]
    return total


def faiss_bytes(index: Any) -> int:
    """The vector index's stored codes and row ids (faiss keeps them outside numpy) plus its IVF
    centroids, counted list by list (no serialised copy)."""
    f = getattr(index, "_faiss", None)
    if f is None:
        return 0
    lists = getattr(f, "invlists", None)
    if lists is None:
        return int(getattr(index, "nbytes", 0))
    rows = sum(int(lists.list_size(c)) for c in range(int(f.nlist)))
    return rows * (int(f.code_size) + 8) + int(f.nlist) * int(f.d) * 4


def memory_parts(shelf: Any, rec: Any | None) -> dict[str, float]:
    """Array MB per part of a loaded shelf and recommender (see the module docstring)."""
    seen: set[int] = set()
    searcher = shelf.searcher
    out = {
        "catalog": array_bytes(shelf.catalog, seen) / MB,
        "lexical": array_bytes(searcher.lexical, seen) / MB,
        "vector_index": faiss_bytes(searcher.dense.index) / MB,
    }
    array_bytes(searcher, seen)  # the rest of the searcher (e.g. a decoded fp32 copy) counted below
    decoded = getattr(searcher.dense.index, "_decoded", None)
    out["vector_index_decoded_fp32"] = float(decoded.nbytes) / MB if decoded is not None else 0.0
    if rec is not None:  # arrays the shelf holds (catalog, decoded vectors) are not counted again
        for name, comp in rec.components.items():
            out[f"recommender.{name}"] = array_bytes(comp, seen) / MB
        out["recommender.profiles"] = array_bytes(rec.profiles, seen) / MB
        out["recommender.other"] = array_bytes(rec, seen) / MB
    return out
