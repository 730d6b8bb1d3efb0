"""The related-items and between-sessions searches run beside the in-session tuning
(recommend/side_search.py): they start in a thread once the latest slice's components are fitted,
and the fit ends with the same weights, report and config as running them one after the other."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import HybridConfig, HybridRecommender, Interactions, side_search
from shelfwise.recommend.autotune import TuneConfig, TuningReport, validation_split
from shelfwise.recommend.between import BasketSearch, finish_between, prepare_between, tune_between
from shelfwise.recommend.related_tune import RelatedSearch, search_related, tune_related

N_ITEMS, DAY = 60, 86_400.0


def _data(seed: int = 0) -> Interactions:
    """Made-up orders (as tests/recommend/test_recommend_between.py's): three staples a shopper buys
    every week, then a walk of three items along a fixed cycle."""
    rng = np.random.default_rng(seed)
    cat = Catalog([Product(id=f"p{i}", title=f"item {i % 40}") for i in range(N_ITEMS)])  # some variants
    events = []
    for o in range(8):
        for u in range(60):
            start = int(rng.integers(30, N_ITEMS))
            items = [(3 * u + j) % 30 for j in rng.permutation(3)] + [30 + (start - 30 + j) % 30 for j in range(3)]
            ts = o * 7 * DAY + u * 600.0
            events += [
                Event(f"u{u}", EventType.PURCHASE, ts + 10.0 * j, f"p{i}", session_id=f"u{u}-{o}")
                for j, i in enumerate(items)
            ]
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


CFG = HybridConfig(tune=TuneConfig(fraction=0.25, min_cases=20))


def _fit(data: Interactions) -> HybridRecommender:
    rec = HybridRecommender(np.random.default_rng(1).standard_normal((N_ITEMS, 4)).astype(np.float32), CFG)
    rec.fit(data)
    return rec


def _report(rec: HybridRecommender) -> dict[str, object]:
    got = rec.tuning.as_dict()
    got.pop("tuned_at")
    return got


def test_side_searches_run_in_a_thread_and_leave_the_fit_of_one_search_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _data()
    seen: dict[str, str] = {}
    related, between = side_search.search_related, side_search.prepare_between

    def search(*a: object, **k: object) -> RelatedSearch:
        seen["related"] = threading.current_thread().name
        return related(*a, **k)  # type: ignore[arg-type]

    def prepare(*a: object, **k: object) -> BasketSearch | None:
        seen["between"] = threading.current_thread().name
        return between(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(side_search, "search_related", search)
    monkeypatch.setattr(side_search, "prepare_between", prepare)
    beside = _fit(data)
    assert beside.tuning.status == "tuned" and beside.tuning.between_status == "tuned", beside.tuning.reason
    assert beside.tuning.related_cases > 0 and "related items: " in beside.tuning.reason
    main = threading.current_thread().name
    assert seen["related"] != main and seen["between"] != main
    # the same fit with both searches run where they ran before: after the in-session tuning, in turn
    monkeypatch.setattr(side_search.SideSearches, "fitted", lambda self, rows: None)
    after = _fit(data)
    assert seen["related"] == main and seen["between"] == main
    assert _report(beside) == _report(after)
    assert beside.config == after.config


def test_search_then_apply_is_the_search_in_one_go() -> None:
    data = _data()
    rec = _fit(data)
    first = validation_split(data, CFG.tune.fraction, CFG.tune.max_sessions)
    tuned = CFG.with_weights(rec.tuning.weights, rec.tuning.penalty)  # where the searches start
    rec.config = tuned.with_weights(rec.tuning.new_weights, rec.tuning.new_penalty, new=True)
    one, two = TuningReport(), TuningReport()
    start = rec.config
    tune_related(rec, first, one)
    tune_between(rec, first, one)
    in_one_go = rec.config
    rec.config = start
    found, prepared = search_related(rec, first), prepare_between(rec, first, threads=1)
    assert rec.config is start  # the searches only read
    side_search.apply_related(rec, found, two)
    finish_between(rec, prepared, two)
    assert one == two and rec.config == in_one_go and one.between_status == "tuned"


def test_between_pools_again_when_tuning_weighs_other_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pools prepared beside tuning hold the components the in-session weights named then; a
    set named differently afterwards gets pools of its own."""
    import shelfwise.recommend.between as between

    data = _data()
    rec = _fit(data)
    first = validation_split(data, CFG.tune.fraction, CFG.tune.max_sessions)
    prepared = prepare_between(rec, first, threads=1)
    assert prepared is not None and prepared.pools is not None
    pooled: list[list[str]] = []
    pools = between.basket_pools

    def record(h: HybridRecommender, cases: object, names: list[str], *a: object, **k: object) -> object:
        pooled.append(list(names))
        return pools(h, cases, names, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(between, "basket_pools", record)
    finish_between(rec, prepared, TuningReport())
    assert pooled == []  # the same components: the prepared pools serve
    fewer = {"repeat": 1.0, "popularity": 0.5}  # in-session weights naming fewer components, no between ones
    rec.config = CFG.with_weights(fewer).with_weights(fewer, new=True)
    rep = TuningReport()
    finish_between(rec, prepared, rep)
    # pooled by name: those two; "baskets" joins the repeats weights through its group-size rows
    assert pooled == [["repeat", "popularity"]] and set(rep.between_weights) == {"repeat", "popularity", "baskets"}


def test_a_tuning_that_fails_waits_for_the_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The components the searches read are refitted by the next fit: a failed tuning lets them end first."""
    import shelfwise.recommend.hybrid as hybrid

    waited: list[bool] = []
    wait = side_search.SideSearches.wait

    def record(self: side_search.SideSearches) -> None:
        wait(self)
        waited.append(self._jobs is not None and all(j.done() for j in self._jobs))

    def fail(rec: HybridRecommender, folds: object, config: object, fit: object) -> TuningReport:
        fit(folds[0][0])  # type: ignore[index,operator]  # the latest slice fitted: the searches start
        raise RuntimeError("tuning failed")

    monkeypatch.setattr(side_search.SideSearches, "wait", record)
    monkeypatch.setattr(hybrid, "tune_folds", fail)
    with pytest.raises(RuntimeError, match="tuning failed"):
        _fit(_data())
    assert waited == [True]
