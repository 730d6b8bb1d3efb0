"""``shelfwise eval search`` argument checks: a bad flag fails before any file is read or query embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main


def _argv(tmp_path: Path) -> list[str]:
    missing = [str(tmp_path / name) for name in ("products.csv", "queries.csv", "judgments.csv")]
    return ["eval", "search", "--catalog", missing[0], "--queries", missing[1], "--judgments", missing[2]]


def test_unknown_peer_fails_before_loading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # was checked only after the catalog, judgments and every query's embedding
    assert main([*_argv(tmp_path), "--peers", "bm25s,elastic"]) == 2
    err = capsys.readouterr().err
    assert "--peers: unknown ['elastic']" in err and "no such file" not in err


@pytest.mark.parametrize("weight", ["2", "-0.1", "nan"])
def test_dense_weight_outside_0_1_names_the_flag(
    weight: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "error: SearchConfig.dense_weight must be in [0, 1]", after loading everything
    with pytest.raises(SystemExit) as exc:
        main([*_argv(tmp_path), "--dense-weight", weight])
    assert exc.value.code == 2
    assert "argument --dense-weight: must be from 0.0 to 1.0" in capsys.readouterr().err
