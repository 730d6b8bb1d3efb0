"""``shelfwise ope`` on a small OBD-format log written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

from shelfwise.cli.main import main


def test_ope_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    n = 600
    item = rng.integers(0, 3, n)
    table = pa.table(
        {
            "timestamp": [f"2019-11-24 00:{i // 60:02d}:{i % 60:02d}+00:00" for i in range(n)],
            "item_id": item,
            "position": rng.integers(1, 3, n),
            "click": (rng.random(n) < np.array([0.05, 0.1, 0.4])[item]).astype(int),
            "propensity_score": np.full(n, 1 / 3),
            "user_feature_0": rng.choice(["a", "b"], n),
        }
    )
    pq.write_table(table, tmp_path / "log.parquet")
    (tmp_path / "prior.json").write_text(json.dumps({"alpha": [1, 1, 500], "beta": [500, 500, 1]}))
    code = main(
        [
            "ope",
            "--logs",
            str(tmp_path / "log.parquet"),
            "--prior",
            str(tmp_path / "prior.json"),
            "--n-sim",
            "2000",
            "--folds",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "600 slots, 3 actions, 2 positions" in out
    ipw = float(next(line.split()[1] for line in out.splitlines() if line.startswith("ipw")))
    assert 0.25 < ipw < 0.55  # the prior makes the policy play item 2 (CTR 0.4)
    assert "rel.err" not in out
    truth = table.filter(pa.compute.equal(table["item_id"], 2))
    pq.write_table(truth, tmp_path / "truth.parquet")
    args = ["ope", "--logs", str(tmp_path / "log.parquet"), "--prior", str(tmp_path / "prior.json")]
    assert main([*args, "--n-sim", "500", "--folds", "2", "--truth", str(tmp_path / "truth.parquet")]) == 0
    out = capsys.readouterr().out
    on_policy = float(next(line.split()[1] for line in out.splitlines() if line.startswith("on-policy")))
    assert "rel.err" in out and on_policy == pytest.approx(float(np.mean(truth["click"].to_numpy())), abs=1e-5)
    assert main(["ope", "--logs", str(tmp_path / "missing.parquet")]) == 2


def _small_log(n: int = 300, rare: bool = False) -> pa.Table:
    rng = np.random.default_rng(1)
    item = rng.integers(0, 4, n)
    pscore = np.where(item == 2, 0.01, 0.33) if rare else np.full(n, 0.25)
    return pa.table(
        {
            "timestamp": [f"2019-11-24 00:{i // 60:02d}:{i % 60:02d}+00:00" for i in range(n)],
            "item_id": item,
            "position": rng.integers(0, 3, n),
            "click": (rng.random(n) < np.where(item == 2, 0.3, 0.05)).astype(int),
            "propensity_score": pscore,
        }
    )


def test_ope_notes_click_rate_estimate_outside_unit_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq.write_table(_small_log(rare=True), tmp_path / "log.parquet")
    (tmp_path / "prior.json").write_text(json.dumps({"alpha": [1, 1, 50, 1], "beta": [20, 20, 5, 20]}))
    args = ["ope", "--logs", str(tmp_path / "log.parquet"), "--prior", str(tmp_path / "prior.json")]
    assert main([*args, "--n-sim", "2000", "--folds", "2"]) == 0
    out = capsys.readouterr().out
    ipw = float(next(line.split()[1] for line in out.splitlines() if line.startswith("ipw")))
    assert ipw > 1.0  # the log shows item 2 with propensity 0.01; the policy plays it: weights ~100
    assert "note: ipw" in out and "outside [0, 1], the range of a click rate" in out and "weights up to 100.0" in out
    snipw = float(next(line.split()[1] for line in out.splitlines() if line.startswith("snipw")))
    assert 0.0 <= snipw <= 1.0 and "note: snipw" not in out


def test_ope_reads_obd_csv_and_checks_the_prior(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = _small_log()
    pq.write_table(table, tmp_path / "log.parquet")
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, tmp_path / "log.csv")
    base = ["--n-sim", "500", "--folds", "2"]
    assert main(["ope", "--logs", str(tmp_path / "log.parquet"), *base]) == 0
    from_parquet = capsys.readouterr().out
    assert main(["ope", "--logs", str(tmp_path / "log.csv"), *base]) == 0
    from_csv = capsys.readouterr().out
    assert from_csv.replace("log.csv", "log.parquet") == from_parquet and "300 slots, 4 actions" in from_csv
    (tmp_path / "log.txt").write_text("x")
    assert main(["ope", "--logs", str(tmp_path / "log.txt")]) == 2
    assert "log.txt: unsupported format; use .parquet or .csv" in capsys.readouterr().err
    (tmp_path / "prior.json").write_text(json.dumps({"alpha": [1, 1, 1], "beta": [1, 1, 1]}))
    logs = ["ope", "--logs", str(tmp_path / "log.parquet"), *base]
    assert main([*logs, "--prior", str(tmp_path / "prior.json")]) == 2
    assert "prior.json: 'alpha' and 'beta' need 4 values (one per action" in capsys.readouterr().err
    assert main([*logs, "--prior", str(tmp_path / "absent.json")]) == 2
    assert "absent.json: no such file (--prior)" in capsys.readouterr().err


def test_ope_says_the_default_policy_is_random_and_flags_a_truth_from_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --prior the evaluated policy is uniform; comparing it with an on-policy log of a
    learned policy (README's OBD example: random log vs BTS log) made rel.err look like the
    estimators' error. The output now names the policy and says what rel.err then compares."""
    pq.write_table(_small_log(), tmp_path / "log.parquet")
    pq.write_table(_small_log(), tmp_path / "truth.parquet")
    base = ["ope", "--logs", str(tmp_path / "log.parquet"), "--n-sim", "300", "--folds", "2"]
    assert main([*base, "--truth", str(tmp_path / "truth.parquet")]) == 0
    out = capsys.readouterr().out
    assert "Beta(1, 1) for every action (no --prior): a random ranking" in out
    assert "note: the evaluated policy gives every action the same Beta posterior" in out
    (tmp_path / "prior.json").write_text(json.dumps({"alpha": [1, 1, 50, 1], "beta": [20, 20, 5, 20]}))
    assert main([*base, "--truth", str(tmp_path / "truth.parquet"), "--prior", str(tmp_path / "prior.json")]) == 0
    out = capsys.readouterr().out
    assert "with the Beta posteriors in" in out and "same Beta posterior" not in out
