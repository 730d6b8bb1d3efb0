"""Shared fixtures: a tiny made-up catalog and event log (not real data), and a fast searcher."""

from __future__ import annotations

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.retrieve import HybridSearcher

_PRODUCTS = [
    ("p1", "Black slim trousers", "Stretch cotton trousers", ("Men", "Trousers"), "Acme", 39.0, "Black"),
    ("p2", "Blue denim jeans", "Classic five-pocket jeans", ("Men", "Trousers"), "Denimco", 49.0, "Blue"),
    ("p3", "Black leather belt", "Leather belt with metal buckle", ("Men", "Accessories"), "Acme", 19.0, "Black"),
    ("p4", "White cotton shirt", "Button-down oxford shirt", ("Men", "Shirts"), "Acme", 29.0, "White"),
    ("p5", "Red summer dress", "Light floral dress for summer", ("Women", "Dresses"), "Flora", 59.0, "Red"),
    ("p6", "Black evening dress", "Long satin evening gown", ("Women", "Dresses"), "Flora", 99.0, "Black"),
    ("p7", "Warm wool sweater", "Chunky knit jumper for winter", ("Women", "Knitwear"), "Nordic", 69.0, "Grey"),
    ("p8", "Kids rain jacket", "Waterproof jacket with hood", ("Kids", "Outerwear"), "Puddle", 35.0, "Yellow"),
    ("p9", "Running shoes", "Lightweight trainers for running", ("Sport", "Shoes"), "Swift", 89.0, "White"),
    ("p10", "Yoga mat", "Non-slip exercise mat", ("Sport", "Equipment"), "Swift", 25.0, "Purple"),
    ("p11", "黑色休闲裤", "男士黑色棉质休闲长裤", ("Men", "Trousers"), "Acme", 45.0, "Black"),
    ("p12", "红色连衣裙", "夏季红色碎花连衣裙", ("Women", "Dresses"), "Flora", 65.0, "Red"),
]


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
