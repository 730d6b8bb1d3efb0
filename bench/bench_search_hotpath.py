"""The search hot path after the query encoder, old code vs new in the same process (issue 9, part 4).

A search of a repeated query (its embedding cached) costs what is left once the encoder is paid:
query understanding, the lexical index (word + character BM25, their mix), its top-k, HNSW, convex
fusion and glue. This bench builds the 54,667-product Home Depot searcher as
``bench_search_latency.py`` does (item embeddings from the cache ``bench_search_real.py`` fills),
primes the query-embedding cache with the real dev queries, then times each part and the whole
``HybridSearcher.search`` with the code of ``--base`` (a commit, read with ``git show`` into a
temporary folder) and with the working tree, on the same index objects (but for the vector index:
the old side's is the same one reloaded on 4 KiB pages, the new side's on huge pages), alternating passes over
all queries so that load drifts hit both alike. Before timing, every query's top 10 and top 100
(with match features) are checked to be the same ids and bit-identical scores under both. Old vs
new ``top_k`` is also timed on random scores at 54,667 and 1M rows, with and without a filter.

Run: python bench/bench_search_hotpath.py [--base COMMIT] [--queries 1000] [--passes 6]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from bench_search_real import CACHE, load_set
from shelfwise.encode import load_encoder
from shelfwise.index import detect_language
from shelfwise.index import topk as new_topk
from shelfwise.index import vector as vector_mod
from shelfwise.index.vector import VectorIndex
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve import hybrid as new_hybrid

from common import ROOT, percentiles, print_table, write_json

BASE = "428bd02873660e176465b0e1d715108c944a245d"  # main before the session-10 hot-path work
MODULES = {
    "topk": "src/shelfwise/index/topk.py",
    "bm25": "src/shelfwise/index/bm25.py",
    "lexical": "src/shelfwise/index/lexical.py",
    "understand": "src/shelfwise/retrieve/understand.py",
    "hybrid": "src/shelfwise/retrieve/hybrid.py",
}


def old_modules(base: str, folder: Path) -> dict[str, ModuleType]:
    """The ``MODULES`` of commit ``base`` imported under private names; their references to one another
    (``top_k``, ``parse_price`` stay module-local) point at the old versions."""
    out: dict[str, ModuleType] = {}
    for name, path in MODULES.items():
        src = subprocess.run(["git", "show", f"{base}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True)
        file = folder / f"_old_{name}.py"
        file.write_text(src.stdout)
        spec = importlib.util.spec_from_file_location(f"_old_{name}", file)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        out[name] = mod
    for name in ("bm25", "lexical", "hybrid"):
        out[name].top_k = out["topk"].top_k  # type: ignore[attr-defined]
    return out


def as_class(obj: Any, cls: type) -> Any:
    """A shallow copy of ``obj`` whose methods are ``cls``'s (the indexes' arrays are shared)."""
    twin = copy.copy(obj)
    twin.__class__ = cls
    if hasattr(twin, "_last"):
        twin._last = None
    return twin


def old_searcher(s: HybridSearcher, old: dict[str, ModuleType], vectors: Any) -> Any:
    """``s`` with the old search, lexical, BM25 and query-understanding code over the same indexes, but
    ``vectors`` (the same vector index loaded on 4 KiB pages) for its dense side."""
    twin = as_class(s, old["hybrid"].HybridSearcher)
    twin.dense = copy.copy(s.dense)  # the same embedding cache
    twin.dense.index = vectors
    lex = as_class(s.lexical, old["lexical"].LexicalIndex)
    lex.words = as_class(s.lexical.words, old["bm25"].BM25Index)
    lex.chars = as_class(s.lexical.chars, old["bm25"].BM25Index) if s.lexical.chars is not None else None
    twin.lexical = lex
    twin._understanding = as_class(s.understanding, old["understand"].QueryUnderstanding)
    return twin


def check_same(a: Any, b: HybridSearcher, queries: list[str]) -> int:
    """Every query: same ids, bit-identical scores and match features, top 10 and top 100."""
    for q in queries:
        for k in (10, 100):
            x, y = a.search(q, k, match_features=True), b.search(q, k, match_features=True)
            assert x.ids.tolist() == y.ids.tolist(), q
            assert np.array_equal(x.scores, y.scores), q
            for f in x.features:
                assert np.array_equal(x.features[f], y.features[f]), (q, f)
    return len(queries)


def reset(s: Any) -> None:
    """Forget the per-query memos (the last query's lexical scores and parse)."""
    s.lexical._last = s.lexical.words._last = None
    if s.lexical.chars is not None:
        s.lexical.chars._last = None
    s.understanding._last = None


def parts(s: Any, topk: ModuleType) -> dict[str, Callable[[str], Any]]:
    """The timed calls of one implementation: the whole search and each part of it."""
    n = s.config.candidates

    def lexical(q: str) -> Any:
        reset(s)
        return s.lexical.score_parts(q)

    def understand(q: str) -> Any:
        reset(s)
        return s.understand(q)

    def fusion(q: str) -> Any:
        p = s.lexical.score_parts(q)
        first = new_hybrid._FirstStage(p)
        lex, sem = topk.top_k(p.mixed, n), s.dense.retrieve(q, n)
        t = time.perf_counter()
        s._convex(q, s.dense, first, lex, sem, n, s.config.dense_weight)
        return time.perf_counter() - t

    mixed: dict[str, Any] = {}

    def top(q: str) -> Any:
        t = time.perf_counter()
        topk.top_k(mixed[q], n)
        return time.perf_counter() - t

    for q in dict.fromkeys(QUERIES):
        mixed[q] = s.lexical.score_parts(q).mixed
    reset(s)

    def search(q: str) -> Any:
        reset(s)
        return s.search(q, 10)

    def never_seen(q: str) -> Any:
        reset(s)
        s.dense._cache.pop(q, None)  # this query's embedding forgotten: the encoder runs
        return s.search(q, 10)

    return {
        "search, never-seen query (encoder included)": never_seen,
        "search, repeated query": search,
        "understand": understand,
        "lexical score_parts (word + char BM25, mix)": lexical,
        "top_k of the lexical scores (100)": top,
        "convex fusion": fusion,
        "dense retrieve, embedding cached (HNSW on 4 KiB pages old, huge pages new)": lambda q: s.dense.retrieve(q, n),
    }


QUERIES: list[str] = []
# synthetic top-k cases (rows, share of rows scoring > 0, k, share a filter allows or None): the
# Home Depot size and 1M (bench_million's), dense (character n-grams) and sparse (word-only) scores
TOPK_CASES = (
    (54_667, 0.56, 100, None),
    (54_667, 0.045, 100, None),
    (54_667, 0.56, 100, 0.02),
    (1_000_000, 0.6, 100, None),
    (1_000_000, 0.02, 100, None),
    (1_000_000, 0.6, 100, 0.01),
)


def topk_synthetic(old: ModuleType, passes: int) -> dict[str, Any]:
    """Old vs new ``top_k`` on random scores of each :data:`TOPK_CASES` case (20 arrays, alternating)."""
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for n, share, k, allowed in TOPK_CASES:
        arrays = [
            (
                np.where(rng.random(n) < share, rng.random(n), 0).astype(np.float32),
                None if allowed is None else rng.random(n) < allowed,
            )
            for _ in range(20)
        ]
        times: dict[str, list[float]] = {"old": [], "new": []}
        for p in range(passes):
            for side in ("old", "new") if p % 2 == 0 else ("new", "old"):
                fn = old.top_k if side == "old" else new_topk.top_k
                for a, m in arrays:
                    t = time.perf_counter()
                    fn(a, k, m)
                    times[side].append(time.perf_counter() - t)
        for a, m in arrays[:3]:
            x, y = old.top_k(a, k, m), new_topk.top_k(a, k, m)
            assert np.array_equal(x.ids, y.ids) and np.array_equal(x.scores, y.scores)
        a_, b_ = percentiles(times["old"]), percentiles(times["new"])
        name = f"{n} rows, {share:g} scoring, k {k}, filter {allowed if allowed is not None else 'none'}"
        out[name] = {"old": a_, "new": b_, "p50_ratio_new_over_old": b_["p50_ms"] / a_["p50_ms"]}
        out[name]["load_1m"] = os.getloadavg()[0]
    return out


def _huge_pages() -> str:
    """This process's memory on transparent huge pages (the new side's vectors and graph), as Linux says."""
    try:
        lines = Path("/proc/self/smaps_rollup").read_text().splitlines()
    except OSError:
        return "unknown"
    return "; ".join(x.split(None, 1)[0] + " " + x.split(None, 1)[1].strip() for x in lines if "Huge" in x)


SELF_TIMED = ("top_k of the lexical scores (100)", "convex fusion")  # the call returns its own time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=BASE, help="commit whose code is the 'old' side")
    ap.add_argument("--encoder", default="e5-onnx")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--passes", type=int, default=6, help="passes over the queries per side, alternating")
    ap.add_argument("--out", default="search_hotpath", help="results name under bench/results")
    ap.add_argument("--index", default="", help="a searcher folder: loaded when there, else built and saved there")
    args = ap.parse_args()
    catalog, judgments = load_set("hd")
    QUERIES[:] = [judgments.queries[q] for q in judgments.judged()][: args.queries]
    load_build = os.getloadavg()
    encoder = load_encoder(args.encoder, CACHE)
    if args.index and (Path(args.index) / "searcher.json").exists():
        s = HybridSearcher.load(args.index, catalog, encoder)
        s.dense.index = VectorIndex.load(Path(args.index) / "vectors", mmap=False)  # in memory, as built
    else:
        s = HybridSearcher.build(catalog, encoder, language=detect_language(catalog.texts()), encoder_spec=args.encoder)
        if args.index:
            s.save(args.index)
    default_cfg = s.config
    if any(f.name == "feedback_weight" for f in dataclasses.fields(s.config)):
        # pseudo-relevance feedback came after --base and changes results by design: off for the A/B,
        # the shipped default timed on the new side alone
        s.config = dataclasses.replace(s.config, feedback_weight=0.0)
    intents = [s.understand(q) for q in QUERIES]  # retrieval embeds the text without its price phrase
    s.dense.prime(list(dict.fromkeys([*QUERIES, *(i.text for i in intents if i is not None)])))
    with tempfile.TemporaryDirectory() as tmp:
        old = old_modules(args.base, Path(tmp))
        s.dense.index.save(Path(tmp) / "vectors")
        vector_mod.HUGE_PAGES = False  # the old side's vectors and graph as before: 4 KiB pages
        plain = VectorIndex.load(Path(tmp) / "vectors", mmap=False)
        vector_mod.HUGE_PAGES = True
        o = old_searcher(s, old, plain)
        same = check_same(o, s, QUERIES)
        sides = {"old": parts(o, old["topk"]), "new": parts(s, new_topk)}
        times: dict[str, dict[str, list[float]]] = {side: {name: [] for name in sides[side]} for side in sides}
        shipped: list[float] = []  # the new side with its default config (feedback on, where it exists)
        loads: list[float] = []
        for p in range(args.passes):
            for side in ("old", "new") if p % 2 == 0 else ("new", "old"):
                for name, fn in sides[side].items():
                    for q in QUERIES:
                        t = time.perf_counter()
                        r = fn(q)
                        dt = time.perf_counter() - t
                        times[side][name].append(float(r) if name in SELF_TIMED else dt)
                if side == "new" and default_cfg is not s.config:
                    for q in QUERIES:
                        reset(s)
                        t = time.perf_counter()
                        s.search(q, 10, config=default_cfg)
                        shipped.append(time.perf_counter() - t)
                loads.append(os.getloadavg()[0])
        synthetic = topk_synthetic(old["topk"], args.passes)
    out: dict[str, Any] = {
        "products": len(catalog),
        "queries": len(QUERIES),
        "passes_per_side": args.passes,
        "base_commit": args.base,
        "identical_results_checked": same,
        "vector_index": s.dense.index.kind,
        "index": "loaded from --index (vectors in memory)" if args.index else "built in this process",
        "huge_pages": _huge_pages(),
        "load_1m_at_build": load_build[0],
        "load_1m_per_pass": loads,
        "uptime_load_end": os.getloadavg(),
        "check": "every query's top 10 and top 100: same ids, bit-identical scores and match features",
        "config_compared": str(s.config),
    }
    if shipped:
        out["search, repeated query, new side with its shipped config"] = {
            "config": str(default_cfg),
            **percentiles(shipped),
        }
    rows: list[list[Any]] = []
    for name in sides["new"]:
        a, b = percentiles(times["old"][name]), percentiles(times["new"][name])
        out[name] = {"old": a, "new": b, "p50_ratio_new_over_old": b["p50_ms"] / a["p50_ms"]}
        out[name]["p99_ratio_new_over_old"] = b["p99_ms"] / a["p99_ms"]
        rows.append([name, a["p50_ms"], b["p50_ms"], a["p99_ms"], b["p99_ms"], b["p50_ms"] / a["p50_ms"]])
    print_table(
        f"search hot path, {len(catalog)} products, {len(QUERIES)} queries x {args.passes} passes a side (ms); "
        f"load {min(loads):.2f}-{max(loads):.2f}",
        ["part", "old p50", "new p50", "old p99", "new p99", "p50 new/old"],
        rows,
    )
    if shipped:
        x = out["search, repeated query, new side with its shipped config"]
        print(f"new side, shipped config (feedback on): repeated query p50 {x['p50_ms']:.4f} p99 {x['p99_ms']:.4f} ms")
    out["top_k synthetic (random scores, same rows checked)"] = synthetic
    print_table(
        "top_k on random scores (ms)",
        ["case", "old p50", "new p50", "p50 new/old", "load"],
        [
            [k, v["old"]["p50_ms"], v["new"]["p50_ms"], v["p50_ratio_new_over_old"], v["load_1m"]]
            for k, v in synthetic.items()
        ],
    )
    write_json(args.out, out)


if __name__ == "__main__":
    main()
