"""Persistence helpers for recommenders: npz arrays + JSON, never pickle.

Every reader names the file it failed on (missing, unreadable, wrong keys or shapes), and
config dataclasses round-trip through JSON with type checks, nested configs included, and their
own ``__post_init__`` validation.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

T = TypeVar("T")


class StateFileError(ValueError):
    """A saved-state file is missing, unreadable or inconsistent; the message starts with its path."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False), encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; :class:`StateFileError` naming the file otherwise."""
    if not path.is_file():
        raise StateFileError(path, "file is missing")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateFileError(path, f"unreadable JSON ({e})") from e
    if not isinstance(obj, dict):
        raise StateFileError(path, "expected a JSON object")
    return obj


def read_npz(path: Path, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` file (loaded eagerly, ``allow_pickle=False``)."""
    if not path.is_file():
        raise StateFileError(path, "file is missing")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise StateFileError(path, f"missing arrays {missing}")
            return {k: z[k] for k in z.files}
    except StateFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise StateFileError(path, f"unreadable npz ({e})") from e


def csr_arrays(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as scipy's own npz layout (data, indices, indptr, shape), keys prefixed."""
    m = sp.csr_matrix(m)
    return {
        f"{prefix}_data": m.data,
        f"{prefix}_indices": m.indices,
        f"{prefix}_indptr": m.indptr,
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_keys(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{k}" for k in ("data", "indices", "indptr", "shape"))


def csr_from(arrays: dict[str, np.ndarray], prefix: str, path: Path, shape: tuple[int, int]) -> sp.csr_matrix:
    """Rebuild a CSR matrix saved by :func:`csr_arrays`, checking it has ``shape``."""
    saved = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    if saved != shape:
        raise StateFileError(path, f"{prefix} has shape {saved}, expected {shape}")
    try:
        m = sp.csr_matrix(
            (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]), shape=shape
        )
        m.check_format(full_check=True)
    except ValueError as e:
        raise StateFileError(path, f"corrupt sparse matrix {prefix!r} ({e})") from e
    return m


def check_shape(path: Path, name: str, arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if arr.shape != shape:
        raise StateFileError(path, f"{name} has shape {arr.shape}, expected {shape}")
    return arr


# --- config dataclasses <-> JSON ----------------------------------------------------------------
def config_to_json(cfg: object) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict (tuples become lists, nested configs dicts)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"expected a dataclass instance, got {type(cfg).__name__}")
    return dataclasses.asdict(cfg)


def config_from_json(cls: type[T], data: object, where: str = "") -> T:
    """Rebuild config dataclass ``cls`` from :func:`config_to_json` output.

    Unknown fields and values of the wrong type raise ``ValueError`` naming the field path;
    missing fields take their defaults; ``__post_init__`` validation runs as usual.
    """
    return typing.cast(T, _convert(data, cls, where or cls.__name__))


def _convert(value: object, hint: Any, where: str) -> object:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(hint)
        names = {f.name for f in dataclasses.fields(hint) if f.init}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}")
        kwargs = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in value.items()}
        try:
            return hint(**kwargs)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from e
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _convert(value, option, where)
            except ValueError:
                continue
        raise ValueError(f"{where}: {value!r} does not match {hint}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if hint is type(None):
        if value is not None:
            raise ValueError(f"{where}: expected null")
        return None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int or hint is str or hint is bool:
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    raise ValueError(f"{where}: unsupported config field type {hint}")
