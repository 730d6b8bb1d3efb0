"""In-process search latency at ~50k products with the shipped defaults (issue 9, part 4).

Catalog: the 54,667 real Home Depot titles (../shared, evaluation-only); queries: the real Home
Depot dev queries, each sent once (never seen: the query-embedding LRU is empty), one at a time,
after warm-up. Reports the whole ``HybridSearcher.search`` call and its parts (query encoder alone,
lexical index alone, dense retrieval with a cached embedding) next to plain bm25s (the peer) in the
same run, with ``uptime`` load beside each; and the answer ``GET /search`` formats
(:func:`~shelfwise.retrieve.answer.answer_search`, no filter) with its ``total`` (products holding
every query word: postings intersected) timed alone.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import numpy as np

from bench_search_real import CACHE, load_set, ranked_by_words
from shelfwise.catalog import Filters
from shelfwise.encode import load_encoder
from shelfwise.encode.onnx_session import cap_query_threads
from shelfwise.eval.peers import build_peers
from shelfwise.index import detect_language
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import count_matches
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf

from common import percentiles, print_table, serve_app, time_calls, write_json


def timed(fn: Callable[[str], Any], queries: list[str]) -> dict[str, float]:
    return {**percentiles(time_calls(fn, queries)), "load_1m": os.getloadavg()[0]}


def lone_check(enc: Any, queries: list[str]) -> dict[str, float]:
    """An ONNX encoder's lone-call session (2 intra-op threads) against its one-thread session, same
    process, alternating per query (which measured less gain than runs in a row): the vectors must be
    equal bit for bit; returns both sessions' wall time and process CPU per query, and queries/s from
    two concurrent callers with the lone session allowed or not (best of two each)."""
    sessions = getattr(enc, "_sessions", None)
    if sessions is None or sessions.lone is None:
        return {}
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu = {False: 0.0, True: 0.0}  # process CPU seconds (every thread) per session
    vectors: dict[bool, Any] = {}
    for q in queries:
        for lone in (False, True):
            sessions.force_lone = lone
            c0, t0 = time.process_time(), time.perf_counter()
            vectors[lone] = enc.encode([q])
            wall[lone].append(time.perf_counter() - t0)
            cpu[lone] += time.process_time() - c0
        if not np.array_equal(vectors[False], vectors[True]):
            raise AssertionError(f"lone session changed the vector of {q!r}")
    p1, p2 = percentiles(wall[False]), percentiles(wall[True])
    rates: dict[int, list[float]] = {}
    sessions.force_lone = None
    for cap in (1, 8, 1, 8):  # two concurrent callers: queries/s with the lone session allowed or not
        cap_query_threads(cap)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda q: enc.encode([q]), queries))
        rates.setdefault(cap, []).append(len(queries) / (time.perf_counter() - t0))
    cap_query_threads(8)
    return {
        "one_p50_ms": p1["p50_ms"],
        "one_p99_ms": p1["p99_ms"],
        "lone_p50_ms": p2["p50_ms"],
        "lone_p99_ms": p2["p99_ms"],
        "one_cpu_ms_per_query": cpu[False] * 1000 / len(queries),
        "lone_cpu_ms_per_query": cpu[True] * 1000 / len(queries),
        "identical_vectors": float(len(queries)),
        "two_callers_qps_one_thread": max(rates[1]),
        "two_callers_qps_lone_allowed": max(rates[8]),
        "load_1m": os.getloadavg()[0],
    }


def measure(s: HybridSearcher, queries: list[str]) -> dict[str, dict[str, float]]:
    for q in ("warm up", "drill", "paint"):
        s.search(q, 10)
    s.dense._cache.clear()
    enc = s.dense.query_encoder
    sessions = getattr(enc, "_sessions", None)
    default = timed(lambda q: s.search(q, 10), queries)
    if sessions is not None:  # how often the encoder chose its lone session in that row
        default["lone_session_runs"] = float(sessions.picks[True])
        default["one_thread_runs"] = float(sessions.picks[False])
    return {
        "search (never-seen query)": default,
        **shortcut_ab(s, queries),
        "query encoder alone": timed(lambda q: enc.encode([q]), queries),
        "query encoder, one thread vs lone session": lone_check(enc, queries),
        "lexical alone": timed(lambda q: s.lexical.retrieve(q, 100), queries),
        "dense retrieve, embedding cached": timed(lambda q: s.dense.retrieve(q, 100), queries),
        "search, repeated query": timed(lambda q: s.search(q, 10), queries),
        "/search's answer (total included), repeated query": timed(
            lambda q: answer_search(s, q, 10, Filters()), queries
        ),
        "  of which the total (count_matches)": timed(lambda q: count_matches(s, q, Filters()), queries),
        **one_thread_search(s, queries),
    }


def shortcut_ab(s: HybridSearcher, queries: list[str]) -> dict[str, dict[str, float]]:
    """Never-seen queries with the lexical shortcut on (the default) and off (every query through the
    encoder), in passes ordered on, off, off, on (each pass from an empty embedding cache and title
    memo): the shortcut's time saving without the drift of one pass after the other."""
    fused = replace(s.config, lexical_shortcut=0)
    samples: dict[str, list[float]] = {"on": [], "off": []}
    for name in ("on", "off", "off", "on"):
        s.dense._cache.clear()
        s.title_terms.clear()  # the memo of titles analysed
        cfg = s.config if name == "on" else fused
        samples[name] += time_calls(lambda q, c=cfg: s.search(q, 10, config=c), queries)
    share = float(np.mean([ranked_by_words(s, q) for q in queries]))
    s.dense.prime(queries)  # every query's vector cached again, as the rows after this one expect
    load = os.getloadavg()[0]
    return {
        "search (never-seen query), lexical shortcut on, A/B": {
            **percentiles(samples["on"]),
            "lexical_shortcut_share": share,
            "load_1m": load,
        },
        "search (never-seen query), lexical shortcut off, A/B": {**percentiles(samples["off"]), "load_1m": load},
    }


def one_thread_search(s: HybridSearcher, queries: list[str]) -> dict[str, dict[str, float]]:
    """The never-seen search again with every query on the encoder's one-thread session, then on its
    lone session (the A/B for the choice the default rows let the encoder make; same process, after them)."""
    sessions = getattr(s.dense.query_encoder, "_sessions", None)
    if sessions is None or sessions.lone is None:
        return {}
    out = {}
    for lone, name in ((False, "one-thread encoder"), (True, "lone-session encoder")):
        s.dense._cache.clear()
        sessions.force_lone = lone
        out[f"search (never-seen query), {name}"] = timed(lambda q: s.search(q, 10), queries)
    sessions.force_lone = None
    s.dense._cache.clear()
    return out


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
        out[spec] = {"vector_index": getattr(s.dense.index, "kind", "?"), **parts}
        rows += [[spec, name, p["p50_ms"], p["p99_ms"], p["load_1m"]] for name, p in parts.items() if "p50_ms" in p]
        lone = parts["query encoder, one thread vs lone session"]
        if lone:
            rows += [
                [spec, f"query encoder, {w} (alternating)", lone[f"{w}_p50_ms"], lone[f"{w}_p99_ms"], lone["load_1m"]]
                for w in ("one", "lone")
            ]
            print(
                f"{spec}: CPU per query {lone['one_cpu_ms_per_query']:.2f} ms one-thread, "
                f"{lone['lone_cpu_ms_per_query']:.2f} ms lone; two concurrent callers "
                f"{lone['two_callers_qps_one_thread']:.0f} queries/s one-thread, "
                f"{lone['two_callers_qps_lone_allowed']:.0f} with the lone session allowed"
            )
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
