"""Vector index: exact inner product (numpy) or HNSW (faiss; Malkov & Yashunin, 2018,
"Efficient and robust approximate nearest neighbor search using HNSW graphs").

One copy of the vectors lives in memory. ``storage`` picks its precision: ``fp32`` (numpy for
flat, ``IndexHNSWFlat`` for HNSW), ``fp16`` or ``sq8`` (faiss ``ScalarQuantizer``: 2 or 1 byte a
dimension, per-dimension min/max 8-bit codes for ``sq8``; flat uses ``IndexScalarQuantizer``, HNSW
``IndexHNSWSQ``). The HNSW graph searches the stored codes directly, so there is no float matrix
beside it; :meth:`VectorIndex.rows` decodes only the rows asked for. ``auto`` storage is fp32 below
``compact_min_items`` and sq8 from there (recall vs memory in ``bench/bench_million.py``).

Filtered search never costs O(catalog) per query once a filter's mask has been seen: per mask
object the index keeps its allowed row ids (small filters: answered exactly over those rows) or a
faiss ``IDSelectorBitmap`` (large filters: HNSW and IVF skip disallowed rows). IVF visits every cell
for a filter allowing at most a tenth of the rows, which may all lie far from the query: of an IVF
index holding only those rows (same cells and codes, built on the filter's first use). Callers should pass the
same mask object for the same filter (``HybridSearcher`` memoises masks per ``Filters``).
"""

from __future__ import annotations

import ctypes
import json
import sys
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError
from shelfwise.results import Results

KINDS = ("auto", "flat", "hnsw", "ivf")
STORAGES = ("auto", "fp32", "fp16", "sq8")
BYTES_PER_DIM = {"fp32": 4, "fp16": 2, "sq8": 1}
_SELECTOR_CACHE = 64
IVF_FULL_PROBE_SHARE = 10  # IVF: a filter allowing at most 1/10 of the rows visits every cell
IVF_SUBSET_BYTES = 256 << 20  # IVF: those filters' own inverted lists, kept up to this many bytes
FAISS_FILES = {"hnsw.faiss": "hnsw", "ivf.faiss": "ivf", "vectors.faiss": "flat"}
HUGE_PAGES = True  # back stored vectors and the HNSW graph with transparent huge pages (see advise_huge_pages)
_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE, _MADV_COLLAPSE = 14, 25  # <sys/mman.h>, Linux


@cache
def _libc() -> Any:
    """The C library with ``madvise`` typed, once a process; None where it cannot be opened so."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc


def advise_huge_pages(buf: npt.NDArray[Any]) -> int:
    """Ask Linux to back the whole 2 MiB pages inside ``buf``'s memory with transparent huge pages:
    ``madvise`` MADV_HUGEPAGE, then MADV_COLLAPSE to do it now (Linux >= 6.1; before, the kernel's
    khugepaged may do it later). Returns the bytes collapsed, 0 where refused (another OS, THP
    disabled, file-backed memory its filesystem cannot map so, e.g. an index mapped from its file).

    An HNSW search reads a few thousand vectors and neighbour lists at random from ~100 MB (54,667
    products x 384 fp32 dimensions + the graph): on 4 KiB pages nearly each read misses the TLB, on
    2 MiB pages few do. Same memory, same bytes, same results. HNSW search at 54,667 products
    (``bench/bench_search_hotpath.py``, old side on 4 KiB pages): 0.77 -> 0.61 ms p50 on a busy box
    (``results/search_hotpath_s10c.json``, load 2.4-4.2), no change in a quieter run (0.59 both,
    ``search_hotpath_s10d.json``): presumably it pays where other processes evict the TLB."""
    if not HUGE_PAGES or not sys.platform.startswith("linux") or buf.nbytes < _HUGE_PAGE:
        return 0
    libc = _libc()
    if libc is None:
        return 0
    addr = int(buf.ctypes.data)
    start = -(-addr // _HUGE_PAGE) * _HUGE_PAGE
    end = (addr + buf.nbytes) // _HUGE_PAGE * _HUGE_PAGE
    if end <= start or libc.madvise(start, end - start, _MADV_HUGEPAGE) != 0:
        return 0
    return end - start if libc.madvise(start, end - start, _MADV_COLLAPSE) == 0 else 0


def ivf_nlist(n: int) -> int:
    """Default number of IVF cells: about 4 * sqrt(n), a power of two, at least 16."""
    return int(max(16, 2 ** round(np.log2(4 * np.sqrt(max(n, 1))))))


@dataclass(frozen=True)
class VectorIndexConfig:
    """``kind``: "flat" (exact), "hnsw", "ivf" (faiss inverted lists: k-means cells, ``ivf_nprobe``
    of them scanned per query, more under a filter; about a CPU-minute to build at 1M products, see
    ``bench/bench_million.py``), or
    "auto": flat below ``hnsw_min_items``, HNSW below ``ivf_min_items``, IVF from there.

    ``storage``: "fp32", "fp16", "sq8" or "auto" (fp32 below ``compact_min_items``, sq8 from there).
    ``exact_filter_max``: a filtered HNSW query whose filter allows at most this many rows is
    answered exactly over those rows (cheap, and HNSW recall drops on very selective filters)."""

    kind: str = "auto"
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    hnsw_min_items: int = 50_000
    storage: str = "auto"
    compact_min_items: int = 500_000
    exact_filter_max: int = 20_000
    ivf_min_items: int = 500_000
    ivf_nlist: int = 0  # 0: 4 * sqrt(n) rounded to a power of two
    ivf_nprobe: int = 128

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"VectorIndexConfig.kind must be one of {KINDS}")
        if self.storage not in STORAGES:
            raise ValueError(f"VectorIndexConfig.storage must be one of {STORAGES}")
        if self.hnsw_m < 4 or self.ef_search < 1 or self.ef_construction < 1:
            raise ValueError("VectorIndexConfig: hnsw_m >= 4, ef_search >= 1, ef_construction >= 1")
        if self.ivf_nlist < 0 or self.ivf_nprobe < 1:
            raise ValueError("VectorIndexConfig: ivf_nlist >= 0 (0 = auto) and ivf_nprobe >= 1")
        if self.exact_filter_max < 0:
            raise ValueError("VectorIndexConfig.exact_filter_max must be >= 0")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VectorIndexConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise MissingExtraError("faiss-cpu", "search") from exc
    return faiss


def _sq_type(faiss: Any, storage: str) -> Any:
    return faiss.ScalarQuantizer.QT_fp16 if storage == "fp16" else faiss.ScalarQuantizer.QT_8bit


@dataclass
class _Allowed:
    """What a filter mask costs once: its row count, and either its row ids or a faiss selector."""

    mask: npt.NDArray[np.bool_]  # held so its id() cannot be reused while cached
    count: int
    ids: npt.NDArray[np.int64] | None
    bitmap: npt.NDArray[np.uint8] | None  # the selector reads this buffer: keep it alive
    selector: Any
    subset: Any = None  # IVF, selective filter: an IVF index holding the allowed rows only
    wants_subset: bool = False  # IVF, selective filter seen once: build its subset on the next use

    @property
    def subset_bytes(self) -> int:
        """Memory :attr:`subset` holds: ``count`` x (code + 8-byte id); 0 without one."""
        return 0 if self.subset is None else self.count * (int(self.subset.code_size) + 8)


class VectorIndex:
    """Inner-product search over L2-normalised vectors (so scores are cosines)."""

    def __init__(self, config: VectorIndexConfig | None = None) -> None:
        self.config = config or VectorIndexConfig()
        self._vecs: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)  # flat fp32 only
        self._faiss: Any = None  # IndexHNSW*, IndexIVF* or IndexScalarQuantizer
        self._quantizer: Any = None
        self._codes: npt.NDArray[np.uint8] | None = None  # zero-copy view of the faiss codes
        self._n = 0
        self._dim = 0
        self._built_kind = ""
        self._built_storage = ""
        self._decoded: npt.NDArray[np.float32] | None = None
        self._allowed: OrderedDict[int, _Allowed] = OrderedDict()
        self._subset_bytes = 0  # sum of the cached entries' subset_bytes
        self._lock = threading.Lock()

    # --- shape and choice -----------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def kind(self) -> str:
        if self._built_kind:
            return self._built_kind
        if self.config.kind != "auto":
            return self.config.kind
        if self._n >= self.config.ivf_min_items:
            return "ivf"
        return "hnsw" if self._n >= self.config.hnsw_min_items else "flat"

    @property
    def storage(self) -> str:
        if self._built_storage:
            return self._built_storage
        if self.config.storage != "auto":
            return self.config.storage
        return "sq8" if self._n >= self.config.compact_min_items else "fp32"

    @property
    def nbytes(self) -> int:
        """Bytes of the stored vectors (an HNSW graph or IVF ids not included)."""
        return self._n * self._dim * BYTES_PER_DIM[self.storage]

    # --- build ----------------------------------------------------------------------------
    def fit(self, vectors: npt.NDArray[np.floating[Any]]) -> VectorIndex:
        v = np.asarray(vectors)
        if v.ndim != 2:
            raise ValueError(f"vectors must be 2-d, got shape {v.shape}")
        self._n, self._dim = int(v.shape[0]), int(v.shape[1])
        self._built_kind = self._built_storage = ""
        kind, storage = self.kind, self.storage
        self._reset()
        if kind == "flat" and storage == "fp32":
            self._vecs = np.ascontiguousarray(v, dtype=np.float32)
            advise_huge_pages(self._vecs)
        else:
            self._build_faiss(v, kind, storage)
        self._built_kind, self._built_storage = kind, storage
        return self

    def _reset(self) -> None:
        self._vecs = np.zeros((0, self._dim), dtype=np.float32)
        self._faiss = self._codes = self._decoded = None
        self._allowed.clear()
        self._subset_bytes = 0

    def _build_faiss(self, v: npt.NDArray[Any], kind: str, storage: str) -> None:
        faiss = _faiss()
        d, ip = self._dim, faiss.METRIC_INNER_PRODUCT
        if kind == "hnsw":
            if storage == "fp32":
                idx = faiss.IndexHNSWFlat(d, self.config.hnsw_m, ip)
            else:
                idx = faiss.IndexHNSWSQ(d, _sq_type(faiss, storage), self.config.hnsw_m, ip)
            idx.hnsw.efConstruction = self.config.ef_construction
        elif kind == "ivf":
            nlist = self.config.ivf_nlist or ivf_nlist(self._n)
            self._quantizer = faiss.IndexFlatIP(d)  # the IVF index points at it: keep it alive
            if storage == "fp32":
                idx = faiss.IndexIVFFlat(self._quantizer, d, nlist, ip)
            else:
                idx = faiss.IndexIVFScalarQuantizer(self._quantizer, d, nlist, _sq_type(faiss, storage), ip, False)
        else:
            idx = faiss.IndexScalarQuantizer(d, _sq_type(faiss, storage), ip)
        chunk = 65536  # convert to float32 a block at a time: never a second full float matrix
        if not idx.is_trained:
            cap = 100_000 if kind != "ivf" else 32 * idx.nlist  # k-means: 32 points a cell, 10 rounds
            if kind == "ivf":
                idx.cp.niter = 10
            rows = np.random.default_rng(0).choice(self._n, min(self._n, cap), replace=False)
            idx.train(np.ascontiguousarray(v[np.sort(rows)], dtype=np.float32))
        for start in range(0, self._n, chunk):
            idx.add(np.ascontiguousarray(v[start : start + chunk], dtype=np.float32))
        self._faiss = idx
        self._attach()

    def _attach(self) -> None:
        """After build or load: a zero-copy view of flat codes, or the IVF id -> list map; the codes
        and an HNSW graph's neighbour lists on huge pages where Linux allows (:func:`advise_huge_pages`)."""
        if self.kind == "ivf":
            self._faiss.make_direct_map()  # rows() reconstructs by id
            self._codes = None
            return
        self._codes = self._codes_view()
        advise_huge_pages(self._codes)
        if self.kind == "hnsw" and self._n:
            hnsw = self._faiss.hnsw
            advise_huge_pages(_faiss().rev_swig_ptr(hnsw.neighbors.data(), int(hnsw.neighbors.size())))

    def _store(self) -> Any:
        faiss = _faiss()
        return faiss.downcast_index(self._faiss.storage) if self.kind == "hnsw" else self._faiss

    def _codes_view(self) -> npt.NDArray[np.uint8]:
        faiss = _faiss()
        store = self._store()
        size = int(store.code_size)
        raw = faiss.rev_swig_ptr(store.codes.data(), self._n * size) if self._n else np.zeros(0, np.uint8)
        return np.asarray(raw).reshape(self._n, size)

    # --- reading vectors ------------------------------------------------------------------
    def rows(self, ids: npt.NDArray[np.integer[Any]] | list[int]) -> npt.NDArray[np.float32]:
        """Float32 vectors of rows ``ids`` (decoded from the stored codes: no full matrix)."""
        idx = np.asarray(ids, dtype=np.int64)
        if self._faiss is None:
            return self._vecs[idx]
        if self.kind == "ivf":
            if len(idx) == 0:
                return np.zeros((0, self._dim), dtype=np.float32)
            return np.asarray(self._faiss.reconstruct_batch(idx), dtype=np.float32).reshape(len(idx), self._dim)
        assert self._codes is not None
        if self.storage == "fp32":
            return self._codes[idx].view(np.float32).reshape(len(idx), self._dim)
        if len(idx) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.asarray(self._store().sa_decode(np.ascontiguousarray(self._codes[idx])), dtype=np.float32)

    @property
    def vectors(self) -> npt.NDArray[np.float32]:
        """All vectors as one float32 matrix. Free for fp32 (a view of the only copy); for fp16 and
        sq8 storage it is decoded on first use and kept: a second copy, wanted only by consumers
        that need the whole matrix (recommenders, live sessions), never by search."""
        if self._faiss is None:
            return self._vecs
        if self.storage == "fp32" and self.kind != "ivf":
            return self._fp32_view()
        with self._lock:
            if self._decoded is None:
                out = np.empty((self._n, self._dim), dtype=np.float32)
                for start in range(0, self._n, 65536):
                    out[start : start + 65536] = self.rows(np.arange(start, min(start + 65536, self._n)))
                self._decoded = out
            return self._decoded

    def _fp32_view(self) -> npt.NDArray[np.float32]:
        assert self._codes is not None
        return self._codes.view(np.float32).reshape(self._n, self._dim)

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Inner product of every row with ``query`` (exact over the stored precision), in blocks."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if self._faiss is None:
            return self._vecs @ q
        if self.storage == "fp32" and self.kind != "ivf":
            return self._fp32_view() @ q  # the stored codes are the vectors: no per-block copy
        if self.kind == "ivf" and not self._faiss.by_residual:
            return self._ivf_scores(q)
        out = np.empty(self._n, dtype=np.float32)
        for start in range(0, self._n, 65536):
            stop = min(start + 65536, self._n)
            out[start:stop] = self.rows(np.arange(start, stop)) @ q
        return out

    def _ivf_scores(self, q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """:meth:`scores` of an IVF index, list by list: each inverted list's codes decoded at once
        (the codec's batch decode; fp32 lists are the vectors) and scattered to its row ids, instead of
        rows() over id blocks (a direct-map lookup per id): one pass over the codes, no per-id work."""
        faiss = _faiss()
        ivf = self._faiss
        sq = ivf.sq if isinstance(ivf, faiss.IndexIVFScalarQuantizer) else None
        lists, size = ivf.invlists, int(ivf.code_size)
        out = np.empty(self._n, dtype=np.float32)
        for cell in range(int(ivf.nlist)):
            n = int(lists.list_size(cell))
            if n == 0:
                continue
            ids_ptr, codes_ptr = lists.get_ids(cell), lists.get_codes(cell)
            codes = faiss.rev_swig_ptr(codes_ptr, n * size).reshape(n, size)
            x = sq.decode(codes) if sq is not None else codes.view(np.float32).reshape(n, self._dim)
            out[faiss.rev_swig_ptr(ids_ptr, n)] = x @ q
            lists.release_ids(cell, ids_ptr)
            lists.release_codes(cell, codes_ptr)
        return out

    # --- search ---------------------------------------------------------------------------
    def search(self, query: npt.NDArray[np.float32], k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if self._faiss is None:
            return Results.from_scores(self._vecs @ q[0], k, mask)
        faiss = _faiss()
        allowed = self._allowed_for(mask) if mask is not None else None
        if allowed is not None and allowed.ids is not None:  # small filter: exact over its rows
            if len(allowed.ids) == 0:
                return Results.empty()
            top = Results.from_scores(self.rows(allowed.ids) @ q[0], k)
            return Results(allowed.ids[top.ids], top.scores)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            ef = max(self.config.ef_search, k)
            if allowed is not None:  # a filter hides part of the graph: widen the beam, at most 4x
                ef = min(4 * ef, ef * self._n // max(allowed.count, 1))
            params.efSearch = ef
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF()  # type: ignore[attr-defined]
            probe = min(self.config.ivf_nprobe, int(self._faiss.nlist))
            if allowed is not None and allowed.subset is not None:
                # a selective filter's rows may all sit in cells far from the query (a category unlike
                # it): visit every cell of an index holding only them (same cells and codes, so the
                # same hits as every cell of the full index under the bitmap, without walking every list's ids)
                params.nprobe = int(self._faiss.nlist)
                scores, ids = allowed.subset.search(q, min(k, allowed.count), params=params)
                keep = ids[0] >= 0
                return Results(ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))
            if allowed is not None and allowed.count * IVF_FULL_PROBE_SHARE <= self._n:
                probe = int(self._faiss.nlist)  # (no subset: the bitmap over every cell)
            elif allowed is not None:  # a broad filter: scan more cells, in proportion, at most 10x
                probe = min(probe * self._n // max(allowed.count, 1), int(self._faiss.nlist))
            params.nprobe = probe
        else:
            params = faiss.SearchParameters()  # type: ignore[attr-defined]
        if allowed is not None:
            params.sel = allowed.selector
        scores, ids = self._faiss.search(q, min(k, self._n), params=params)
        keep = ids[0] >= 0
        return Results(ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))

    def _allowed_for(self, mask: npt.NDArray[np.bool_]) -> _Allowed:
        key = id(mask)
        with self._lock:
            hit = self._allowed.get(key)
            if hit is not None and hit.mask is mask:
                self._allowed.move_to_end(key)
                if not hit.wants_subset:
                    return hit
                hit.wants_subset = False  # this thread builds it; others keep the first-use entry meanwhile
        if hit is not None and hit.mask is mask:
            entry = self._ivf_subset(mask, hit.count)  # (small filters too: no per-query decoding of their rows)
            return self._remember(key, entry)
        if mask.shape != (self._n,):
            raise ValueError(f"mask has shape {mask.shape}, index has {self._n} rows")
        count = int(np.count_nonzero(mask))
        # IVF, selective filter: its own IVF index is built from its second use (a one-off filter, e.g. an
        # arbitrary price range, would pay a loop over every list, ~tens of ms at 1M, on its only request)
        selective = self.kind == "ivf" and count > 0 and count * IVF_FULL_PROBE_SHARE <= self._n
        if count <= self.config.exact_filter_max:
            entry = _Allowed(mask, count, np.flatnonzero(mask).astype(np.int64), None, None)
        else:  # faiss skips disallowed rows (flat SQ scans, HNSW walks, IVF lists)
            entry = self._bitmap_entry(mask, count)
        entry.wants_subset = selective
        return self._remember(key, entry)

    def _remember(self, key: int, entry: _Allowed) -> _Allowed:
        with self._lock:
            old = self._allowed.get(key)  # the first-use entry a subset replaces
            self._allowed[key] = entry
            self._subset_bytes += entry.subset_bytes - (old.subset_bytes if old is not None else 0)
            while len(self._allowed) > 1 and (
                len(self._allowed) > _SELECTOR_CACHE or self._subset_bytes > IVF_SUBSET_BYTES
            ):
                self._subset_bytes -= self._allowed.popitem(last=False)[1].subset_bytes
        return entry

    def _ivf_subset(self, mask: npt.NDArray[np.bool_], count: int) -> _Allowed:
        """An IVF index over the same cells (shared coarse quantizer and codec) holding the rows
        ``mask`` allows, their codes copied list by list: a full probe of it scans those rows only
        (the bitmap path walks all n ids of every list). ``count`` x (code + id) bytes, built once."""
        faiss = _faiss()
        ivf = self._faiss
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
            sub = faiss.IndexIVFScalarQuantizer(
                ivf.quantizer, ivf.d, ivf.nlist, ivf.sq.qtype, ivf.metric_type, ivf.by_residual
            )
            sub.sq = ivf.sq  # the trained codec (copied by value)
        else:
            sub = faiss.IndexIVFFlat(ivf.quantizer, ivf.d, ivf.nlist, ivf.metric_type)
        sub.is_trained = True
        lists, size = ivf.invlists, int(ivf.code_size)
        for cell in range(int(ivf.nlist)):
            n = int(lists.list_size(cell))
            if n == 0:
                continue
            ids_ptr, codes_ptr = lists.get_ids(cell), lists.get_codes(cell)
            ids = faiss.rev_swig_ptr(ids_ptr, n)
            keep = mask[ids]
            if keep.any():
                rows = np.ascontiguousarray(ids[keep], dtype=np.int64)
                codes = np.ascontiguousarray(faiss.rev_swig_ptr(codes_ptr, n * size).reshape(n, size)[keep])
                sub.invlists.add_entries(cell, len(rows), faiss.swig_ptr(rows), faiss.swig_ptr(codes))
            lists.release_ids(cell, ids_ptr)
            lists.release_codes(cell, codes_ptr)
        sub.ntotal = count
        return _Allowed(mask, count, None, None, None, sub)

    def _bitmap_entry(self, mask: npt.NDArray[np.bool_], count: int) -> _Allowed:
        faiss = _faiss()
        bitmap = np.packbits(mask, bitorder="little")  # faiss reads bit i at byte i >> 3, bit i & 7
        sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # n: bytes of the bitmap
        return _Allowed(mask, count, None, bitmap, sel)

    # --- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        for stale in ("vectors.npy", *FAISS_FILES):
            (p / stale).unlink(missing_ok=True)
        meta = {
            "config": asdict(self.config),
            "kind": self.kind,
            "storage": self.storage,
            "n": self._n,
            "dim": self._dim,
        }
        if self._faiss is None:
            np.save(p / "vectors.npy", self._vecs, allow_pickle=False)
        else:
            faiss = _faiss()
            name = {"hnsw": "hnsw.faiss", "ivf": "ivf.faiss"}.get(self.kind, "vectors.faiss")
            faiss.write_index(self._faiss, str(p / name))
        (p / "vector_index.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> VectorIndex:
        """The index saved at ``path``. ``mmap``: map the vectors (and an HNSW graph) read-only from
        the file instead of reading them into this process: processes serving the same files
        share one copy in the page cache, and pages are read on first touch. Saving never
        rewrites a file in place (it writes a new one), so a mapped index stays valid."""
        p = Path(path)
        meta = json.loads((p / "vector_index.json").read_text())
        obj = cls(VectorIndexConfig.from_json(meta["config"]))
        faiss_file = next((p / f for f in FAISS_FILES if (p / f).exists()), None)
        if faiss_file is not None:  # folders from before one-copy storage also hold vectors.npy: unused
            obj._faiss = _read_faiss(faiss_file, mmap)
            obj._n, obj._dim = int(obj._faiss.ntotal), int(obj._faiss.d)
            obj._built_kind = FAISS_FILES[faiss_file.name]
            obj._built_storage = str(meta.get("storage", "fp32"))
            obj._attach()
        else:
            raw = np.load(p / "vectors.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
            obj._vecs = raw.view(np.ndarray) if mmap else raw  # a plain (read-only) array over the mapping
            obj._n, obj._dim = (int(x) for x in obj._vecs.shape)
            obj._built_kind, obj._built_storage = "flat", "fp32"
        return obj


def _read_faiss(file: Path, mmap: bool) -> Any:
    """``faiss.read_index``; with ``mmap``, codes and graph mapped from the file (``IO_FLAG_MMAP_IFC``)
    where this faiss build and index type allow it, else read into memory."""
    faiss = _faiss()
    flag = getattr(faiss, "IO_FLAG_MMAP_IFC", None)
    if mmap and flag is not None:
        try:
            return faiss.read_index(str(file), flag)
        except RuntimeError:  # an index type faiss cannot map: read it
            pass
    return faiss.read_index(str(file))
