"""The manifest of a saved shelf (``shelf.json``) and the atomic publish of a shelf folder.

A saved shelf is one folder: ``shelf.json`` lists its parts, like sentence-transformers'
``modules.json``; each part saves itself into its own subfolder with its own format name and
version (the searcher's ``searcher.json``, the recommender's ``hybrid.json``, ...). The manifest
repeats each part's kind, format and version, and records every file's size and SHA-256, so a
newer format, a missing file or a corrupt one is refused with an error naming the file before
any loader reads it.

Layout::

    shelf.json              {"format": "shelfwise-shelf", "version": 1, "parts": [...]}
    catalog/catalog.parquet
    searcher/               searcher.json, lexical/, vectors/ (the search lead's format)
    reranker/               ltr.json or the cross-encoder's manifest (optional)
    recommender/            hybrid.json + npz (optional)
    bandit/                 slots.json + policy/ (optional)
    live/                   live.json + live.npz: live state and the event-log offset (optional)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shelfwise.jsonfile import version_problem

FORMAT = "shelfwise-shelf"
VERSION = 1
MANIFEST = "shelf.json"
RERUN = "re-run `shelfwise index` (or `shelfwise demo`) to write it again"


class ShelfFormatError(ValueError):
    """A saved shelf (or one of its files) is missing, corrupt, or of a format this version cannot
    read; the message starts with the file's path."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Part:
    """One entry of the manifest: ``name`` (catalog, searcher, ...), the ``kind`` of object it
    holds (e.g. ltr or cross for the reranker), its own ``format`` and ``version``, the subfolder
    ``path``, ``files`` (relative path -> [bytes, sha256]) and part-specific ``extra`` fields."""

    name: str
    kind: str
    format: str
    version: int
    path: str
    files: dict[str, list[Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "format": self.format,
            "version": self.version,
            "path": self.path,
            **self.extra,
            "files": self.files,
        }


@dataclass(frozen=True)
class Manifest:
    root: Path
    version: int
    parts: dict[str, Part]
    created_unix: float = 0.0
    digest: str = ""  # SHA-256 of shelf.json's bytes, 16 hex digits: which saved shelf this is (see shelf_digest)

    def folder(self, name: str) -> Path:
        return self.root / self.parts[name].path

    def has(self, name: str) -> bool:
        return name in self.parts


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_version(path: Path, version: object, newest: int, what: str) -> int:
    """``version`` as an int in 1..``newest``; else :class:`ShelfFormatError` naming ``path``
    (:func:`~shelfwise.jsonfile.version_problem`'s wording)."""
    problem = version_problem(version, newest, what, fix=f"upgrade shelfwise or {RERUN}")
    if problem is not None:
        raise ShelfFormatError(path, problem)
    assert isinstance(version, int)  # version_problem checked it
    return version


def fingerprint(folder: Path) -> dict[str, list[Any]]:
    """Every file under ``folder``: relative path -> [size in bytes, sha256]."""
    out: dict[str, list[Any]] = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        out[f.relative_to(folder).as_posix()] = [f.stat().st_size, sha256(f)]
    return out


def write_manifest(root: Path, parts: list[Part], created_unix: float | None = None) -> None:
    from shelfwise import __version__

    payload = {
        "format": FORMAT,
        "version": VERSION,
        "shelfwise_version": __version__,
        "created_unix": time.time() if created_unix is None else created_unix,
        "parts": [p.to_json() for p in parts],
    }
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, root / MANIFEST)


def read_manifest(root: Path, supported: dict[str, tuple[str, int]]) -> Manifest:
    """``shelf.json`` of ``root``, checked: the shelf format and version, each part's format and
    version against ``supported`` (name -> (format, newest version read)), unknown parts refused."""
    f = root / MANIFEST
    try:
        data = f.read_bytes()
        raw = json.loads(data.decode("utf-8"))
    except FileNotFoundError as e:
        raise ShelfFormatError(f, f"no manifest; {RERUN}") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ShelfFormatError(f, f"corrupt manifest ({e}); {RERUN}") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ShelfFormatError(f, f"not a shelf manifest (format {got!r}, expected {FORMAT!r})")
    version = check_version(f, raw.get("version"), VERSION, "the shelf format")
    parts: dict[str, Part] = {}
    for i, entry in enumerate(raw.get("parts") or []):
        part = _part(f, i, entry)
        if part.name not in supported:
            raise ShelfFormatError(f, f"unknown part {part.name!r} (known: {sorted(supported)}); upgrade shelfwise")
        fmt, newest = supported[part.name]
        if part.format != fmt:
            raise ShelfFormatError(f, f"part {part.name!r} has format {part.format!r}, expected {fmt!r}")
        check_version(f, part.version, newest, f"part {part.name!r} ({part.format})")
        parts[part.name] = part
    for required in ("catalog", "searcher"):
        if required not in parts:
            raise ShelfFormatError(f, f"no {required!r} part; {RERUN}")
    return Manifest(root, version, parts, float(raw.get("created_unix") or 0.0), shelf_digest(data))


def shelf_digest(manifest: bytes) -> str:
    """A saved shelf's identity: the SHA-256 of its manifest's bytes, first 16 hex digits. The
    manifest lists every file's SHA-256 and the time it was saved, so two saves differ even when
    their files are alike, and two workers that loaded the same folder at different times agree
    only when they hold the same save."""
    return hashlib.sha256(manifest).hexdigest()[:16]


def _part(f: Path, i: int, entry: object) -> Part:
    if not isinstance(entry, dict):
        raise ShelfFormatError(f, f"parts[{i}] is not an object")
    try:
        name, kind, fmt, path = (str(entry[k]) for k in ("name", "kind", "format", "path"))
        version = entry["version"]
        files = entry.get("files") or {}
    except KeyError as e:
        raise ShelfFormatError(f, f"parts[{i}] lacks {e}") from e
    if type(version) is not int or not isinstance(files, dict):
        raise ShelfFormatError(f, f"parts[{i}] ({name}): bad version or files")
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise ShelfFormatError(f, f"parts[{i}] ({name}): path {path!r} leaves the shelf folder")
    known = {"name", "kind", "format", "version", "path", "files"}
    extra = {k: v for k, v in entry.items() if k not in known}
    return Part(name, kind, fmt, version, path, files, extra)


def verify(manifest: Manifest, name: str, checksums: bool = True) -> None:
    """Every file the manifest lists for part ``name`` is present with its size (and SHA-256 when
    ``checksums``); raises :class:`ShelfFormatError` naming the first file that is not."""
    part = manifest.parts[name]
    folder = manifest.root / part.path
    for rel, spec in part.files.items():
        f = folder / rel
        try:
            size = f.stat().st_size
        except FileNotFoundError as e:
            raise ShelfFormatError(f, f"missing file of the {name} part; {RERUN}") from e
        if not isinstance(spec, list) or len(spec) != 2 or size != spec[0]:
            raise ShelfFormatError(f, f"{size} bytes, the manifest says {spec[0]}: truncated or changed; {RERUN}")
        if checksums and sha256(f) != spec[1]:
            raise ShelfFormatError(f, f"checksum mismatch: the file is corrupt or changed since it was saved; {RERUN}")


def is_shelf_folder(path: Path) -> bool:
    """A saved shelf or an index folder from before shelves (``searcher.json`` + ``catalog.parquet``)."""
    return (path / MANIFEST).is_file() or (path / "searcher.json").is_file()


def staging_dir(final: Path) -> Path:
    """A fresh sibling folder to write a shelf into before :func:`publish` moves it in place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    return tmp


def publish(staged: Path, final: Path) -> None:
    """Move the fully written ``staged`` folder to ``final``. A previous shelf there is swapped
    out by two renames and deleted, so a reader sees the old shelf or the new one, never a mix
    (between the renames the folder is briefly absent, and a reload then fails and keeps serving).
    A non-empty ``final`` that is not a shelf is never replaced."""
    if final.exists():
        if final.is_dir() and any(final.iterdir()) and not is_shelf_folder(final):
            shutil.rmtree(staged, ignore_errors=True)
            raise FileExistsError(f"{final}: not a shelf or index folder; refusing to replace it")
        old = final.parent / f".{final.name}.old-{os.getpid()}-{time.monotonic_ns()}"
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)
