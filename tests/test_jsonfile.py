from __future__ import annotations

import json
from pathlib import Path

import pytest

from shelfwise.jsonfile import read_manifest_json


def _write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_reads_a_valid_manifest(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.json", {"format": "x", "version": 2, "a": 1})
    assert read_manifest_json(f, fmt="x", max_version=2, missing="gone", required=("a",))["a"] == 1


def test_missing_file_names_it_with_the_hint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"m\.json: build one first"):
        read_manifest_json(tmp_path / "m.json", fmt="x", max_version=1, missing="build one first")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"m\.json: corrupt \("),
        ("[1, 2]", r"m\.json: corrupt \(not a JSON object\)"),
        (
            '{"format": "y", "version": 1}',
            r"m\.json: format 'y'; this Shelfwise reads format 'x'$",
        ),
        (
            '{"format": "x", "version": 3}',
            r"m\.json: format 'x' is version 3; this Shelfwise reads versions 1 to 2: upgrade shelfwise$",
        ),
        (
            '{"format": "x", "version": "two"}',
            r"m\.json: format 'x' is version 'two'; this Shelfwise reads versions 1 to 2$",
        ),
        ('{"format": "x", "version": "1"}', r"m\.json: format 'x' is version '1';"),
        ('{"format": "x", "version": 1.5}', r"m\.json: format 'x' is version 1\.5;"),
        ('{"format": "x", "version": true}', r"m\.json: format 'x' is version True;"),
        ('{"format": "x", "version": 1}', r"m\.json: corrupt \(no a, b\)"),
    ],
)
def test_bad_manifests_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "m.json"
    f.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_manifest_json(f, fmt="x", max_version=2, missing="gone", required=("b", "a"))


def test_defaults_for_files_without_format_or_version(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.json", {"a": 1})
    assert read_manifest_json(f, fmt="x", max_version=1, missing="gone", default_format="x")["a"] == 1
    with pytest.raises(ValueError, match=r"is version -1; this Shelfwise reads versions 1 to 1$"):
        read_manifest_json(f, fmt="x", max_version=1, missing="gone", default_format="x", default_version=-1)
