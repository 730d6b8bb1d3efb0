"""In-process search latency at ~50k products with the shipped defaults (issue 9, part 4).

Catalog: the 54,667 real Home Depot titles (../shared, evaluation-only); queries: the real Home
Depot dev queries, each sent once (never seen: the query-embedding LRU is empty), one at a time,
after warm-up. Reports the whole ``HybridSearcher.search`` call and its parts (query encoder alone,
lexical index alone, dense retrieval with a cached embedding) next to plain bm25s (the peer) in the
same run, with ``uptime`` load beside each.
The same never-seen queries then go over real HTTP (``GET /search`` on a uvicorn server on
127.0.0.1, one client, keep-alive), never-seen and repeated. Embedding throughput (products/s)
is measured on ``--embed`` titles the encoder has never seen (no cache), batch 64, all cores.
Item embeddings for the index come from the cache that ``bench_search_real.py`` fills, so run
that first.

Run: python bench/bench_search_latency.py [--encoders e5-onnx,minilm-onnx-q8] [--queries 1000] [--embed 2000]
[--in-process-only] (``--in-process-only``: the in-process rows alone, no HTTP server nor embedding throughput)
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench_search_real import CACHE, load_set
from shelfwise.encode import load_encoder
from shelfwise.eval.peers import build_peers
from shelfwise.index import detect_language
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf

from common import percentiles, print_table, serve_app, time_calls, write_json


def timed(fn: Callable[[str], Any], queries: list[str]) -> dict[str, float]:
    return {**percentiles(time_calls(fn, queries)), "load_1m": os.getloadavg()[0]}


def measure(s: HybridSearcher, queries: list[str]) -> dict[str, dict[str, float]]:
    for q in ("warm up", "drill", "paint"):
        s.search(q, 10)
    s.dense._cache.clear()
    enc = s.dense.query_encoder
    return {
        "search (never-seen query)": timed(lambda q: s.search(q, 10), queries),
        "query encoder alone": timed(lambda q: enc.encode([q]), queries),
        "lexical alone": timed(lambda q: s.lexical.retrieve(q, 100), queries),
        "dense retrieve, embedding cached": timed(lambda q: s.dense.retrieve(q, 100), queries),
        "search, repeated query": timed(lambda q: s.search(q, 10), queries),
    }


def over_http(s: HybridSearcher, queries: list[str]) -> dict[str, dict[str, float]]:
    s.dense._cache.clear()
    with serve_app(create_app(Shelf(s.catalog, s))) as url, httpx.Client(base_url=url) as client:

        def call(q: str) -> None:
            client.get("/search", params={"q": q, "k": 10}).raise_for_status()

        for q in ("warm up", "drill", "paint"):
            call(q)
        s.dense._cache.clear()
        return {
            "HTTP /search (never-seen query)": timed(call, queries),
            "HTTP /search, repeated query": timed(call, queries),
        }


def products_per_s(spec: str, titles: list[str]) -> dict[str, float]:
    enc = load_encoder(spec)  # no cache: every title is embedded
    enc.encode(titles[:64])
    t0 = time.perf_counter()
    enc.encode(titles[64:], batch_size=64)
    dt = time.perf_counter() - t0
    return {"products_per_s": (len(titles) - 64) / dt, "n": len(titles) - 64, "load_1m": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoders", default="e5-onnx,minilm-onnx-q8")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--embed", type=int, default=2000)
    ap.add_argument("--out", default="search_latency", help="results name under bench/results")
    ap.add_argument("--in-process-only", action="store_true", help="skip the HTTP rows and embedding throughput")
    args = ap.parse_args()
    catalog, judgments = load_set("hd")
    queries = [judgments.queries[q] for q in judgments.judged()][: args.queries]
    profile = detect_language(catalog.texts())
    out: dict[str, Any] = {"products": len(catalog), "queries": len(queries), "load_start": os.getloadavg()}
    # the peer in the same run: plain bm25s (its README recipe), top-100 retrieval, in-process
    peer = build_peers(["bm25s"], catalog)["bm25s"]
    out["peer bm25s"] = timed(lambda q: peer(q, 100), queries)
    rows: list[list[Any]] = [
        ["peer", "bm25s retrieve (top 100)", *(out["peer bm25s"][k] for k in ("p50_ms", "p99_ms", "load_1m"))]
    ]
    speeds: list[list[Any]] = []
    for spec in args.encoders.split(","):
        s = HybridSearcher.build(catalog, load_encoder(spec, CACHE), language=profile, encoder_spec=spec)
        parts = measure(s, queries) if args.in_process_only else {**measure(s, queries), **over_http(s, queries)}
        out[spec] = {"vector_index": s.dense.index.kind, **parts}
        rows += [[spec, name, p["p50_ms"], p["p99_ms"], p["load_1m"]] for name, p in parts.items()]
        if not args.in_process_only:
            speed = products_per_s(spec, catalog.texts()[: args.embed])
            out[spec]["embedding"] = speed
            speeds.append([spec, speed["products_per_s"], speed["n"], speed["load_1m"]])
    print_table(
        f"latency in-process and over HTTP, {len(catalog)} products, {len(queries)} real queries (ms)",
        ["encoder", "what", "p50", "p99", "load"],
        rows,
    )
    if speeds:
        print_table("embedding throughput, never-seen titles, batch 64", ["encoder", "products/s", "n", "load"], speeds)
    out["load_end"] = os.getloadavg()
    write_json(args.out, out)


if __name__ == "__main__":
    main()
