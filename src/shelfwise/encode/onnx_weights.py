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

import contextlib
import hashlib
import json
import os
import tempfile
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
    before = _stamp(model_file)  # the entry is written only if the graph did not change while read
    model = onnx.load(str(model_file), load_external_data=False)
    arrays: dict[str, Any] = {}
    for init in model.graph.initializer:
        if int(np.prod(init.dims)) < SHARED_MIN_ELEMENTS:
            continue
        if init.data_location == onnx.TensorProto.EXTERNAL:
            return None
        arrays[init.name] = np.ascontiguousarray(numpy_helper.to_array(init))
    del model
    _write(model_file, arrays, before)
    return _read(model_file) or arrays


def _entry(model_file: Path) -> Path:
    key = hashlib.sha1(str(model_file.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_root() / "graphs" / f"{key}.json"


def _stamp(model_file: Path) -> dict[str, Any]:
    """What tells this graph file from a rewritten one: a copy that keeps size and mtime (``cp -p``,
    ``rsync -a``) still gets a new inode and ctime, which no copy tool can set."""
    st = model_file.stat()
    return {
        "path": str(model_file.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }


def _data_name(a: Any) -> str:
    digest = hashlib.blake2b(memoryview(a).cast("B"), digest_size=20).hexdigest()
    return f"{digest}-{a.dtype.str.strip('<>|=')}-{'x'.join(map(str, a.shape))}.npy"


def _load(path: Path) -> Any:
    """The mapped array of a data file, checked against the dtype and shape its name records."""
    a = np.load(path, mmap_mode="r")
    _, dtype, shape = path.stem.rsplit("-", 2)
    if a.dtype.str.strip("<>|=") != dtype or "x".join(map(str, a.shape)) != shape:
        raise ValueError(f"{path}: holds {a.dtype} {a.shape}")
    return a


def _read(model_file: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(_entry(model_file).read_text(encoding="utf-8"))
        if entry.get("graph") != _stamp(model_file):
            return None
        data = cache_root() / "data"
        return {name: _load(data / f) for name, f in entry["files"].items()}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None


def _publish(tmp: Path, final: Path) -> None:
    """``tmp`` (fsynced) becomes ``final`` without ever replacing a file someone may have mapped:
    a hard link, which fails when ``final`` exists (another writer published the same bytes)."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    with contextlib.suppress(FileExistsError):
        os.link(tmp, final)


def _write(model_file: Path, arrays: dict[str, Any], before: dict[str, Any]) -> None:
    """Best effort (without a writable cache every load reads the graph). Temp files are unique to
    the writer (``mkstemp``: two writers never share one, even with equal pids in two containers)."""
    root = cache_root()
    temps: list[Path] = []
    try:
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "graphs").mkdir(parents=True, exist_ok=True)
        files = {}
        for name, a in arrays.items():
            f = _data_name(a)
            final = root / "data" / f
            try:
                _load(final)
                os.utime(final)  # adopted: not an orphan for a prune running now
            except (OSError, ValueError):
                final.unlink(missing_ok=True)  # missing, cut short or unreadable: written again
                fd, tmp_name = tempfile.mkstemp(dir=root / "data", prefix=f".{f}.", suffix=".tmp")
                temps.append(Path(tmp_name))
                with os.fdopen(fd, "wb") as out:
                    np.save(out, a)
                _publish(temps[-1], final)
            files[name] = f
        if _stamp(model_file) != before:  # the graph changed while it was read: no entry
            return
        fd, tmp_name = tempfile.mkstemp(dir=root / "graphs", prefix=".entry.", suffix=".tmp")
        temps.append(Path(tmp_name))
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"graph": before, "files": files}, out)
        os.replace(temps[-1], _entry(model_file))  # entries are read whole, never mapped
        prune(root)
    except OSError:
        return
    finally:
        for t in temps:
            t.unlink(missing_ok=True)


def prune(root: Path | None = None) -> list[Path]:
    """Remove entries whose graph no longer exists and data files no entry names (older than
    ``ORPHAN_GRACE_S``, as are leftover temp files); returns what was removed."""
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
    for f in sorted([*(root / "data").glob("*"), *(root / "graphs").glob(".entry.*")]):
        try:
            old = now - f.stat().st_mtime > ORPHAN_GRACE_S
        except OSError:
            continue
        if f.name not in named and old:
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed
