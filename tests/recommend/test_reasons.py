"""A list that may repeat the shopper's history (exclude_seen=False) says "you viewed this before" of
a history item, whichever component scored it most (but "baskets", which counts the visits); other
items keep the top component's reason."""

from __future__ import annotations

import pytest

from session_logs import walking_store
from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, TuneConfig
from shelfwise.recommend.base import Context

N_ITEMS = 120


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    data, vec = walking_store(N_ITEMS)
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(enabled=False))
    h = HybridRecommender(vec, cfg)  # weights set per test
    h.fit(data)
    return h


def _top_component(h: HybridRecommender, ctx: Context, row: int) -> str:
    """The reason of the component whose weighted score of ``row`` is the largest (the rule before)."""
    weights = {n: w for n, w in h.config.weights if w > 0}
    scores = h.component_scores(ctx, weights, exclude_seen=False)
    best = max(scores, key=lambda n: weights[n] * float(scores[n][row]))
    return h.components[best].explain(ctx, row)


LOW_REPEAT = {"repeat": 0.05, "cooccurrence": 0.5, "sequence": 1.0, "sknn": 1.0, "popularity": 0.1}
NO_REPEAT = {**LOW_REPEAT, "repeat": 0.0}  # as tuning may leave it: the repeat component does not score


@pytest.mark.parametrize("weights", [LOW_REPEAT, NO_REPEAT])
def test_history_items_say_the_shopper_had_them_others_their_top_component(
    hybrid: HybridRecommender, weights: dict[str, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hybrid, "config", hybrid.config.with_weights(weights, 0.0))
    before = hybrid.repeat.wording.before
    assert before == "you viewed this before"  # a store of views
    own = others = led_by_others = 0
    for user in hybrid.profiles.users()[:20]:
        ctx = hybrid.context(user)
        out = hybrid.recommend(user, 10, exclude_seen=False)
        seen = hybrid.profiles.seen(user)
        for row, why in zip(out.ids.tolist(), out.reasons, strict=True):
            top = _top_component(hybrid, ctx, row)
            if row in seen:
                own += 1
                led_by_others += top != before  # another component scored it most: it named that one before
                assert why == before, (user, row, why)
            else:
                others += 1
                assert why == top and why != before
    assert own and others and led_by_others  # the case the rule exists for happened


def test_a_session_list_names_the_sessions_own_items_the_same_way(
    hybrid: HybridRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hybrid, "config", hybrid.config.with_weights(LOW_REPEAT, 0.0))
    out = hybrid.recommend_session([5, 6, 7], 10, exclude_seen=False)
    listed = dict(zip(out.ids.tolist(), out.reasons, strict=True))
    assert {5, 6, 7} & listed.keys()
    assert all((why == "you viewed this before") == (row in (5, 6, 7)) for row, why in listed.items())
    assert "you viewed this before" not in hybrid.recommend_session([5, 6, 7], 10).reasons  # seen excluded


def test_history_items_the_baskets_component_leads_count_the_recent_visits(
    hybrid: HybridRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = {**LOW_REPEAT, "baskets": 2.0}
    monkeypatch.setattr(hybrid, "config", hybrid.config.with_weights(weights, 0.0))
    counted = named_before = 0
    for user in hybrid.profiles.users()[:20]:
        ctx = hybrid.context(user)
        scores = hybrid.component_scores(ctx, weights, exclude_seen=False)
        out = hybrid.recommend(user, 10, exclude_seen=False)
        for row, why in zip(out.ids.tolist(), out.reasons, strict=True):
            if row not in hybrid.profiles.seen(user):
                continue
            best = max(scores, key=lambda n: weights[n] * float(scores[n][row]))
            if best == "baskets":
                counted += 1
                assert why == hybrid.baskets.explain(ctx, row) and why.startswith("you viewed this in ")
            else:
                named_before += 1
                assert why == "you viewed this before"
    assert counted and named_before  # both kinds of history item were listed
