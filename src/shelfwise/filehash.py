"""SHA-256 of files read in 1 MiB blocks (weights hashes in model names and saved manifests)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

BLOCK = 1 << 20


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


def feed_file(h: Hasher, path: Path) -> None:
    """Add the bytes of ``path`` to ``h``, a block at a time (weights files run to gigabytes)."""
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            h.update(block)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the bytes of ``path``."""
    h = hashlib.sha256()
    feed_file(h, path)
    return h.hexdigest()
