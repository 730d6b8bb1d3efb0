"""Event-to-result latency: POST /events, then poll GET /search until the ranking reflects it.

The app runs in-process (fastapi TestClient) over the bundled H&M catalog (4,903 articles) with
``HashingEncoder`` and a personalised searcher (``personal_weight=1``), a durable on-disk
``EventStore`` (SQLite WAL, synchronous=FULL: every acknowledged batch is fsynced) and the
background consumer from ``shelfwise.events.live``. Each trial uses a fresh shopper: read the
personalised results for a query, POST a purchase of the 10th result, and poll the same search
until that item ranks first. Also: acknowledgement latency, read-your-writes (``wait_ms``) and
batch ingest throughput. There is no peer package with the same HTTP-to-live-state path to
compare in-process, so no ratio is reported.

Run: python bench/bench_realtime.py [--trials 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fastapi.testclient import TestClient

from shelfwise.encode import HashingEncoder
from shelfwise.events import EventStore
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, enable_live

from common import load_hm, percentiles, print_table, write_json

QUERIES = ["black dress", "denim jeans", "cotton t-shirt", "knitted sweater", "swim shorts", "lace bra"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    args = ap.parse_args()
    catalog = load_hm()
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=256), SearchConfig(personal_weight=1.0))
    shelf = Shelf(catalog=catalog, searcher=searcher)
    tmp = tempfile.mkdtemp(prefix="shelfwise-rt-")
    cons = enable_live(shelf, EventStore(Path(tmp) / "events.sqlite"), explore_share=0).consumer
    client = TestClient(create_app(shelf), base_url="http://localhost")  # the Host allow-list admits loopback
    ack, visible, polls, ryw = [], [], [], []
    missed = 0
    try:
        for i in range(args.trials):
            user = f"bench-user-{i}"
            q = {"q": QUERIES[i % len(QUERIES)], "k": 10, "user": user}
            before = [it["id"] for it in client.get("/search", params=q).json()["items"]]
            target = before[-1]
            t0 = time.perf_counter()
            r = client.post("/events", json={"user_id": user, "type": "purchase", "item_id": target})
            ack.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            n = 0
            while True:
                n += 1
                top = client.get("/search", params=q).json()["items"][0]["id"]
                if top == target:
                    visible.append(time.perf_counter() - t0)
                    polls.append(n)
                    break
                if time.perf_counter() - t0 > 5.0:
                    missed += 1
                    break
            # read-your-writes: the POST waits for the consumer, the first read must reflect it
            user2 = f"bench-ryw-{i}"
            q2 = {**q, "user": user2}
            t0 = time.perf_counter()
            client.post(
                "/events", json={"user_id": user2, "type": "purchase", "item_id": target}, params={"wait_ms": 1000}
            )
            top2 = client.get("/search", params=q2).json()["items"][0]["id"]
            ryw.append(time.perf_counter() - t0)
            if top2 != target:
                missed += 1
        batch = [
            {"user_id": f"bulk-{j % 500}", "type": "view", "item_id": catalog.ids[j % len(catalog)]}
            for j in range(1000)
        ]
        t = time.perf_counter()
        rounds = 10
        for _ in range(rounds):
            r = client.post("/events", json=batch)
        last = r.json()["last_seq"]
        ingest_s = time.perf_counter() - t
        cons.wait_for(last, 30.0)
        applied_s = time.perf_counter() - t
        stats = client.get("/events/stats").json()
    finally:
        cons.stop()
    res: dict[str, Any] = {
        "catalog_items": len(catalog),
        "trials": args.trials,
        "not_reflected_within_5s": missed,
        "ack_latency": percentiles(ack),
        "event_to_search_result": percentiles(visible),
        "post_wait_then_search": percentiles(ryw),
        "mean_polls": sum(polls) / max(1, len(polls)),
        "batch_ingest_events_per_s": rounds * len(batch) / ingest_s,
        "batch_applied_events_per_s": rounds * len(batch) / applied_s,
        "final_stats": stats,
    }
    rows = [
        [name, res[key]["p50_ms"], res[key]["p90_ms"], res[key]["p99_ms"], res[key]["mean_ms"]]
        for name, key in [
            ("POST /events ack (fsync)", "ack_latency"),
            ("event -> /search reflects it", "event_to_search_result"),
            ("POST wait_ms + first /search", "post_wait_then_search"),
        ]
    ]
    print_table(
        f"Real-time: H&M catalog ({len(catalog)} items), {args.trials} trials, in-process app",
        ["path", "p50 ms", "p90 ms", "p99 ms", "mean ms"],
        rows,
    )
    print(
        f"not reflected within 5 s: {missed}; mean polls until visible: {res['mean_polls']:.2f}; "
        f"batch ingest {res['batch_ingest_events_per_s']:.0f} events/s (1000-event POSTs), "
        f"applied {res['batch_applied_events_per_s']:.0f} events/s"
    )
    write_json("realtime", res)


if __name__ == "__main__":
    main()
