"""OPE estimators on a synthetic log with a known answer, and the OBD loader on the real sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.bandit import BanditLog, RewardModel, RewardModelConfig, evaluate_policy, load_obd, policy_probs
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
def test_load_real_obd_and_errors(tmp_path: Path) -> None:
    log = load_obd(OBD / "obd_random_men_men.parquet", OBD / "obd_random_men_item_context.parquet")
    assert len(log) == 10_000 and log.n_actions == 34 and log.len_list == 3
    assert np.allclose(log.pscore, 1 / 34) and 0 < log.reward.mean() < 0.02
    assert log.context.shape[1] > 5 and log.action_context.shape[0] == 34 and log.affinity.shape == (10_000, 34)
    bad = pa.table(
        {
            "timestamp": ["2019-11-24 00:00:00+00:00", "never"],
            "item_id": [1, 2],
            "position": [1, 2],
            "click": [0, 3],
            "propensity_score": [0.5, 0.5],
        }
    )
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(DataError) as exc:
        load_obd(tmp_path / "bad.parquet")
    assert "row 2: field 'timestamp'" in str(exc.value) and "row 2: field 'click'" in str(exc.value)
