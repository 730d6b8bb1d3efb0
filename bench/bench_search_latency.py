"""In-process search latency at ~50k products with the shipped defaults (issue 9, part 4).

Catalog: the 54,667 real Home Depot titles (../shared, evaluation-only); queries: the real Home
Depot dev queries, each sent once (never seen: the query-embedding LRU is empty), one at a time,
after warm-up. Reports the whole ``HybridSearcher.search`` call and its parts (query encoder alone,
lexical index alone, dense retrieval with a cached embedding), with ``uptime`` load beside each.
Embeddings come from the cache that ``bench_search_real.py`` fills, so run that first.

Run: python bench/bench_search_latency.py [--encoders e5-onnx,minilm-onnx-q8] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bench_search_real import CACHE, load_set
from shelfwise.encode import load_encoder
from shelfwise.index import detect_language
from shelfwise.retrieve import HybridSearcher

from common import percentiles, print_table, time_calls, write_json


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoders", default="e5-onnx,minilm-onnx-q8")
    ap.add_argument("--queries", type=int, default=1000)
    args = ap.parse_args()
    catalog, judgments = load_set("hd")
    queries = [judgments.queries[q] for q in judgments.judged()][: args.queries]
    profile = detect_language(catalog.texts())
    out: dict[str, Any] = {"products": len(catalog), "queries": len(queries), "load_start": os.getloadavg()}
    rows = []
    for spec in args.encoders.split(","):
        s = HybridSearcher.build(catalog, load_encoder(spec, CACHE), language=profile, encoder_spec=spec)
        parts = measure(s, queries)
        out[spec] = {"vector_index": s.dense.index.kind, **parts}
        rows += [[spec, name, p["p50_ms"], p["p99_ms"], p["load_1m"]] for name, p in parts.items()]
    print_table(
        f"in-process latency, {len(catalog)} products, {len(queries)} real queries (ms)",
        ["encoder", "what", "p50", "p99", "load"],
        rows,
    )
    write_json("search_latency", out)


if __name__ == "__main__":
    main()
