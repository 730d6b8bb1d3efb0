"""``shelfwise value labels|events|show`` on tiny made-up files with the hashing encoder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shelfwise.cli.main import main
from shelfwise.errors import DataError

_WORDS = {
    "shoes": ["running shoe", "trail sneaker", "leather boot", "canvas sneaker", "hiking boot"],
    "dress": ["summer dress", "evening gown", "floral dress", "maxi dress", "party dress"],
    "pants": ["denim jeans", "slim trousers", "cargo pants", "chino trousers", "linen pants"],
}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _rows(variant: int, with_group: bool = True) -> list[dict[str, str]]:
    out = []
    for label, words in _WORDS.items():
        for i, w in enumerate(words):
            row = {"text": f"{w} {['red', 'blue', 'black'][(i + variant) % 3]}", "label": label}
            if with_group:
                row["group"] = f"q{i % 2}"
                row["source"] = "feed" if i % 2 else "manual"
            out.append(row)
    return out


def test_value_labels_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = _write(tmp_path / "train.csv", _rows(0))
    valid = _write(tmp_path / "valid.csv", _rows(1, with_group=False))
    pool = _write(tmp_path / "pool.csv", [{"text": r["text"], "group": r["group"]} for r in _rows(2)])
    out = tmp_path / "rep"
    args = [
        "value",
        "labels",
        "--train",
        str(train),
        "--valid",
        str(valid),
        "--pool",
        str(pool),
        "--group-col",
        "group",
        "--source-col",
        "source",
        "--encoder",
        "hashing",
        "--cache",
        str(tmp_path / "c.sqlite"),
        "-k",
        "3",
        "--max-permutations",
        "16",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"samples: knn-shapley", "groups: leave-one-out", "sources: tmc-shapley"} <= set(summary["values"])
    assert len(summary["values"]["samples: knn-shapley"]["most_valuable"]) == 15
    assert summary["label_next"] and (out / "report.html").exists() and (out / "distribution.png").exists()
    assert any(p.name.startswith("removal_") for p in out.glob("*.png"))
    assert main(["value", "show", str(out)]) == 0
    assert "least valuable" in capsys.readouterr().out


def test_value_labels_bad_row_names_file_row_field(tmp_path: Path) -> None:
    rows = _rows(0)
    rows[3]["label"] = ""
    train = _write(tmp_path / "train.csv", rows)
    from shelfwise.valuation.pipeline import read_labelled

    with pytest.raises(DataError, match=r"train.csv: line 5: field 'label'"):
        read_labelled(train)
    assert main(["value", "show", str(tmp_path / "nothing")]) == 2
