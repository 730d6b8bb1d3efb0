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
    page = (out / "report.html").read_text()
    assert "src='data:image/png;base64," in page and "src='distribution.png'" not in page  # served alone, no 404s
    assert any(p.name.startswith("removal_") for p in out.glob("*.png"))
    assert main(["value", "show", str(out)]) == 0
    assert "least valuable" in capsys.readouterr().out
    # a run stopped by the permutation cap says so in the printed summary
    assert main([*args[:-4], "--max-permutations", "3", "--out", str(tmp_path / "capped")]) == 0
    shown = capsys.readouterr().out
    assert "groups: tmc-shapley: 2 players" in shown
    assert "NOT converged (permutation cap reached: raise --max-permutations)" in shown


def test_value_labels_bad_row_names_file_row_field(tmp_path: Path) -> None:
    rows = _rows(0)
    rows[3]["label"] = ""
    train = _write(tmp_path / "train.csv", rows)
    from shelfwise.valuation.pipeline import read_labelled

    with pytest.raises(DataError, match=r"train.csv: line 5: field 'label'"):
        read_labelled(train, strict=True)
    kept = read_labelled(train)  # the default keeps the good rows and reports the bad one
    assert len(kept.texts) == len(rows) - 1 and rows[3]["text"] not in kept.texts
    assert [(e.row, e.field) for e in kept.skipped] == [(5, "label")]
    assert main(["value", "show", str(tmp_path / "nothing")]) == 2


def test_value_labels_cli_keeps_good_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(0)
    rows[2]["text"] = ""
    train = _write(tmp_path / "train.csv", rows)
    valid = _write(tmp_path / "valid.csv", _rows(1, with_group=False))
    out = tmp_path / "rep"
    args = ["value", "labels", "--train", str(train), "--valid", str(valid), "--encoder", "hashing"]
    args += ["--cache", str(tmp_path / "c.sqlite"), "--max-permutations", "4", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "--train: skipped 1 bad row (kept 14)" in text and "train.csv: line 4: field 'text': missing value" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["values"]["samples: knn-shapley"]["players"] == 14
    # samples are named by their line in the file (the skipped line 4 does not shift those after it)
    named = [name for name, _, _ in summary["values"]["samples: knn-shapley"]["most_valuable"]]
    by_line = {f"line {i + 2}": r["text"] for i, r in enumerate(rows)}  # the header is line 1
    assert named and all(n.split(": ", 1)[1] == by_line[n.split(": ", 1)[0]][:60] for n in named)


def test_value_labels_missing_column_fails_once_listing_columns(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", _rows(0))
    from shelfwise.valuation.pipeline import read_labelled

    with pytest.raises(DataError) as info:
        read_labelled(train, group_col="grp")
    msg = str(info.value)
    assert "train.csv: no column 'grp'; its columns are ['group', 'label', 'source', 'text']" in msg
    assert len(info.value.errors) == 1 and "line" not in msg


def test_value_labels_pool_without_group_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pool's group column is optional (documented so): without it each text is ranked on its own
    instead of the run failing with 'no column'."""
    train = _write(tmp_path / "train.csv", _rows(0))
    valid = _write(tmp_path / "valid.csv", _rows(1, with_group=False))
    pool = _write(tmp_path / "pool.csv", [{"text": "blue sneaker"}, {"text": "long gown"}])
    out = tmp_path / "rep"
    args = ["value", "labels", "--train", str(train), "--valid", str(valid), "--pool", str(pool)]
    args += ["--group-col", "group", "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main([*args, "--max-permutations", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"--pool: {pool} has no 'group' column: each unlabelled text is ranked on its own" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert sorted((row[0], row[2]) for row in summary["label_next"]) == [("blue sneaker", 1), ("long gown", 1)]
    assert "groups: leave-one-out" in summary["values"]


def test_value_labels_names_validation_labels_the_training_file_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validation labels no training row has were silently counted as misses; with none in common
    every value and curve was 0 and the run 'succeeded'."""
    train = _write(tmp_path / "train.csv", _rows(0, with_group=False))
    other = [{"text": r["text"], "label": r["label"].upper()} for r in _rows(1, with_group=False)]
    valid = _write(tmp_path / "valid.csv", other)
    base = ["value", "labels", "--train", str(train), "--encoder", "hashing", "--max-permutations", "4"]
    assert main([*base, "--valid", str(valid), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "no validation label is a training label" in err and "'DRESS'" in err
    some = [*_rows(1, with_group=False), {"text": "wool scarf", "label": "scarves"}]
    valid2 = _write(tmp_path / "valid2.csv", some)
    assert main([*base, "--valid", str(valid2), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "1 of 16 validation rows have a label no training row has ('scarves')" in out


def test_value_labels_explains_the_values_and_lists_few_players_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two sources were printed as 'most valuable' and again, reversed, as 'least valuable', and
    nothing said what a value measures."""
    train = _write(tmp_path / "train.csv", _rows(0))
    valid = _write(tmp_path / "valid.csv", _rows(1, with_group=False))
    args = ["value", "labels", "--train", str(train), "--valid", str(valid), "--source-col", "source"]
    assert main([*args, "--encoder", "hashing", "--max-permutations", "4", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    sources = out[out.index("sources: leave-one-out") :].split("\n\n")[0]
    assert "ranked:" in sources and "least valuable" not in sources
    assert sources.count("(n=") == 2  # feed and manual, once each
    samples = out[out.index("samples: knn-shapley") :].split("\n\n")[0]
    assert "most valuable:" in samples and "least valuable:" in samples  # 15 players: both ends
    assert "note: Utility: mean precision@5 on the validation file" in out


def test_value_labels_shows_a_bar_while_embedding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Embedding the files is most of a run (minutes for a large training file) and showed nothing."""
    train = _write(tmp_path / "train.csv", _rows(0, with_group=False))
    valid = _write(tmp_path / "valid.csv", _rows(1, with_group=False))
    args = ["value", "labels", "--train", str(train), "--valid", str(valid), "--encoder", "hashing"]
    assert main([*args, "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert err.count("embed hashing") >= 2 and "15/15" in err  # the training file, then the validation file


def test_value_events_offers_no_encoder_flags(capsys: pytest.CaptureFixture[str]) -> None:
    """--encoder and --cache were listed in `value events --help` and ignored: the co-occurrence
    recommender it values embeds nothing."""
    with pytest.raises(SystemExit):
        main(["value", "events", "--help"])
    text = capsys.readouterr().out
    assert "--catalog" in text and "--fields" in text and "--encoder" not in text and "--cache" not in text
