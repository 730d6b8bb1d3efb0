"""Shared fixtures: a tiny made-up catalog and event log (not real data), and a fast searcher."""

from __future__ import annotations

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.retrieve import HybridSearcher
from tiny_products import PRODUCTS

_PRODUCTS = PRODUCTS


@pytest.fixture
def tiny_catalog() -> Catalog:
    return Catalog(
        [
            Product(id=i, title=t, description=d, category=c, brand=b, price=p, attributes={"colour": col})
            for i, t, d, c, b, p, col in _PRODUCTS
        ]
    )


@pytest.fixture
def tiny_events() -> list[Event]:
    """Three users; u1 buys trousers + belt together twice, u2 likes dresses, u3 sport."""
    ev = [
        ("u1", "p1", EventType.VIEW, 1.0),
        ("u1", "p1", EventType.PURCHASE, 2.0),
        ("u1", "p3", EventType.PURCHASE, 3.0),
        ("u4", "p1", EventType.PURCHASE, 4.0),
        ("u4", "p3", EventType.PURCHASE, 5.0),
        ("u4", "p4", EventType.CLICK, 6.0),
        ("u2", "p5", EventType.CLICK, 7.0),
        ("u2", "p6", EventType.CART, 8.0),
        ("u2", "p12", EventType.VIEW, 9.0),
        ("u3", "p9", EventType.PURCHASE, 10.0),
        ("u3", "p10", EventType.PURCHASE, 11.0),
        ("u1", "p2", EventType.VIEW, 12.0),
    ]
    return [Event(user_id=u, item_id=i, type=t, timestamp=ts, session_id=f"s-{u}") for u, i, t, ts in ev]


@pytest.fixture
def tiny_log(tiny_events: list[Event], tiny_catalog: Catalog) -> EventLog:
    return EventLog.from_events(tiny_events, tiny_catalog)


@pytest.fixture
def tiny_searcher(tiny_catalog: Catalog) -> HybridSearcher:
    return HybridSearcher.build(tiny_catalog, HashingEncoder(dim=128))
