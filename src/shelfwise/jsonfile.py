"""One reader for the small JSON manifests every saved part carries (format tag and version first,
as gorse's model files and sentence-transformers' ``modules.json`` do): errors name the file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def version_problem(version: object, newest: int, what: str, fix: str = "upgrade shelfwise") -> str | None:
    """None when ``version`` is a JSON integer from 1 to ``newest`` (not 1.9, true or "1");
    otherwise why not, in the one wording every saved-file reader uses:
    ``"<what> is version <version>; this Shelfwise reads versions 1 to <newest>"``, followed by
    ``": <fix>"`` when the file is newer than this code."""
    if type(version) is int and 1 <= version <= newest:
        return None
    newer = type(version) is int and version > newest
    return f"{what} is version {version!r}; this Shelfwise reads versions 1 to {newest}" + (f": {fix}" if newer else "")


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
    ``default_version``; :func:`version_problem`), and every key in ``required`` is present.

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
    if found != fmt:
        raise ValueError(f"{path}: format {found!r}; this Shelfwise reads format {fmt!r}")
    problem = version_problem(raw.get("version", default_version), max_version, f"format {fmt!r}")
    if problem is not None:
        raise ValueError(f"{path}: {problem}")
    lacking = sorted(set(required) - set(raw))
    if lacking:
        raise ValueError(f"{path}: corrupt (no {', '.join(lacking)})")
    return raw
