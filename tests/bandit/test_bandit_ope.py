"""OPE estimators on a synthetic log with a known answer, and the OBD loader on the real sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.bandit import (
    BanditLog,
    Estimate,
    OPEReport,
    PolicyEvaluation,
    RewardModel,
    RewardModelConfig,
    ThompsonOPEConfig,
    evaluate_bernoulli_ts,
    evaluate_policy,
    load_obd,
    policy_probs,
    read_obd,
)
from shelfwise.errors import DataError

OBD = Path(__file__).resolve().parents[3] / "shared" / "data"


def _synthetic(n: int = 20000, seed: int = 0) -> tuple[BanditLog, np.ndarray, float]:
    """Uniform logging over 4 actions x 2 positions; CTR depends on the action and a user bit."""
    rng = np.random.default_rng(seed)
    user = rng.integers(0, 2, n)
    action = rng.integers(0, 4, n)
    position = rng.integers(0, 2, n)
    base = np.array([0.05, 0.1, 0.3, 0.2])
    p = base[action] * np.where(user == 1, 1.5, 0.5) * np.where(position == 0, 1.0, 0.8)
    log = BanditLog(
        action=action.astype(np.int64),
        position=position.astype(np.int64),
        reward=(rng.random(n) < p).astype(float),
        pscore=np.full(n, 0.25),
        context=user[:, None].astype(float),
        affinity=np.zeros((n, 4)),
        action_context=np.eye(4),
    )
    target = np.zeros((4, 2))
    target[2, :] = 0.7
    target[3, :] = 0.3
    truth = float(np.mean([(0.7 * 0.3 + 0.3 * 0.2) * np.mean([0.5, 1.5]) * m for m in (1.0, 0.8)]))
    return log, target, truth


def test_estimators_recover_known_value() -> None:
    log, target, truth = _synthetic()
    q = RewardModel(RewardModelConfig(folds=2)).fit_predict(log)
    rep = evaluate_policy(log, target, q)
    for name, value, se in rep.as_rows():
        assert abs(value - truth) < 4 * max(se, 0.003), name
    assert rep.dm is not None and rep.dr is not None and rep.dm.stderr < rep.ipw.stderr
    assert evaluate_policy(log, target).dm is None
    per_row = np.tile(target, (len(log), 1, 1))
    assert np.allclose(policy_probs(log, per_row), policy_probs(log, target))
    with pytest.raises(ValueError, match="action_dist"):
        evaluate_policy(log, np.ones((3, 2)))


def test_banditlog_validates() -> None:
    log, _, _ = _synthetic(10)
    with pytest.raises(ValueError, match="propensity"):
        BanditLog(log.action, log.position, log.reward, log.pscore * 0, log.context, log.affinity, log.action_context)
    assert len(log.take(np.array([0, 0, 1]))) == 3


@pytest.mark.skipif(not (OBD / "obd_random_men_men.parquet").exists(), reason="shared OBD sample absent")
def test_load_real_obd() -> None:
    log = load_obd(OBD / "obd_random_men_men.parquet", OBD / "obd_random_men_item_context.parquet")
    assert len(log) == 10_000 and log.n_actions == 34 and log.len_list == 3
    assert np.allclose(log.pscore, 1 / 34) and 0 < log.reward.mean() < 0.02
    assert log.context.shape[1] > 5 and log.action_context.shape[0] == 34 and log.affinity.shape == (10_000, 34)


def test_load_obd_reports_every_bad_row_and_keeps_good_ones(tmp_path: Path) -> None:
    bad = pa.table(
        {
            "timestamp": ["2019-11-24 00:00:02+00:00", "never", "2019-11-24 00:00:01+00:00", "2019-11-24"],
            "item_id": [1, 2, 0, -4],
            "position": [1, 2, 2, 1],
            "click": [0, 3, 1, 0],
            "propensity_score": [0.5, 0.5, 0.25, 1.5],
            "user_feature_0": ["a", "b", "b", "a"],
        }
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(bad, path)
    res = read_obd(path)
    got = {(e.file, e.row, e.field) for e in res.errors}
    f = str(path)
    assert got == {(f, 2, "timestamp"), (f, 2, "click"), (f, 4, "item_id"), (f, 4, "propensity_score")}
    log = res.log
    assert len(log) == 2 and log.action.tolist() == [0, 1]  # rows 3 and 1, time-ordered
    assert log.pscore.tolist() == [0.25, 0.5] and log.reward.tolist() == [1.0, 0.0] and log.context.shape == (2, 1)
    assert len(load_obd(path)) == 2
    with pytest.raises(DataError) as exc:
        read_obd(path, strict=True)
    assert "row 2: field 'timestamp'" in str(exc.value) and "row 4: field 'item_id'" in str(exc.value)
    pq.write_table(bad.slice(1, 1), tmp_path / "allbad.parquet")
    with pytest.raises(DataError, match="no valid one"):
        read_obd(tmp_path / "allbad.parquet")


def test_evaluate_bernoulli_ts_against_on_policy_truth() -> None:
    log, _, _ = _synthetic(4000)
    alpha, beta = np.array([1.0, 1.0, 500.0, 300.0]), np.array([500.0, 500.0, 1.0, 200.0])  # ranks 2 then 3
    on_policy = log.take(np.flatnonzero(log.action == np.where(log.position == 0, 2, 3)))
    res = evaluate_bernoulli_ts(log, alpha, beta, config=ThompsonOPEConfig(n_sim=500, folds=2), truth=on_policy)
    assert (res.n_slots, res.n_actions, res.len_list) == (4000, 4, 2)
    assert res.truth == pytest.approx(float(on_policy.reward.mean()))
    rows = {r.name: r for r in res.rows()}
    assert set(rows) == {"ipw", "snipw", "dm", "dr"}
    for r in rows.values():
        assert r.rel_error is not None and r.rel_error == pytest.approx(abs(r.value - res.truth) / res.truth)
        assert r.rel_error < 0.25, r
    assert evaluate_bernoulli_ts(log, config=ThompsonOPEConfig(n_sim=100, folds=1)).rows()[0].rel_error is None
    with pytest.raises(ValueError, match="n_sim"):
        ThompsonOPEConfig(n_sim=0)


def _obd_csv(path: Path, rows: list[list[object]]) -> Path:
    """The OBD CSV layout: an unnamed index column first."""
    head = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0,user-item_affinity_1"
    lines = [head] + [",".join(str(v) for v in [i, *r]) for i, r in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_obd_csv_one_bad_value_skips_its_row_only(tmp_path: Path) -> None:
    """A CSV column holding one bad value is read as text throughout: every other row stays valid
    (it used to reject them all: "must be 0 or 1, got '0'"); a bad affinity is a row error naming its
    column, not an unplaced "could not convert string to float"; CSV rows count as lines (header = 1)."""
    good = [[f"2019-11-24 00:00:0{i}", i % 2, 1 + i % 2, i % 2, 0.5, "a", 0.1 * i, 0.2] for i in range(6)]
    rows = [*good[:2], ["2019-11-24 00:00:09", 1, 1, "yes", 0.5, "b", 0.3, 0.2], *good[2:]]
    rows.append(["2019-11-24 00:00:08", 0, 2, 0, 0.5, "b", "oops", 0.2])
    res = read_obd(_obd_csv(tmp_path / "log.csv", rows))
    assert [str(e) for e in res.errors] == [
        f"{tmp_path / 'log.csv'}: line 4: field 'click': must be 0 or 1, got 'yes'",
        f"{tmp_path / 'log.csv'}: line 9: field 'user-item_affinity_0': must be a number, got 'oops'",
    ]
    log = res.log
    assert len(log) == 6 and log.reward.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert log.affinity[:, 0] == pytest.approx([0.1 * i for i in range(6)]) and log.affinity.shape == (6, 2)
    assert log.pscore.tolist() == [0.5] * 6 and log.position.tolist() == [0, 1, 0, 1, 0, 1]


def test_obd_item_context_bad_id_is_reported_and_skipped(tmp_path: Path) -> None:
    log = _obd_csv(tmp_path / "log.csv", [["2019-11-24", a, 1, 0, 0.5, "a", 0.1, 0.2] for a in (0, 1, 2)])
    ctx = tmp_path / "items.csv"
    ctx.write_text(",item_id,item_feature_0,item_feature_1\n0,0,x,1.5\n1,one,y,2.5\n2,2,y,3.5\n")
    res = read_obd(log, ctx)
    assert [str(e) for e in res.errors] == [
        f"{ctx}: line 3: field 'item_id': must be a non-negative integer, got 'one'"
    ]  # was "invalid literal for int() with base 10: 'one'"
    ac = res.log.action_context
    assert ac.shape == (3, 2) and ac[:, 0].tolist() == [1.5, 0.0, 3.5] and ac[:, 1].tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(DataError, match="item_id"):
        read_obd(log, ctx, strict=True)
    (tmp_path / "noid.csv").write_text("item,item_feature_0\n0,x\n")
    with pytest.raises(DataError, match=r"noid\.csv: field 'item_id': missing column"):
        read_obd(log, tmp_path / "noid.csv")


def test_obd_click_as_float_or_bool_is_read(tmp_path: Path) -> None:
    """A pandas export of the click column as float ("1.0") or a Parquet bool column loads as 0/1
    (session 10 had them rejected: "must be 0 or 1, got 1.0"); 2.0 and 0.5 are still row errors."""
    rows = [
        ["2019-11-24 00:00:00", 0, 1, "1.0", 0.5, "a", 0.1, 0.2],
        ["2019-11-24 00:00:01", 1, 2, "0.0", 0.5, "a", 0.1, 0.2],
    ]
    rows += [
        ["2019-11-24 00:00:02", 1, 2, "2.0", 0.5, "a", 0.1, 0.2],
        ["2019-11-24 00:00:03", 1, 2, "0.5", 0.5, "a", 0.1, 0.2],
    ]
    res = read_obd(_obd_csv(tmp_path / "log.csv", rows))
    assert res.log.reward.tolist() == [1.0, 0.0]
    assert [e.field for e in res.errors] == ["click", "click"]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "timestamp": ["2019-11-24 00:00:00", "2019-11-24 00:00:01", "2019-11-24 00:00:02"],
            "item_id": [0, 1, 2],
            "position": [1, 2, 3],
            "click": [True, False, True],
            "propensity_score": [0.5, 0.25, 0.5],
            "user-item_affinity_0": [0.1, 0.2, 0.3],
        }
    )
    df.to_parquet(tmp_path / "log.parquet")
    got = read_obd(tmp_path / "log.parquet")
    assert got.errors == [] and got.log.reward.tolist() == [1.0, 0.0, 1.0]
    df["click"] = [1.0, 0.0, 1.0]
    df.to_parquet(tmp_path / "log_f.parquet")
    assert read_obd(tmp_path / "log_f.parquet").log.reward.tolist() == [1.0, 0.0, 1.0]


def test_rounding_at_a_click_rates_bound_is_not_called_unstable() -> None:
    """A log with no clicks: DR's correction rounds 0 to a tiny negative; only a real excursion is noted."""

    def notes(dr: float) -> list[str]:
        zero = Estimate(0.0, 0.0)
        report = OPEReport(zero, zero, zero, Estimate(dr, 0.0), max_weight=1.1, ess=50.0)
        return PolicyEvaluation(report, 50, 80, 3, None, binary_reward=True).notes()

    assert notes(-1e-17) == [] and notes(1.0 + 1e-12) == []
    assert len(notes(-0.01)) == 1 and notes(-0.01)[0].startswith("dr -0.0100 is outside [0, 1]")
