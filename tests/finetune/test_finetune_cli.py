"""``shelfwise train`` is registered and validates its arguments before any training."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli.main import build_parser, main


def test_train_command_parses() -> None:
    args = build_parser().parse_args(["train", "--catalog", "c.csv", "--mode", "lora", "--max-steps", "3"])
    assert args.command == "train" and args.mode == "lora" and args.max_steps == 3


def test_train_needs_both_judgment_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.csv"
    cat.write_text("id,title\np1,Black trousers\np2,Red dress\n")
    rc = main(["train", "--catalog", str(cat), "--queries", str(tmp_path / "q.csv")])
    assert rc == 2 and "--queries and --judgments go together" in capsys.readouterr().err


def test_train_without_any_pairs_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.csv"
    cat.write_text("id,title\np1,Black trousers\np2,Red dress\n")
    assert main(["train", "--catalog", str(cat)]) == 2
    assert "no training pairs" in capsys.readouterr().err
