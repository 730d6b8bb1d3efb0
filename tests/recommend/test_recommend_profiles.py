"""A shopper's context read while a live event is being appended (serving threads and the event
consumer share the histories) holds the whole events only."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventType
from shelfwise.recommend import UserProfiles


def test_a_half_appended_event_is_not_read() -> None:
    catalog = Catalog([Product(id=f"p{i}", title=f"item {i}") for i in range(4)])
    prof = UserProfiles(catalog)
    prof.update([Event("u", EventType.PURCHASE, 100.0, "p0"), Event("u", EventType.VIEW, 200.0, "p1")])
    whole = prof.context("u")
    assert whole is not None and whole.timeline is not None
    hist = prof._hist["u"]
    hist[0].append(2)  # the consumer thread has appended the next event's row, not yet its weight and time
    ctx = prof.context("u")
    assert ctx is not None and ctx.timeline is not None
    assert ctx.items.tolist() == whole.items.tolist() == [0, 1]
    np.testing.assert_array_equal(ctx.timeline.times, [100.0, 200.0])
    hist[1].append(1.0)
    hist[2].append(300.0)  # now whole: read
    assert prof.context("u") is not None and prof.context("u").items.tolist() == [0, 1, 2]  # type: ignore[union-attr]
