"""A refit keeps the weights an earlier fit searched (``recommend.retune``) until the search is too
old, the log grew or shrank too much, or the settings changed; then it searches again. Made-up
session logs walking forward through the item ids."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from session_logs import walking_sessions
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import TuneConfig, TuningReport
from shelfwise.recommend.persist import StateFileError
from shelfwise.recommend.retune import DAY_S, SavedTuning, configured, newest, reuse_verdict

N_ITEMS = 40
CFG = HybridConfig(tune=TuneConfig(fraction=0.2, min_cases=20))


def _log(sessions: int, seed: int = 3) -> Interactions:
    return walking_sessions(np.random.default_rng(seed), N_ITEMS, sessions, 60, 6)


def _vectors() -> np.ndarray:
    return np.zeros((N_ITEMS, 4), dtype=np.float32)


@pytest.fixture(scope="module")
def searched() -> tuple[HybridRecommender, Interactions]:
    data = _log(300)
    rec = HybridRecommender(_vectors(), CFG)
    rec.fit(data)
    assert rec.tuning.status == "tuned", rec.tuning.reason
    return rec, data


def test_a_search_records_when_and_on_how_many_rows(searched: tuple[HybridRecommender, Interactions]) -> None:
    rec, data = searched
    assert rec.tuning.interactions == len(data) > 0
    assert rec.tuning.tuned_at is not None and abs(rec.tuning.tuned_at - time.time()) < 600


def test_a_refit_keeps_the_searched_weights_without_searching(
    searched: tuple[HybridRecommender, Interactions], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, data = searched
    tuned_config = rec.config
    assert tuned_config != CFG  # the search moved some weight off the defaults
    grown = _log(330)  # ~10% more sessions: within reuse_growth
    refit = HybridRecommender(_vectors(), CFG, reuse=SavedTuning.of(rec))

    def no_search(*_: object) -> TuningReport:
        raise AssertionError("searched although the saved weights were reusable")

    monkeypatch.setattr(HybridRecommender, "_tune", no_search)
    refit.fit(grown)
    assert refit.tuning.status == "reused"
    assert refit.config == tuned_config
    assert refit.tuning.tuned_at == rec.tuning.tuned_at and refit.tuning.interactions == len(data)
    assert refit.tuning.weights == rec.tuning.weights and refit.tuning.new_weights == rec.tuning.new_weights
    why = refit.tuning.reason
    assert why.startswith("kept from the search of ") and "a new search runs after 7 days" in why
    assert refit.fitted_interactions == len(grown)  # the components themselves are fitted on the new log
    monkeypatch.undo()
    refit.fit(grown)  # the saved weights were good for one fit: the next one searches
    assert refit.tuning.status == "tuned"


def test_a_reused_report_is_reusable_again_and_ages_from_the_search(
    searched: tuple[HybridRecommender, Interactions],
) -> None:
    rec, data = searched
    first = HybridRecommender(_vectors(), CFG, reuse=SavedTuning.of(rec))
    first.fit(data)
    again = SavedTuning.of(first)
    assert again.report.status == "reused"
    assert rec.tuning.tuned_at is not None
    assert reuse_verdict(again, CFG, len(data), rec.tuning.tuned_at + DAY_S) is None
    late = reuse_verdict(again, CFG, len(data), rec.tuning.tuned_at + 8 * DAY_S)
    assert late is not None and "8.0 days old" in late


def test_a_search_and_its_reuse_record_the_configured_fusions(
    searched: tuple[HybridRecommender, Interactions], tmp_path: Path
) -> None:
    """What the store configured survives the search that replaced it (a report's time split starts there)."""
    rec, data = searched
    assert rec.config != CFG and configured(rec.config, rec.tuning) == CFG
    rec.save(tmp_path / "rec")
    saved = SavedTuning.read(tmp_path / "rec")  # hybrid.json alone
    assert configured(saved.config, saved.report) == CFG
    again = HybridRecommender(_vectors(), CFG, reuse=saved)
    again.fit(data)
    assert again.tuning.status == "reused" and configured(again.config, again.tuning) == CFG
    assert configured(CFG, TuningReport(status="defaults")) is CFG  # no search: the config is what was configured
    assert configured(rec.config, dataclasses.replace(rec.tuning, configured={})) is None  # not recorded


def test_the_verdict_names_why_a_new_search_is_due(searched: tuple[HybridRecommender, Interactions]) -> None:
    rec, data = searched
    saved = SavedTuning.of(rec)
    t = rec.tuning.tuned_at
    assert t is not None
    assert reuse_verdict(saved, CFG, len(data), t + 60) is None
    assert "2.50x" in str(reuse_verdict(saved, CFG, int(2.5 * len(data)), t + 60))
    assert "0.40x" in str(reuse_verdict(saved, CFG, int(0.4 * len(data)), t + 60))
    assert "future" in str(reuse_verdict(saved, CFG, len(data), t - 3600))
    other = dataclasses.replace(CFG, half_life_days=30.0)
    assert "settings changed" in str(reuse_verdict(saved, other, len(data), t + 60))
    # the weights a search starts from decide which components run: another start is another search
    sasrec_on = dataclasses.replace(CFG, weights=(*CFG.weights, ("sasrec", 0.5)))
    sequence_off = dataclasses.replace(CFG, weights=tuple((n, 0.0 if n == "sequence" else w) for n, w in CFG.weights))
    penalised = dataclasses.replace(CFG, popularity_penalty=0.5)
    for changed in (sasrec_on, sequence_off, penalised):
        assert "settings changed" in str(reuse_verdict(saved, changed, len(data), t + 60))
    # what a search does not depend on: the reuse policy itself and thread counts
    policy = dataclasses.replace(CFG, tune=dataclasses.replace(CFG.tune, reuse_growth=3.0))
    threads = dataclasses.replace(CFG, als=dataclasses.replace(CFG.als, num_threads=1))
    assert reuse_verdict(saved, policy, len(data), t + 60) is None
    assert reuse_verdict(saved, threads, len(data), t + 60) is None
    strict = dataclasses.replace(CFG, tune=dataclasses.replace(CFG.tune, reuse_days=0.5))
    loose = SavedTuning(dataclasses.replace(saved.config, tune=strict.tune), saved.report)
    assert "days old" in str(reuse_verdict(loose, strict, len(data), t + DAY_S))
    kept = SavedTuning(saved.config, dataclasses.replace(saved.report, status="defaults"))
    assert "kept the default weights" in str(reuse_verdict(kept, CFG, len(data), t + 60))
    plain = SavedTuning(saved.config, dataclasses.replace(saved.report, status="not run"))
    assert "without a weight search" in str(reuse_verdict(plain, CFG, len(data), t + 60))
    undated = SavedTuning(saved.config, dataclasses.replace(saved.report, tuned_at=None))  # saved before dates
    assert "undated" in str(reuse_verdict(undated, CFG, len(data), t + 60))


def test_newest_is_the_latest_search(searched: tuple[HybridRecommender, Interactions]) -> None:
    rec, _ = searched
    saved = SavedTuning.of(rec)
    assert saved.report.tuned_at is not None
    later = SavedTuning(saved.config, dataclasses.replace(saved.report, tuned_at=saved.report.tuned_at + 60))
    kept = SavedTuning(saved.config, dataclasses.replace(saved.report, status="defaults", tuned_at=None))
    assert newest(saved, None, later) is later and newest(later, saved) is later
    assert newest(kept, saved) is saved and newest(kept, None) is None and newest() is None


def test_an_old_search_is_redone_and_the_report_says_why(searched: tuple[HybridRecommender, Interactions]) -> None:
    rec, data = searched
    assert rec.tuning.tuned_at is not None
    old = SavedTuning(rec.config, dataclasses.replace(rec.tuning, tuned_at=rec.tuning.tuned_at - 30 * DAY_S))
    refit = HybridRecommender(_vectors(), CFG, reuse=old)
    refit.fit(data)
    assert refit.tuning.status == "tuned"
    assert "searched again: the last search is 30.0 days old" in refit.tuning.reason
    assert refit.tuning.tuned_at is not None and refit.tuning.tuned_at > old.report.tuned_at  # type: ignore[operator]


def test_tuning_disabled_ignores_saved_weights(searched: tuple[HybridRecommender, Interactions]) -> None:
    rec, data = searched
    off = dataclasses.replace(CFG, tune=dataclasses.replace(CFG.tune, enabled=False))
    refit = HybridRecommender(_vectors(), off, reuse=SavedTuning.of(rec))
    refit.fit(data)
    assert refit.tuning.status == "not run" and refit.config == off


def test_saved_tuning_reads_hybrid_json_alone(searched: tuple[HybridRecommender, Interactions], tmp_path: Path) -> None:
    rec, _ = searched
    rec.save(tmp_path / "rec")
    got = SavedTuning.read(tmp_path / "rec")
    assert got == SavedTuning.of(rec)
    f = tmp_path / "rec" / "hybrid.json"
    meta = json.loads(f.read_text())
    meta["config"]["weights"] = [["no such component", 1.0]]
    f.write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match=r"hybrid\.json"):
        SavedTuning.read(tmp_path / "rec")
    with pytest.raises(StateFileError, match="missing"):
        SavedTuning.read(tmp_path / "nowhere")


@pytest.mark.parametrize("bad", [{"reuse_days": -1.0}, {"reuse_growth": 0.5}, {"reuse_days": float("nan")}])
def test_tune_config_checks_the_reuse_bounds(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="reuse"):
        TuneConfig(**bad)  # type: ignore[arg-type]


def test_the_configured_fusions_drop_the_group_size_the_search_chose() -> None:
    """The "baskets" group size is a search's choice, as its weights are: the configured start a
    report's split searches again from must not keep the served search's size (it saw the held-out
    sessions) beside the store's own between-sessions weights."""
    store = HybridConfig(between_weights=(("baskets", 1.0), ("repeat", 1.0)))
    served = dataclasses.replace(store, between_weights=(("baskets", 2.0),), basket_group_size=7)
    rep = TuningReport(status="tuned", configured=json.loads(json.dumps(store.fusion_sets())))
    start = configured(served, rep)
    assert start == store
    assert start is not None and start.basket_setting().group_size == store.baskets.group_size
