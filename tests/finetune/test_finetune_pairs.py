"""Pair mining, splits and replay mixing on the tiny made-up catalog/events."""

from __future__ import annotations

import pytest

from shelfwise.catalog import Catalog
from shelfwise.eval.judgments import Judgments
from shelfwise.events import Event, EventLog, EventType
from shelfwise.finetune import (
    FinetuneConfig,
    PairSet,
    ReplayConfig,
    copurchase_pairs,
    mine_pairs,
    pairs_from_events,
    pairs_from_judgments,
    replay_mix,
)


def test_judgment_pairs_keep_only_high_grades(tiny_catalog: Catalog) -> None:
    j = Judgments({"q1": "black trousers"}, {"q1": {"p1": 2.0, "p2": 1.0, "nope": 2.0}})
    p = pairs_from_judgments(j, tiny_catalog, min_grade=2.0)
    assert p.anchors == ("black trousers",)
    assert p.positives[0].startswith("Black slim trousers")
    assert len(pairs_from_judgments(j, tiny_catalog, min_grade=1.0)) == 2


def test_copurchase_pairs_are_distinct_items_of_one_user(tiny_log: EventLog, tiny_catalog: Catalog) -> None:
    p = copurchase_pairs(tiny_log, tiny_catalog)
    texts = tiny_catalog.texts()
    pairs = {frozenset((texts.index(a), texts.index(b))) for a, b in zip(p.anchors, p.positives, strict=True)}
    r = tiny_catalog.row
    # u1 and u4 bought p1+p3, u3 bought p9+p10; clicks/views are below PURCHASE and ignored
    assert pairs == {frozenset((r("p1"), r("p3"))), frozenset((r("p9"), r("p10")))}
    assert all(a != b for a, b in zip(p.anchors, p.positives, strict=True))
    with pytest.raises(ValueError):
        copurchase_pairs(tiny_log, tiny_catalog, by="month")


def test_query_event_pairs(tiny_catalog: Catalog) -> None:
    ev = [
        Event("u1", EventType.CLICK, 1.0, item_id="p5", query="summer dress"),
        Event("u1", EventType.VIEW, 2.0, item_id="p6", query="evening dress"),
        Event("u2", EventType.QUERY, 3.0, query="jeans"),
    ]
    p = pairs_from_events(EventLog.from_events(ev, tiny_catalog), tiny_catalog)
    assert p.anchors == ("summer dress",) and p.positives[0].startswith("Red summer dress")


def test_split_by_anchor_and_replay_mix() -> None:
    ps = PairSet(tuple(f"q{i % 5}" for i in range(50)), tuple(f"p{i}" for i in range(50)), "x")
    a, b = ps.split(0.6, seed=1)
    assert not set(a.anchors) & set(b.anchors) and len(a) + len(b) == 50
    new = PairSet(("n1", "n2"), ("m1", "m2"), "new")
    mixed = replay_mix(new, ps, ReplayConfig(ratio=2.0))
    assert len(mixed) == 6 and {"n1", "n2"} <= set(mixed.anchors)
    assert len(replay_mix(new, ps, ReplayConfig(ratio=0.0))) == 2
    with pytest.raises(ValueError):
        PairSet(("a",), ())


def test_mine_pairs_and_config_validation(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    j = Judgments({f"q{i}": f"query {i}" for i in range(10)}, {f"q{i}": {"p1": 2.0} for i in range(10)})
    data = mine_pairs(tiny_catalog, j, tiny_log, val_fraction=0.3)
    assert len(data.train) > len(data.val) > 0
    assert not set(data.train.anchors) & set(data.val.anchors)
    with pytest.raises(ValueError, match="mode"):
        FinetuneConfig(mode="half")
    with pytest.raises(ValueError):
        FinetuneConfig(batch_size=1)


def test_mine_pairs_holds_out_anchors_seen_by_neither_training_nor_validation(tiny_catalog: Catalog) -> None:
    j = Judgments({f"q{i}": f"query {i}" for i in range(40)}, {f"q{i}": {"p1": 2.0, "p2": 2.0} for i in range(40)})
    data = mine_pairs(tiny_catalog, j, None)
    tr, va, ho = (set(p.anchors) for p in (data.train, data.val, data.holdout))
    assert (len(tr), len(va), len(ho)) == (28, 6, 6)
    assert not (tr & va or tr & ho or va & ho)
    assert len(data.holdout) == 12  # both positives of a held-out query stay together
    assert "held out 12 pairs / 6 anchors" in data.describe()
    assert len(mine_pairs(tiny_catalog, j, None, holdout_fraction=0.0).holdout) == 0
    with pytest.raises(ValueError, match="together < 1"):
        mine_pairs(tiny_catalog, j, None, val_fraction=0.5, holdout_fraction=0.5)


def test_mine_pairs_scores_no_pair_whose_reverse_trains(tiny_catalog: Catalog) -> None:
    """Two shoppers' co-purchases give x -> y and y -> x; split by anchor they can land on both sides,
    and a model trained on one has seen the other."""
    ids = [p.id for p in tiny_catalog.products]
    pairs = [(a, b) for a in ids for b in ids if a < b] * 4  # each pair bought by 4 shoppers: both orders drawn
    events = [
        Event(f"u{u}", EventType.PURCHASE, float(t), item_id=item)
        for u, pair in enumerate(pairs)
        for t, item in enumerate(pair)
    ]
    data = mine_pairs(
        tiny_catalog, None, EventLog.from_events(events, tiny_catalog), val_fraction=0.3, holdout_fraction=0.3
    )
    trained = set(zip(data.train.anchors, data.train.positives, strict=True))
    scored = set(zip(data.val.anchors, data.val.positives, strict=True)) | set(
        zip(data.holdout.anchors, data.holdout.positives, strict=True)
    )
    assert scored and not {(p, a) for a, p in scored} & trained
    tr, va, ho = (set(p.anchors) for p in (data.train, data.val, data.holdout))
    assert not (tr & va or tr & ho or va & ho)  # anchors still apart
    plain = PairSet(("x", "y", "z"), ("y", "x", "x"))
    seen, rest = plain.reversing(PairSet(("x",), ("y",)))
    assert (seen.anchors, rest.anchors) == (("y",), ("x", "z"))
