"""Loaders for bench_sessions.py: session logs as (catalog, train log, test log, info).

* Diginetica sample (digi.parquet): anonymous sessions of views; time = event date + ``timeframe``
  (ms into the session). Global time split: sessions starting in the last 20% of the time span
  (by session start quantile) are the test set.
* YOOCHOOSE 100k (session-rec's own global time split: train_full / test; test items unseen
  in training are kept as catalog rows with no behaviour).
* Instacart sample (bench_recommend.load_instacart): users' orders are sessions; the clocks are
  per user (no absolute dates), so the split is each user's last order (no global time exists).
* H&M: one day of purchases, so no time split is possible: 20% of customers (seeded) are held out.

Diginetica and YOOCHOOSE carry no product text; their catalogs get placeholder titles (no
content signal).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend.evaluate import split_last_sessions

from common import SHARED

Split = tuple[Catalog, EventLog, EventLog, dict[str, Any]]


def _catalog(ids: list[str]) -> Catalog:
    return Catalog([Product(id=i, title=f"item {i}") for i in ids])


def _split_by_start(events: list[Event], fraction: float) -> tuple[list[Event], list[Event]]:
    start: dict[str, float] = {}
    for e in events:
        start[e.session_id] = min(start.get(e.session_id, e.timestamp), e.timestamp)
    cut = float(np.quantile(list(start.values()), fraction))
    train = [e for e in events if start[e.session_id] < cut]
    test = [e for e in events if start[e.session_id] >= cut]
    return train, test


def load_digi(test_fraction: float = 0.2) -> Split:
    import pyarrow.parquet as pq

    t = pq.read_table(SHARED / "digi.parquet").to_pydict()
    events = []
    for s, i, tf, d in zip(t["session_id"], t["item_id"], t["timeframe"], t["eventdate"], strict=True):
        day = datetime.strptime(d, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        events.append(Event(f"s{s}", EventType.VIEW, day + tf / 1000.0, str(i), session_id=f"s{s}"))
    train, test = _split_by_start(events, 1.0 - test_fraction)
    cat = _catalog(sorted({e.item_id for e in events}))
    info = {
        "events": len(events),
        "items": len(cat),
        "split": f"global time: sessions starting in the last {test_fraction:.0%}",
    }
    return cat, EventLog.from_events(train, cat), EventLog.from_events(test, cat), info


def load_yoochoose() -> Split:
    import pyarrow.parquet as pq

    parts = []
    for name in ("train_full", "test"):
        t = pq.read_table(SHARED / f"yoochoose-clicks-100k_{name}.parquet").to_pydict()
        parts.append(
            [
                Event(f"s{s}", EventType.CLICK, float(ts), str(i), session_id=f"s{s}")
                for s, i, ts in zip(t["SessionId"], t["ItemId"], t["Time"], strict=True)
            ]
        )
    cat = _catalog(sorted({e.item_id for p in parts for e in p}))
    info = {
        "events": sum(map(len, parts)),
        "items": len(cat),
        "split": "session-rec's global time split (train_full / test)",
    }
    return cat, EventLog.from_events(parts[0], cat), EventLog.from_events(parts[1], cat), info


def load_insta(max_users: int | None = None) -> Split:
    from bench_recommend import load_instacart

    cat, log, info = load_instacart(max_users)
    train, test = split_last_sessions(log)
    return cat, train, test, {**info, "split": "each user's last order (per-user clocks: no global time)"}


def load_hm(test_fraction: float = 0.2, seed: int = 0) -> Split:
    import pyarrow.parquet as pq

    arts = pq.read_table(SHARED / "hm_articles.parquet").to_pylist()
    t = pq.read_table(SHARED / "hm_transactions_train.parquet").to_pydict()
    products = []
    for a in arts:
        title = str(a.get("prod_name") or a["article_id"])
        colour = str(a.get("colour_group_name") or "")
        products.append(
            Product(
                id=str(a["article_id"]),
                title=f"{title} {colour}".strip() + f" #{a['article_id']}",
                category=(str(a.get("index_group_name") or "other"), str(a.get("product_type_name") or "other")),
            )
        )
    cat = Catalog(products)
    rng = np.random.default_rng(seed)
    customers = sorted(set(t["customer_id"]))
    held = set(rng.choice(customers, int(len(customers) * test_fraction), replace=False).tolist())
    train: list[Event] = []
    test: list[Event] = []
    for k, (c, a) in enumerate(zip(t["customer_id"], t["article_id"], strict=True)):
        if str(a) not in cat:
            continue
        e = Event(c, EventType.PURCHASE, float(k), str(a), session_id=c)  # one day: log order as time
        (test if c in held else train).append(e)
    info = {"events": len(train) + len(test), "items": len(cat), "split": "one day only: 20% of customers held out"}
    return cat, EventLog.from_events(train, cat), EventLog.from_events(test, cat), info


LOADERS = {"digi": load_digi, "yoochoose": load_yoochoose, "instacart": load_insta, "hm": load_hm}
