"""Exploration slots on /recommend/user lists carry the explored item's own fused score, not the
score of the item after them (a client sorting by score would have put it among better items)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from session_logs import walking_store
from shelfwise.bandit import BernoulliTS, SlotConfig, SlotExplorer, ThompsonConfig
from shelfwise.eval.metrics import head_items
from shelfwise.recommend import ALSConfig, HybridConfig, HybridRecommender, TuneConfig
from shelfwise.recommend.between import session_live
from shelfwise.recommend.explore import EXPLORE_REASON, explored_reason, is_explored, recommend_with_exploration

N_ITEMS = 120


@pytest.fixture(scope="module")
def hybrid() -> HybridRecommender:
    data, vec = walking_store(N_ITEMS)
    h = HybridRecommender(vec, HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1)))
    h.fit(data)
    return h


@pytest.fixture(scope="module")
def between_hybrid() -> HybridRecommender:
    """Untuned, with between-sessions weights of its own; every shopper idle (the walking store's
    last event is decades old)."""
    data, vec = walking_store(N_ITEMS)
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(enabled=False))
    h = HybridRecommender(vec, cfg)
    h.fit(data)
    h.config = h.config.with_weights({"popularity": 1.0, "als": 0.2}, 0.0, new=True, between=True)
    assert not session_live(h, "u3", h.context("u3"))
    return h


@pytest.mark.parametrize(("user", "exclude_seen"), [("u3", True), ("u3", False), ("nobody", True)])
def test_explored_items_score_their_own_fused_score(hybrid: HybridRecommender, user: str, exclude_seen: bool) -> None:
    ex = SlotExplorer(hybrid.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
    out = recommend_with_exploration(hybrid, ex, user, 10, exclude_seen=exclude_seen, now=0.0)
    base = hybrid.recommend(user, 10, exclude_seen=exclude_seen)
    everything = hybrid.recommend(user, N_ITEMS, exclude_seen=exclude_seen)  # every item's fused score
    fused = dict(zip(everything.ids.tolist(), everything.scores.tolist(), strict=True))
    slots = [j for j, why in enumerate(out.reasons) if why == EXPLORE_REASON]
    assert len(slots) == 2
    model = [j for j in range(len(out)) if j not in slots]
    np.testing.assert_array_equal(out.ids[model], base.ids[: len(model)])
    np.testing.assert_array_equal(out.scores[model], base.scores[: len(model)])  # the model's items as ranked
    for j in slots:
        assert out.scores[j] == pytest.approx(fused.get(int(out.ids[j]), 0.0), rel=1e-6)  # 0: no evidence
        assert out.scores[j] <= base.scores[-1]  # outside the model's top 10: sorts below its items
    assert any(out.scores[j] != out.scores[j + 1] for j in slots if j + 1 < len(out))  # not the next item's


def test_explored_items_score_in_the_between_sessions_fusion_the_list_uses(between_hybrid: HybridRecommender) -> None:
    """A shopper with no live session (the log's events are long idle) gets a list fused with the
    between-sessions weights: its explored items' own scores come from that fusion too, not the
    in-session one."""
    h = between_hybrid
    ex = SlotExplorer(h.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
    out = recommend_with_exploration(h, ex, "u3", 10, exclude_seen=True, now=_idle_at(h, "u3"))
    everything = h.recommend("u3", N_ITEMS, exclude_seen=True)  # the between-sessions fusion of every item
    fused = dict(zip(everything.ids.tolist(), everything.scores.tolist(), strict=True))
    in_session = h.recommend(dataclasses.replace(h.context("u3"), live=True), N_ITEMS, exclude_seen=True)
    other = dict(zip(in_session.ids.tolist(), in_session.scores.tolist(), strict=True))
    slots = [j for j, why in enumerate(out.reasons) if why == EXPLORE_REASON]
    assert slots
    for j in slots:
        item = int(out.ids[j])
        assert out.scores[j] == pytest.approx(fused.get(item, 0.0), rel=1e-6)
        assert fused.get(item, 0.0) != pytest.approx(other.get(item, 0.0), rel=1e-3)  # the two fusions differ here


def _idle_at(h: HybridRecommender, user: str) -> float:
    """A time just past ``user``'s idle threshold: no session under way then."""
    last = h.profiles.last_event(user) if h.profiles is not None else None
    assert last is not None
    return last + h.config.idle_minutes * 60.0 + 1.0


def test_now_decides_whether_a_session_is_under_way(between_hybrid: HybridRecommender) -> None:
    """``now`` given, the session verdict reads it, not the wall clock: a minute after the shopper's
    last event the list is the in-session fusion (the wall clock, decades later, would say idle)."""
    h = between_hybrid
    last = _idle_at(h, "u3") - h.config.idle_minutes * 60.0 - 1.0
    in_session = h.recommend(dataclasses.replace(h.context("u3"), live=True), N_ITEMS, exclude_seen=True)
    idle = h.recommend(dataclasses.replace(h.context("u3"), live=False), N_ITEMS, exclude_seen=True)
    for now, want in ((last + 60.0, in_session), (_idle_at(h, "u3"), idle)):
        ex = SlotExplorer(h.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
        out = recommend_with_exploration(h, ex, "u3", 10, exclude_seen=True, now=now)
        slots = [j for j, why in enumerate(out.reasons) if why == EXPLORE_REASON]
        model = [j for j in range(len(out)) if j not in slots]
        assert out.ids[model].tolist() == want.ids[: len(model)].tolist()
    assert in_session.ids[:8].tolist() != idle.ids[:8].tolist()  # the two fusions rank differently here


def test_the_caller_may_say_a_session_is_under_way(between_hybrid: HybridRecommender) -> None:
    """``live`` as the caller says it (``/recommend/user?live=true``) overrides the clock for the list
    and its explored slots: an idle shopper said to be in session gets the in-session fusion."""
    h = between_hybrid
    in_session = h.recommend(dataclasses.replace(h.context("u3"), live=True), N_ITEMS, exclude_seen=True)
    fused = dict(zip(in_session.ids.tolist(), in_session.scores.tolist(), strict=True))
    ex = SlotExplorer(h.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
    out = recommend_with_exploration(h, ex, "u3", 10, exclude_seen=True, now=0.0, live=True)
    slots = [j for j, why in enumerate(out.reasons) if why == EXPLORE_REASON]
    model = [j for j in range(len(out)) if j not in slots]
    assert slots and out.ids[model].tolist() == in_session.ids[: len(model)].tolist()
    for j in slots:
        assert out.scores[j] == pytest.approx(fused.get(int(out.ids[j]), 0.0), rel=1e-6)


def test_a_list_with_explored_slots_scores_the_catalog_once(
    hybrid: HybridRecommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explored items' own scores come from the pass that ranked the list, not a second one."""
    passes: list[int] = []
    plain = HybridRecommender.component_scores

    def counted(self: HybridRecommender, *args: Any, **kwargs: Any) -> Any:
        passes.append(1)
        return plain(self, *args, **kwargs)

    monkeypatch.setattr(HybridRecommender, "component_scores", counted)
    ex = SlotExplorer(hybrid.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
    out = recommend_with_exploration(hybrid, ex, "u3", 10, now=0.0)
    assert EXPLORE_REASON in out.reasons and len(passes) == 1


def test_gated_exploration_shows_the_tail_items_the_shopper_scores_highest(hybrid: HybridRecommender) -> None:
    """With a gate as wide as the slots, the explored items are the tail items (outside the head and
    the model's own top k) with the highest fused scores; each says which evidence let it in."""
    config = SlotConfig(explore_share=0.2, head_fraction=0.2, candidates=2)
    out = recommend_with_exploration(hybrid, SlotExplorer(hybrid.catalog, config=config), "u3", 10, now=0.0)
    base = hybrid.recommend("u3", 10)
    ctx = dataclasses.replace(hybrid.context("u3"), live=session_live(hybrid, "u3", hybrid.context("u3")))
    fused = np.maximum(hybrid.score(ctx, True), 0.0)
    tail = ~head_items(hybrid.counts, 0.2) & hybrid.allowed(None, ctx, True)
    tail[base.ids] = False
    best = set(np.argsort(-np.where(tail, fused, -1.0))[:2].tolist())
    everything = hybrid.recommend(ctx, N_ITEMS)  # each item's reason in the list's own fusion
    said = dict(zip(everything.ids.tolist(), everything.reasons, strict=True))
    slots = [j for j, why in enumerate(out.reasons) if is_explored(why)]
    assert len(slots) == 2 and {int(out.ids[j]) for j in slots} == best
    for j in slots:
        row = int(out.ids[j])
        assert fused[row] > 0 and out.scores[j] == pytest.approx(fused[row], rel=1e-6)
        assert out.reasons[j] == explored_reason(said[row]) != EXPLORE_REASON  # as if the list had it


def test_random_tail_exploration_says_the_plain_reason(hybrid: HybridRecommender) -> None:
    ex = SlotExplorer(hybrid.catalog, config=SlotConfig(explore_share=0.2, head_fraction=0.2))
    out = recommend_with_exploration(hybrid, ex, "u3", 10, now=0.0)
    assert sum(why == EXPLORE_REASON for why in out.reasons) == 2
    assert is_explored(explored_reason("bought together with X")) and not is_explored("bought together with X")


@pytest.mark.parametrize("candidates", [0, 4])
def test_an_explored_item_is_no_variant_of_an_item_the_list_shows(candidates: int) -> None:
    """Lists show one item per product title (``collapse_variants``): an explored slot must not bring
    back a colour of a product the list already shows (the gate ranks those high: they score as the
    shown one does). Items 2j and 2j+1 share a title here; exploration may take any tail item."""
    from shelfwise.catalog import Catalog, Product
    from shelfwise.recommend import Interactions

    data, vec = walking_store(N_ITEMS)
    paired = Catalog([Product(id=f"p{i}", title=f"item {i // 2}") for i in range(N_ITEMS)])
    data = Interactions(paired, data.user, data.item, data.weight, data.timestamp, data.session, data.users)
    cfg = HybridConfig(als=ALSConfig(factors=8, iterations=3, num_threads=1), tune=TuneConfig(enabled=False))
    h = HybridRecommender(vec, cfg)
    h.fit(data)
    config = SlotConfig(explore_share=0.4, head_fraction=0.0, candidates=candidates)
    for user in ("u3", "u7", "u11"):
        for seed in range(5):
            ex = SlotExplorer(h.catalog, BernoulliTS(N_ITEMS, ThompsonConfig(seed=seed)), config)
            out = recommend_with_exploration(h, ex, user, 10, now=0.0)
            titles = [h.catalog.products[r].variant_key for r in out.ids.tolist()]
            assert sum(map(is_explored, out.reasons)) == 4 and len(set(titles)) == len(titles), (user, seed)


@pytest.mark.parametrize("collapse", [False, True])
def test_an_explored_list_reads_the_items_it_may_show_once(
    hybrid: HybridRecommender, collapse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list and its explored slots draw from the same allowed items (the filters', less seen
    ones): one catalog-sized mask per request, read by the list's pass and handed to the explorer
    (it was read twice); under collapse_variants the explorer's copy loses the list's variants."""
    h = hybrid
    monkeypatch.setattr(h, "config", dataclasses.replace(hybrid.config, collapse_variants=collapse))
    ex = SlotExplorer(h.catalog, config=SlotConfig(explore_share=0.3, head_fraction=0.2))
    calls: list[Any] = []
    real = HybridRecommender.allowed

    def counted(self: HybridRecommender, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HybridRecommender, "allowed", counted)
    out = recommend_with_exploration(h, ex, "u3", 10, exclude_seen=True, now=0.0)
    assert len(calls) == 1
    seen = set(h.context("u3").items)
    assert not seen & set(out.ids.tolist()) and len(out) == 10
    assert sum(is_explored(w) for w in out.reasons) == 3
    titles = [h.catalog.products[i].variant_key for i in out.ids.tolist()]
    assert not collapse or len(set(titles)) == len(titles)
