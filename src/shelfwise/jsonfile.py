"""One reader for the small JSON manifests every saved part carries (format tag and version first,
as gorse's model files and sentence-transformers' ``modules.json`` do): errors name the file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def read_manifest_json(
    path: Path,
    *,
    fmt: str,
    max_version: int,
    missing: str,
    required: Iterable[str] = (),
    default_format: str | None = None,
    default_version: int = 1,
) -> dict[str, Any]:
    """The JSON object in ``path``, checked: ``format`` equals ``fmt`` (a file without one reads as
    ``default_format`` when given), ``version`` is a JSON integer from 1 to ``max_version`` (absent:
    ``default_version``), and every key in ``required`` is present.

    Raises ``FileNotFoundError("<path>: <missing>")`` when the file is absent and ``ValueError``
    starting with the path otherwise (unreadable, not an object, wrong format/version, keys missing)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: corrupt ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: corrupt (not a JSON object)")
    found = raw.get("format", default_format)
    version = raw.get("version", default_version)
    if found != fmt or type(version) is not int or not 1 <= version <= max_version:  # not 1.9, True or "1"
        raise ValueError(
            f"{path}: format {found!r} version {raw.get('version', default_version)!r}; "
            f"this Shelfwise reads format {fmt!r} versions 1 to {max_version}"
        )
    lacking = sorted(set(required) - set(raw))
    if lacking:
        raise ValueError(f"{path}: corrupt (no {', '.join(lacking)})")
    return raw
