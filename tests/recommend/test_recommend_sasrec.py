"""SASRec component: a tiny model learns a fixed item cycle on CPU and round-trips through npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig
from shelfwise.recommend.sasrec import SASRecConfig, SASRecRecommender, user_sequences

pytest.importorskip("torch")

TINY = SASRecConfig(
    dim=16, blocks=1, max_len=8, dropout=0.0, epochs=30, batch_size=32, learning_rate=1e-2, negatives=8, threads=1
)


def _data(n_items: int = 12, n_sessions: int = 120) -> Interactions:
    cat = Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n_items)])
    rng = np.random.default_rng(0)
    events = []
    for k in range(n_sessions):
        start = int(rng.integers(0, n_items))
        for j in range(int(rng.integers(3, 7))):
            events.append(
                Event(f"s{k}", EventType.VIEW, 1000.0 * k + j, f"p{(start + j) % n_items}", session_id=f"s{k}")
            )
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def test_user_sequences_are_time_ordered_windows() -> None:
    seqs = user_sequences(_data(n_sessions=3), max_len=3)
    assert all(2 <= len(s) <= 4 for s in seqs)
    assert all(((np.diff(s) % 12) == 1).all() for s in seqs)  # rows + 1, consecutive on the cycle


def test_sasrec_learns_the_next_item_and_round_trips(tmp_path: Path) -> None:
    data = _data()
    m = SASRecRecommender(TINY)
    m.fit(data)
    assert m.fitted and m.epochs_run >= 1
    hits = 0
    for start in range(12):
        ctx = Context.of([start, (start + 1) % 12, (start + 2) % 12])
        hits += int(np.argmax(m.score(ctx)) == (start + 3) % 12)
    assert hits >= 9
    m.save(tmp_path)
    again = SASRecRecommender()
    again.attach(data.catalog, None)
    again.load_state(tmp_path)
    ctx = Context.of([4, 5])
    np.testing.assert_allclose(again.score(ctx), m.score(ctx), rtol=1e-5, atol=1e-5)


def test_sasrec_is_off_in_the_hybrid_unless_weighted(tmp_path: Path) -> None:
    data = _data()
    vec = np.zeros((12, 4), dtype=np.float32)
    off = HybridRecommender(vec, HybridConfig(tune=TuneConfig(enabled=False)))
    off.fit(data)
    assert not off.sasrec.fitted and np.isneginf(off.sasrec.score(Context.of([1]))).all()
    cfg = HybridConfig(weights=(*HybridConfig().weights, ("sasrec", 1.0)), sasrec=TINY, tune=TuneConfig(enabled=False))
    on = HybridRecommender(vec, cfg)
    on.fit(data)
    assert on.sasrec.fitted
    on.save(tmp_path / "rec")
    loaded = HybridRecommender.load(tmp_path / "rec", data.catalog, vec)
    ctx = Context.of([2, 3, 4])
    np.testing.assert_allclose(loaded.score(ctx), on.score(ctx), rtol=1e-5, atol=1e-6)


def test_sasrec_refit_continues_from_the_weights_it_has() -> None:
    data = _data()
    m = SASRecRecommender(TINY)
    m.fit(data)
    before = m.item_table.copy()
    model = m.model
    m.refit(data, 2)
    assert m.model is model and m.epochs_run == 2  # the same module, trained 2 more epochs
    assert not np.array_equal(m.item_table, before)
    fresh = SASRecRecommender(TINY)
    fresh.refit(data, 2)  # nothing fitted yet: a full fit
    assert fresh.epochs_run == TINY.epochs


def test_tuned_hybrid_trains_sasrec_once_more_only_when_weighted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fit-time tuning trains SASRec on the earlier rows; the final fit warm-starts it
    (``TuneConfig.refit_epochs``) or, when tuning gave it weight 0 everywhere, does not train it."""
    data = _data(n_sessions=300)
    vec = np.zeros((12, 4), dtype=np.float32)
    calls: list[str] = []

    def one_epoch(self: SASRecRecommender, d: Interactions) -> None:
        calls.append("fit")
        self._train(d, None, 1, 60.0)

    def refit(self: SASRecRecommender, d: Interactions, epochs: int) -> None:
        calls.append(f"refit {epochs}")

    monkeypatch.setattr(SASRecRecommender, "_fit", one_epoch)
    monkeypatch.setattr(SASRecRecommender, "refit", refit)
    tune = TuneConfig(min_cases=10, fraction=0.2, refit_epochs=3)
    cfg = HybridConfig(weights=(*HybridConfig().weights, ("sasrec", 1.0)), sasrec=TINY, tune=tune)
    weighted = HybridRecommender(vec, cfg)
    weighted.fit(data)
    assert weighted.tuning.status == "tuned"
    uses = weighted.tuning.weights.get("sasrec", 0) > 0 or weighted.tuning.new_weights.get("sasrec", 0) > 0
    assert calls == (["fit", "refit 3"] if uses else ["fit"])
    calls.clear()
    weighted.set_weights({**weighted.tuning.weights, "sasrec": 0.0})
    weighted.set_weights({**weighted.tuning.new_weights, "sasrec": 0.0}, new=True)
    weighted._fit_components(data, warm=True)  # weight 0 everywhere: not trained, scores nothing
    assert calls == [] and not weighted.sasrec.fitted
