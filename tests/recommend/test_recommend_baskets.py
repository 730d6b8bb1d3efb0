"""The "baskets" component (recommend/baskets.py): TIFU's order-decayed own frequency read from the
history as it is now, the between-sessions search that weighs it and picks its group size,
its reasons, live updates and persistence."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import Context, HybridConfig, HybridRecommender, Interactions, TuneConfig
from shelfwise.recommend.base import Timeline
from shelfwise.recommend.baskets import BasketConfig, BasketRecommender, basket_entries, frequency_rows
from shelfwise.recommend.hybrid import FORMAT_VERSION
from shelfwise.recommend.profiles import history_context
from shelfwise.recommend.retune import SavedTuning, reuse_verdict
from shelfwise.recommend.tifu import TifuConfig, user_vectors
from shelfwise.wording_zh import localise

DAY = 86_400.0
N_ITEMS = 120


def _catalog(n: int = N_ITEMS + 1) -> Catalog:  # the last product: no events
    return Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(n)])


def _orders(users: dict[str, list[list[int]]], t0: float = 0.0) -> list[Event]:
    """Each user's orders, oldest first, a week apart, their items a minute apart."""
    return [
        Event(u, EventType.PURCHASE, t0 + 7 * DAY * o + 60.0 * j, f"p{i}", session_id=f"{u}-{o}")
        for u, orders in users.items()
        for o, items in enumerate(orders)
        for j, i in enumerate(items)
    ]


def _data(cat: Catalog, events: list[Event]) -> Interactions:
    return Interactions.from_log(EventLog.from_events(events, cat), cat)


def _fitted(cat: Catalog, events: list[Event], config: BasketConfig | None = None) -> BasketRecommender:
    rec = BasketRecommender(config)
    rec.fit(_data(cat, events))
    return rec


def test_scores_are_tifu_own_vectors_with_baskets_cut_by_the_gap() -> None:
    cat = _catalog(6)
    orders = {"u": [[0, 1], [1, 2, 2], [3], [0, 4], [5, 0]]}
    data = _data(cat, _orders(orders))
    for g in (1, 2, 3):
        cfg = BasketConfig(group_size=g, basket_decay=0.8, group_decay=0.5)
        tifu = user_vectors(data, TifuConfig(group_size=g, basket_decay=0.8, group_decay=0.5)).toarray()[0]
        got = _fitted(cat, _orders(orders), cfg).score(data.profiles.context("u"))  # type: ignore[arg-type]
        np.testing.assert_allclose(np.where(np.isfinite(got), got, 0.0), tifu, rtol=1e-6)
        assert np.isfinite(got).sum() == 6


def test_a_gap_longer_than_gap_minutes_starts_a_basket_and_a_basket_counts_an_item_once() -> None:
    line = Timeline(np.array([1, 2, 1, 3, 1]), np.array([0.0, 600.0, 1200.0, 1200.0 + 31 * 60, 9000.0]))
    ctx = Context(np.array([1, 2, 3]), np.ones(3, np.float32), timeline=line)
    who, item, newest, n = basket_entries([ctx], 30.0)
    pairs = sorted(zip(newest.tolist(), item.tolist(), strict=True))
    assert pairs == [(0, 1), (1, 3), (2, 1), (2, 2)] and n.tolist() == [3] * 4 and set(who.tolist()) == {0}
    # one basket per 2 hours or less: everything in one, item 1 once
    _, item, newest, n = basket_entries([ctx], 120.0)
    assert sorted(item.tolist()) == [1, 2, 3] and set(newest.tolist()) == {0} and n.tolist() == [1] * 3


def test_many_contexts_and_configs_at_once_match_one_at_a_time() -> None:
    cat = _catalog()
    rng = np.random.default_rng(0)
    users = {f"u{u}": [rng.choice(N_ITEMS, 4, replace=False).tolist() for _ in range(3 + u)] for u in range(5)}
    rec = _fitted(cat, _orders(users))
    ctxs = [rec.profiles.context(u) for u in users]  # type: ignore[union-attr]
    ctxs.insert(2, Context.of([1, 2]))  # a session's items: no timeline, no score
    configs = [BasketConfig(group_size=g) for g in (1, 3, 7)]
    rows = frequency_rows(ctxs, len(cat), configs)  # type: ignore[arg-type]
    for cfg, m in zip(configs, rows, strict=True):
        one = BasketRecommender(cfg)
        one.fit(_data(cat, _orders(users)))
        np.testing.assert_array_equal(m, np.stack([one.score(c) for c in ctxs]))  # type: ignore[arg-type]
    assert not np.isfinite(rows[0][2]).any()
    with pytest.raises(ValueError, match="gap_minutes"):
        frequency_rows(ctxs, len(cat), [BasketConfig(), BasketConfig(gap_minutes=5.0)])  # type: ignore[arg-type]


def test_recent_baskets_outrank_old_frequency() -> None:
    cat = _catalog(4)
    rec = _fitted(cat, _orders({"u": [[0], [0], [0], [0], [1], [1], [1]]}), BasketConfig(group_decay=0.3))
    s = rec.score(rec.profiles.context("u"))  # type: ignore[arg-type,union-attr]
    assert s[1] > s[0]  # in the 3 latest orders beats 4 times before them
    assert np.isneginf(s[2:]).all()


def test_the_config_may_be_read_when_scoring_and_is_validated() -> None:
    box = {"cfg": BasketConfig(group_size=1, group_decay=0.1)}
    cat = _catalog(4)
    rec = BasketRecommender(lambda: box["cfg"])
    rec.fit(_data(cat, _orders({"u": [[0], [0], [0], [1]]})))
    ctx = rec.profiles.context("u")  # type: ignore[union-attr]
    assert rec.score(ctx)[1] > rec.score(ctx)[0]  # type: ignore[arg-type]
    box["cfg"] = BasketConfig(group_size=4)  # one group: plain basket counts
    assert rec.score(ctx)[0] > rec.score(ctx)[1]  # type: ignore[arg-type]
    for bad in ({"group_size": 0}, {"also_try": (0,)}, {"basket_decay": 0.0}, {"gap_minutes": 0.0}):
        (field,) = bad
        with pytest.raises(ValueError, match=rf"BasketConfig\.{field} must .*got "):  # names the field, its value
            BasketConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="basket_group_size"):
        HybridConfig(basket_group_size=0)


def test_reason_counts_the_recent_baskets_in_english_and_chinese() -> None:
    cat = _catalog(4)
    rec = _fitted(cat, _orders({"u": [[0, 1], [0], [2], [0, 2]]}))
    ctx = rec.profiles.context("u")  # type: ignore[union-attr]
    assert rec.explain(ctx, 0) == "you bought this in 3 of your last 4 orders"
    assert rec.explain(ctx, 2) == "you bought this in 2 of your last 4 orders"
    assert localise(rec.explain(ctx, 0), "zh") == "你最近 4 次购物中有 3 次购买过"
    assert rec.explain(Context.of([0]), 0) == "you bought this before"  # no timeline
    many = _fitted(cat, _orders({"u": [[3]] + [[0]] * 12}))
    # item 3 is 13 orders back: past the 10 a reason counts
    assert many.explain(many.profiles.context("u"), 3) == "you bought this before"  # type: ignore[union-attr]
    assert many.explain(many.profiles.context("u"), 0) == "you bought this in each of your last 10 orders"  # type: ignore[union-attr]
    one = _fitted(cat, _orders({"u": [[1]]}))
    assert one.explain(one.profiles.context("u"), 1) == "you bought this in your last order"  # type: ignore[union-attr]
    assert localise("you viewed this in each of your last 2 visits", "zh") == "你最近 2 次访问都浏览过"
    assert localise("you bought this in your last order", "zh") == "你上次购物时购买过"


def _switching(users: int = 60, orders: int = 9, t0: float = 0.0) -> list[Event]:
    """Made-up orders whose staples change: shopper ``u`` buys the pair of staples ``u`` (products
    ``2u``, ``2u + 1``) in the first 5 orders and pair ``u + 30`` after (counted over the whole
    history the old pair still leads; every pair sells as often before the change as after:
    popularity cannot tell them apart), and two random products in every order."""
    rng = np.random.default_rng(1)
    events = []
    for o in range(orders):
        for u in range(users):
            pair = u if o < 5 else (u + users // 2) % users
            items = [2 * pair, 2 * pair + 1, *rng.choice(2 * users, 2, replace=False).tolist()]
            ts = t0 + o * 7 * DAY + u * 600.0
            events += [
                Event(f"u{u}", EventType.PURCHASE, ts + 10.0 * j, f"p{i}", session_id=f"u{u}-{o}")
                for j, i in enumerate(dict.fromkeys(items))
            ]
    return events


SIMPLE = (("repeat", 1.0), ("popularity", 0.1))  # in-session weights: buy-again and popularity alone
TRIED = BasketConfig(also_try=(7,))  # the default tries 3 alone


def _tuned(**tune: object) -> tuple[Catalog, HybridRecommender]:
    """Fitted on :func:`_switching` with :data:`SIMPLE` weights (with every component, the session
    ones find the new staples in the last order of this made-up log: no test of this component)."""
    cat = _catalog()
    tc = TuneConfig(fraction=0.25, min_cases=20, **tune)  # type: ignore[arg-type]
    cfg = HybridConfig(SIMPLE, baskets=TRIED, tune=tc)
    rec = HybridRecommender(np.zeros((len(cat), 4), dtype=np.float32), cfg)
    rec.fit(_data(cat, _switching()))
    return cat, rec


def test_the_between_search_weighs_baskets_and_keeps_the_in_session_weights_out_of_it() -> None:
    _, rec = _tuned()
    t = rec.tuning
    assert t.between_status == "tuned" and t.between_weights.get("baskets", 0.0) > 0
    assert set(t.between_group_scores) == {"3", "7"} and t.between_group_size in (3, 7)
    assert t.between_group_scores[str(t.between_group_size)] == max(t.between_group_scores.values())
    assert rec.config.basket_group_size == t.between_group_size
    assert rec.config.basket_setting().group_size == t.between_group_size
    assert f"groups of {t.between_group_size} baskets" in t.reason
    # the in-session search never sees it: its weights and where it started name no baskets
    assert "baskets" not in t.weights and "baskets" not in t.new_weights and "baskets" not in t.start_weights
    assert "baskets" not in t.start_between_weights  # the start's fusion as configured
    # the next order of a shopper whose staples changed starts with the new staples
    ctx = dataclasses.replace(rec.context("u3"), live=False)
    top = rec.recommend(ctx, 2, exclude_seen=False)
    assert set(top.ids.tolist()) == {66, 67}  # pair 33
    assert all(r.startswith("you bought this in ") for r in top.reasons)
    assert "baskets" not in rec.config.fusion(False)[0]  # live sessions: the in-session weights


def test_offer_false_keeps_the_component_out_of_the_search() -> None:
    cat = _catalog()
    cfg = HybridConfig(SIMPLE, baskets=BasketConfig(offer=False), tune=TuneConfig(fraction=0.25, min_cases=20))
    rec = HybridRecommender(np.zeros((len(cat), 4), dtype=np.float32), cfg)
    rec.fit(_data(cat, _switching()))
    t = rec.tuning
    assert t.between_score is not None and "baskets" not in t.between_weights  # the search ran without it
    assert "baskets" not in dict(rec.config.between_weights or ())
    assert t.between_group_scores == {} and t.between_group_size is None and rec.config.basket_group_size is None


def test_live_events_reach_the_score_at_once() -> None:
    _, rec = _tuned()
    rec.config = rec.config.with_weights({"baskets": 1.0}, between=True)
    now = rec.profiles.last_event("u3") or 0.0  # type: ignore[union-attr]
    new = N_ITEMS  # a product no one has bought
    assert not np.isfinite(rec.baskets.score(rec.context("u3"))[new])
    assert rec.baskets.explain(rec.context("u3"), new) == "you bought this before"  # not in its baskets yet
    for j in range(3):  # three new orders, a week apart, each with it
        t = now + (j + 1) * 7 * DAY
        rec.update([Event("u3", EventType.PURCHASE, t, f"p{new}", session_id=f"new-{j}")])
    after = rec.baskets.score(rec.context("u3"))
    assert after[new] == after.max()
    ctx = dataclasses.replace(rec.context("u3"), live=False)
    listed = rec.recommend(ctx, 1, exclude_seen=False)
    assert listed.ids.tolist() == [new] and listed.reasons == ("you bought this in 3 of your last 10 orders",)


def test_the_chosen_group_size_round_trips_and_older_folders_load(tmp_path: Path) -> None:
    cat, rec = _tuned()
    rec.save(tmp_path / "rec")
    meta = json.loads((tmp_path / "rec" / "hybrid.json").read_text())
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["config"]["basket_group_size"] == rec.config.basket_group_size is not None
    vec = np.zeros((len(cat), 4), dtype=np.float32)
    loaded = HybridRecommender.load(tmp_path / "rec", cat, vec)
    assert loaded.config == rec.config and loaded.tuning == rec.tuning
    ctx = dataclasses.replace(rec.context("u5"), live=False)
    np.testing.assert_array_equal(loaded.score(ctx), rec.score(ctx))
    a, b = loaded.recommend(ctx, 5, exclude_seen=False), rec.recommend(ctx, 5, exclude_seen=False)
    assert a.ids.tolist() == b.ids.tolist() and a.reasons == b.reasons
    # a folder saved before the component: no such config fields, no weight on it
    meta["format_version"] = FORMAT_VERSION - 1
    for key in ("baskets", "basket_group_size"):
        meta["config"].pop(key)
    meta["config"]["between_weights"] = [[n, w] for n, w in meta["config"]["between_weights"] if n != "baskets"]
    (tmp_path / "rec" / "hybrid.json").write_text(json.dumps(meta))
    old = HybridRecommender.load(tmp_path / "rec", cat, vec)
    assert old.config.basket_group_size is None and old.config.baskets == BasketConfig()
    assert BasketConfig().tried == (3,) and BasketConfig(group_size=7, also_try=(3, 7)).tried == (7, 3)
    assert "baskets" not in old.config.fusion(False, live=False)[0]
    assert len(old.recommend(ctx, 5, exclude_seen=False)) == 5


def test_a_reused_search_keeps_its_group_size() -> None:
    cat, rec = _tuned()
    cfg = HybridConfig(SIMPLE, baskets=TRIED, tune=TuneConfig(fraction=0.25, min_cases=20))
    saved = SavedTuning.of(rec)
    assert reuse_verdict(saved, cfg, rec.fitted_interactions, time.time()) is None
    again = HybridRecommender(np.zeros((len(cat), 4), dtype=np.float32), cfg, reuse=saved)
    again.fit(_data(cat, _switching()))
    assert again.tuning.status == "reused" and again.config.basket_group_size == rec.config.basket_group_size
    assert again.config.untuned().basket_group_size is None


def test_history_context_carries_its_timeline() -> None:
    ctx = history_context([3, 1, 3], [1.0, 1.0, 1.0], [5.0, 1.0, 9.0], "u", None)
    assert ctx.timeline is not None
    assert ctx.timeline.items.tolist() == [3, 1, 3] and ctx.timeline.times.tolist() == [5.0, 1.0, 9.0]
    with pytest.raises(ValueError, match="Timeline"):
        Timeline(np.zeros(2, np.int64), np.zeros(3))
