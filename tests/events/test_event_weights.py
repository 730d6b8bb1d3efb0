"""One set of event-type weights (events.schema.EVENT_WEIGHTS) that every stage reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import shelfwise
from shelfwise.bandit.slots import POSITIVE
from shelfwise.catalog import Catalog
from shelfwise.events import EVENT_WEIGHTS, Event, EventLog, EventType, EventWeights, LiveConfig
from shelfwise.recommend import Interactions, PopularityConfig, PopularityRecommender, UserProfiles
from shelfwise.recommend.interactions import event_weights


def test_weights_are_a_typed_read_only_mapping() -> None:
    assert dict(EVENT_WEIGHTS) == {
        EventType.QUERY: 0.0,
        EventType.VIEW: 1.0,
        EventType.CLICK: 2.0,
        EventType.CART: 4.0,
        EventType.PURCHASE: 8.0,
    }
    assert EVENT_WEIGHTS.get(EventType.CART) == 4.0 and EVENT_WEIGHTS.get(99, 0.0) == 0.0  # type: ignore[call-overload]
    assert EVENT_WEIGHTS.as_tuple() == tuple(EVENT_WEIGHTS[t] for t in EventType)
    np.testing.assert_array_equal(EVENT_WEIGHTS.table()[[1, 4]], [1.0, 8.0])
    with pytest.raises(ValueError):
        EventWeights(view=-1.0)
    assert EVENT_WEIGHTS.engaged() == {EventType.CLICK, EventType.CART, EventType.PURCHASE}


def test_every_stage_reads_the_one_definition(tiny_catalog: Catalog, tiny_log: EventLog) -> None:
    assert LiveConfig().weights == EVENT_WEIGHTS.as_tuple()
    assert EVENT_WEIGHTS.engaged() == POSITIVE
    assert UserProfiles(tiny_catalog).weights == dict(EVENT_WEIGHTS)
    types = np.array([int(t) for t in EventType], dtype=np.int8)
    np.testing.assert_array_equal(event_weights(types, EVENT_WEIGHTS), EVENT_WEIGHTS.table())
    data = Interactions.from_log(tiny_log, tiny_catalog)
    u1, p1 = data.users.index("u1"), tiny_catalog.row("p1")
    assert data.user_item()[u1, p1] == pytest.approx(EVENT_WEIGHTS.view + EVENT_WEIGHTS.purchase)
    pop = PopularityRecommender(PopularityConfig(half_life_days=None))
    pop.fit(data)
    before = float(pop.counts[tiny_catalog.row("p7")])
    pop.update([Event("u9", EventType.CART, 20.0, "p7")])
    assert pop.counts[tiny_catalog.row("p7")] == pytest.approx(before + EVENT_WEIGHTS.cart)


def test_no_other_module_defines_per_type_weights() -> None:
    src = Path(shelfwise.__file__).parent
    literal = re.compile(r"EventType\.(VIEW|CLICK|CART|PURCHASE)\s*:\s*[0-9]")
    hits = [
        str(f.relative_to(src))
        for f in src.rglob("*.py")
        if f.name != "schema.py" or f.parent.name != "events"
        if literal.search(f.read_text(encoding="utf-8"))
    ]
    assert hits == []
