"""The server backends on loopback next to their embedded defaults, on one shared 2-core machine:

* event log: SQLite (``EventStore``) vs NATS JetStream (``nats-server`` from the wheel, with an
  fsync before every ack, and with the server's default 2-minute fsync that a replicated cluster
  relies on): acknowledged append latency for batches of 10 events with ids, and how fast two
  replica consumers apply 5,000 events; the time a replica needs to see events again after the
  server is SIGKILLed and restarted;
* vector store: embedded flat index vs Milvus (Milvus Lite gRPC server, FLAT): time to load the
  vectors of the 54,667 Home Depot titles (``static-minilm``, read from ../shared/data) and
  top-10 query latency, with the overlap of the answers.

Everything runs on this one machine, so network hops are loopback only; see the README.

    python bench/bench_backends.py [--items 0] [--queries 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_distributed import HD, home_depot, uptime
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import load_judgments
from shelfwise.events import ConsumerConfig, Event, EventConsumer, EventStore, EventType
from shelfwise.events.backend import EventBackend, open_event_store
from shelfwise.index import VectorIndex, VectorIndexConfig
from shelfwise.index.backends import open_vector_store
from shelfwise.loopback import milvus_server, nats_server

from common import percentiles, print_table, write_json


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def update(self, events: Any) -> None:
        self.n += len(events)


def _events(start: int, n: int) -> list[Event]:
    return [Event(f"u{i % 500}", EventType.CLICK, float(i), f"p{i % 900}", query="cordless drill") for i in
            range(start, start + n)]  # fmt: skip


def bench_log(name: str, open_store: Any, n_events: int, restart: Any = None) -> dict[str, Any]:
    store: EventBackend = open_store()
    lat = []
    for b in range(200):
        t = time.perf_counter()
        store.append_unique(_events(b * 10, 10), [f"{name}-{b}-{j}" for j in range(10)])
        lat.append(time.perf_counter() - t)
    store.append(_events(10_000, max(n_events - 2000, 0)))
    total = store.last_seq()
    replicas = [open_store() for _ in range(2)]
    counters = [Counter(), Counter()]
    t = time.perf_counter()
    consumers = [EventConsumer(r, [c], ConsumerConfig(name=f"r{i}", batch_size=512)).start()
                 for i, (r, c) in enumerate(zip(replicas, counters, strict=True))]  # fmt: skip
    for c in consumers:
        c.wait_for(total, 120)
    catch_up = time.perf_counter() - t
    out: dict[str, Any] = {
        "log": name, "ack_batch10": percentiles(lat), "events": total,
        "two_replicas_catch_up_s": catch_up, "events_per_s_per_replica": total / catch_up,
    }  # fmt: skip
    if restart is not None:
        t = time.perf_counter()
        restart()
        while True:  # a replica sees a new event once the server is back and the client reconnected
            try:
                seq = store.append(_events(0, 1))
                break
            except Exception:
                time.sleep(0.01)
        consumers[0].wait_for(seq, 30)
        out["restart_to_applied_s"] = time.perf_counter() - t
    for c in consumers:
        c.stop()
    for s in (store, *replicas):
        s.close()
    return out


def bench_vectors(n_items: int, n_queries: int, tmp: Path) -> dict[str, Any]:
    catalog = home_depot()
    texts = catalog.texts()[: n_items or None]
    enc = load_encoder("static-minilm")
    vecs = enc.encode(texts, batch_size=256)
    judgments = load_judgments(HD / "queries_dev.parquet", HD / "judgments_dev.parquet")
    queries = enc.encode(sorted(judgments.queries.values())[:n_queries], batch_size=256)
    flat, t_flat = _timed(lambda: VectorIndex(VectorIndexConfig(kind="flat")).fit(vecs))
    with milvus_server(tmp / "milvus") as srv:
        store = open_vector_store(f"{srv.url}?collection=hd")
        _, t_fit = _timed(lambda: store.fit(vecs))
        store.search(queries[0], 10)
        lat_m, lat_f, overlap = [], [], []
        for q in queries:
            t = time.perf_counter()
            got = store.search(q, 10)
            lat_m.append(time.perf_counter() - t)
            t = time.perf_counter()
            want = flat.search(q, 10)
            lat_f.append(time.perf_counter() - t)
            overlap.append(len(set(got.ids.tolist()) & set(want.ids.tolist())) / 10)
    return {"items": len(texts), "dim": int(vecs.shape[1]), "embedded_fit_s": t_flat, "milvus_fit_s": t_fit,
            "embedded_top10": percentiles(lat_f), "milvus_top10": percentiles(lat_m),
            "top10_overlap": float(np.mean(overlap))}  # fmt: skip


def _timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=5_000)
    ap.add_argument("--items", type=int, default=0, help="Home Depot titles in the vector test (0: all)")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    before = uptime()
    print(f"uptime before: {before}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        logs = [bench_log("sqlite", lambda: EventStore(tmp / "ev.sqlite"), args.events)]
        with nats_server(tmp / "nats") as srv:
            logs.append(bench_log("nats fsync always", lambda: open_event_store(f"{srv.url}?stream=a&timeout_s=30"),
                                  args.events, restart=srv.restart))  # fmt: skip
        with nats_server(tmp / "nats2", sync_always=False) as srv2:
            logs.append(bench_log("nats default fsync", lambda: open_event_store(f"{srv2.url}?stream=b&timeout_s=30"),
                                  args.events))  # fmt: skip
        vec = bench_vectors(args.items, args.queries, tmp)
    after = uptime()
    print(f"uptime after: {after}")
    print_table("Event log (acknowledged = durable)", ["log", "ack p50 ms", "ack p99 ms", "replica events/s",
                "restart -> applied s"], [[r["log"], r["ack_batch10"]["p50_ms"], r["ack_batch10"]["p99_ms"],
                r["events_per_s_per_replica"], r.get("restart_to_applied_s", "-")] for r in logs])  # fmt: skip
    print_table(f"Vector store, {vec['items']} items x {vec['dim']}", ["store", "load s", "top-10 p50 ms",
                "top-10 p99 ms"], [["embedded flat", vec["embedded_fit_s"], vec["embedded_top10"]["p50_ms"],
                vec["embedded_top10"]["p99_ms"]], ["milvus (loopback)", vec["milvus_fit_s"],
                vec["milvus_top10"]["p50_ms"], vec["milvus_top10"]["p99_ms"]]])  # fmt: skip
    print(f"top-10 overlap milvus vs embedded: {vec['top10_overlap']:.3f}")
    write_json("backends", {"uptime_before": before, "uptime_after": after, "event_logs": logs, "vectors": vec})


if __name__ == "__main__":
    main()
