"""A graph's large initializers, read once and kept as memory-mapped ``.npy`` files, so that several
ONNX Runtime sessions (:mod:`shelfwise.encode.onnx_session`) and several processes read one copy.

Layout under ``$SHELFWISE_CACHE/onnx-initializers`` (never beside a graph that ships in a package):
``graphs/<hash of the graph's path>.json`` names the graph's path, size and mtime (a rewritten graph
misses) and, per initializer, a file in ``data/`` named by the hash of its bytes. Content addressing
keeps one copy of a table many graphs share: every fine-tuned version of e5 keeps the base's frozen
384 MB word-embedding table. Each write prunes entries whose graph is gone and data files no entry
names, so the cache does not grow with versions deleted since.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARED_MIN_ELEMENTS = 1_000_000  # initializers at least this large are shared
ORPHAN_GRACE_S = 3600.0  # an unnamed data file younger than this may belong to a write in progress


def cache_root() -> Path:
    from shelfwise.encode.e5 import cache_dir

    return cache_dir() / "onnx-initializers"


def large_initializers(model_file: Path) -> dict[str, Any] | None:
    """name -> array (memory-mapped when cached) of the graph's initializers of at least
    ``SHARED_MIN_ELEMENTS`` elements; None when they cannot be read (no ``onnx`` package, weights
    stored outside the graph file)."""
    cached = _read(model_file)
    if cached is not None:
        return cached
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return None
    model = onnx.load(str(model_file), load_external_data=False)
    arrays: dict[str, Any] = {}
    for init in model.graph.initializer:
        if int(np.prod(init.dims)) < SHARED_MIN_ELEMENTS:
            continue
        if init.data_location == onnx.TensorProto.EXTERNAL:
            return None
        arrays[init.name] = np.ascontiguousarray(numpy_helper.to_array(init))
    del model
    _write(model_file, arrays)
    return _read(model_file) or arrays


def _entry(model_file: Path) -> Path:
    key = hashlib.sha1(str(model_file.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_root() / "graphs" / f"{key}.json"


def _stamp(model_file: Path) -> dict[str, Any]:
    st = model_file.stat()
    return {"path": str(model_file.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read(model_file: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(_entry(model_file).read_text(encoding="utf-8"))
        if entry.get("graph") != _stamp(model_file):
            return None
        data = cache_root() / "data"
        return {name: np.load(data / f, mmap_mode="r") for name, f in entry["files"].items()}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None


def _write(model_file: Path, arrays: dict[str, Any]) -> None:
    """Best effort (without a writable cache every load reads the graph); each file by a rename."""
    root = cache_root()
    try:
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "graphs").mkdir(parents=True, exist_ok=True)
        files = {}
        for name, a in arrays.items():
            digest = hashlib.blake2b(memoryview(a).cast("B"), digest_size=20).hexdigest()
            f = f"{digest}-{a.dtype.str.strip('<>|=')}-{'x'.join(map(str, a.shape))}.npy"
            if not (root / "data" / f).exists():
                tmp = root / "data" / f"{f}.tmp{os.getpid()}.npy"
                np.save(tmp, a)
                tmp.rename(root / "data" / f)
            files[name] = f
        entry = _entry(model_file)
        tmp_entry = entry.with_name(entry.name + f".tmp{os.getpid()}")
        tmp_entry.write_text(json.dumps({"graph": _stamp(model_file), "files": files}), encoding="utf-8")
        tmp_entry.rename(entry)
        prune(root)
    except OSError:
        return


def prune(root: Path | None = None) -> list[Path]:
    """Remove entries whose graph no longer exists and data files no entry names (older than
    ``ORPHAN_GRACE_S``); returns what was removed."""
    root = root or cache_root()
    removed: list[Path] = []
    named: set[str] = set()
    for entry in sorted((root / "graphs").glob("*.json")):
        try:
            meta = json.loads(entry.read_text(encoding="utf-8"))
            path = Path(meta["graph"]["path"])
            files = dict(meta["files"])
        except (OSError, ValueError, KeyError, TypeError):
            path, files = Path(), {}
        if not files or not path.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
            continue
        named.update(files.values())
    now = time.time()
    for f in sorted((root / "data").glob("*.npy")):
        try:
            old = now - f.stat().st_mtime > ORPHAN_GRACE_S
        except OSError:
            continue
        if f.name not in named and old:
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed
