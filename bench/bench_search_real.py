"""Search on real shopper queries, every system in one run (issues 9 and 14).

Sets (read from ../shared/data, evaluation-only, never copied into the repo):
* ``hd1k``: Home Depot dev subset, 10,000 product titles, 1,000 real homedepot.com queries with
  graded crowd judgments (0/1/2; pooled, so unjudged products count as irrelevant);
* ``hd``: the full Home Depot dev half, 54,667 titles, 5,888 queries;
* ``zh``: Multi-CPR e-commerce (Taobao), 2,083 titles, 135 real Chinese queries, one labelled match.

Rows: plain bm25s (its README recipe: English stop words + Snowball stemmer) and, for Chinese,
BM25 over character unigrams + bigrams (the issue's peer), next to Shelfwise's lexical index
(words only, then words + character n-grams), dense retrieval per encoder, and the hybrid with the
shipped defaults (convex fusion, dense weight 0.4) and with the old default (RRF 0.5). ``default``
marks what ``shelfwise index`` picks by itself for that catalog (encoder chosen by language).
Latency: in-process ``HybridSearcher.search`` for never-seen queries (query embedding cache
empty), one at a time, after warm-up. A paired bootstrap gives a 95% interval for the NDCG@10
ratio of each system to the strongest peer.

Run: python bench/bench_search_real.py [--sets hd1k,zh,hd] [--encoders auto,minilm,e5] [--out NAME]

With the default encoder it also counts the queries whose search says no product holds a word of
them (``no_word_match``: the ``no-word-match`` notice; real judged queries, so it should rarely fire).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import SearchMetrics, evaluate_search, load_judgments
from shelfwise.eval.peers import build_peers
from shelfwise.eval.tune import searcher_fn
from shelfwise.index import LexicalConfig, LexicalIndex, detect_language
from shelfwise.index.language import choose_encoder
from shelfwise.retrieve import HybridSearcher, SearchConfig, SearchTrace

from common import SHARED, percentiles, print_table, time_calls, write_json

CACHE = Path(__file__).resolve().parent / ".cache" / "embeddings.sqlite"
SETS = {
    "hd1k": ("homedepot", "dev_1k_products", "dev_1k_queries", "dev_1k_judgments"),
    "hd": ("homedepot", "products", "queries_dev", "judgments_dev"),
    "zh": ("multicpr_zh", "products", "queries_dev", "judgments_dev"),
}


def load_set(name: str) -> tuple[Any, Any]:
    folder, prod, queries, judg = SETS[name]
    d = SHARED / folder
    cat = load_catalog(d / f"{prod}.parquet", ProductFields.from_json(d / "catalog_fields.json")).catalog
    return cat, load_judgments(d / f"{queries}.parquet", d / f"{judg}.parquet")


def ratio_ci(a: SearchMetrics, base: SearchMetrics, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% paired-bootstrap interval of mean NDCG@10(a) / mean NDCG@10(base) over queries."""
    x, y = np.asarray(a.per_query["ndcg@10"]), np.asarray(base.per_query["ndcg@10"])
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    r = x[idx].mean(axis=1) / np.maximum(y[idx].mean(axis=1), 1e-12)
    return float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def ratio_table(results: dict[str, SearchMetrics], base: SearchMetrics) -> tuple[list[list[Any]], dict[str, Any]]:
    """Table rows and JSON entries: each system's NDCG@10, R@100, MRR and its NDCG@10 ratio to ``base``
    with the paired-bootstrap 95% interval."""
    rows: list[list[Any]] = []
    out: dict[str, Any] = {}
    for name, m in results.items():
        lo, hi = ratio_ci(m, base)
        ratio = m.ndcg_at_10 / base.ndcg_at_10
        rows.append([name, m.ndcg_at_10, m.recall_at_100, m.mrr, f"{ratio:.3f} [{lo:.3f}, {hi:.3f}]"])
        out[name] = {**m.summary(), "ndcg_ratio_vs_best_peer": ratio, "ratio_ci95": [lo, hi]}
    return rows, out


def lexical_fn(index: LexicalIndex, ids: list[str]) -> Any:
    def run(query: str, n: int) -> list[str]:
        return [ids[i] for i in index.retrieve(query, n).ids.tolist()]

    return run


def ranked_by_words(searcher: HybridSearcher, query: str) -> bool:
    """Whether the default search ranked ``query`` by its words alone (its :class:`SearchTrace`)."""
    trace = SearchTrace()
    searcher.search(query, 10, trace=trace)
    return trace.ranked_by == "words"


def no_word_match(searcher: HybridSearcher, queries: list[str]) -> dict[str, Any]:
    """The queries whose default search says no product holds a word of them (the ``no-word-match``
    notice: :attr:`SearchTrace.words_matched` False)."""
    fired = []
    for q in queries:
        trace = SearchTrace()
        searcher.search(q, 10, trace=trace)
        if trace.words_matched is False:
            fired.append(q)
    return {"n": len(fired), "of": len(queries), "queries": fired}


def one_word_held(searcher: HybridSearcher, query: str) -> bool:
    """A one-word query whose top 5 lexical hits' titles all hold the word (the shortcut's test with
    a one-word minimum; the search leaves such queries to the fusion)."""
    if len(set(searcher.lexical.tokenizer(query))) != 1:
        return False
    top = searcher.lexical.retrieve(query, 5).ids
    return len(top) == 5 and searcher.title_terms.hold_all(query, top, min_terms=1)


def cold_latency(searcher: HybridSearcher, queries: list[str], n: int = 500) -> dict[str, float]:
    searcher.search("warm up", 10)
    searcher.dense._cache.clear()
    samples = time_calls(lambda q: searcher.search(q, 10), queries[:n])
    searcher.dense._cache.clear()
    return percentiles(samples)


def run_set(name: str, encoders: list[str]) -> dict[str, Any]:
    catalog, judgments = load_set(name)
    texts = catalog.texts()
    profile = detect_language(texts)
    auto = choose_encoder(profile).spec
    queries = [judgments.queries[q] for q in judgments.judged()]
    print(f"\n== {name}: {len(catalog)} products, {len(queries)} judged queries; {profile.describe()}")
    peers = ["bm25s", "bm25s-char"] if profile.needs_multilingual else ["bm25s"]
    results: dict[str, SearchMetrics] = {}
    for peer, fn in build_peers(peers, catalog).items():
        results[f"peer {peer}"] = evaluate_search(fn, judgments)
    for label, cfg in (("words", LexicalConfig(char_ngram=0)), ("words+chars", LexicalConfig())):
        idx = LexicalIndex(cfg).fit(texts)
        results[f"lexical {label}"] = evaluate_search(lexical_fn(idx, catalog.ids), judgments)
    speed: dict[str, Any] = {}
    for spec in [auto if e == "auto" else e for e in dict.fromkeys(encoders)]:
        encoder = load_encoder(spec, CACHE)
        t0 = time.perf_counter()
        searcher = HybridSearcher.build(catalog, encoder, language=profile, encoder_spec=spec, progress=True)
        build_s = time.perf_counter() - t0
        tag = f"{spec}{' (default)' if spec == auto else ''}"
        speed[spec] = {"build_s_incl_cached_embeddings": build_s, "search_cold": cold_latency(searcher, queries)}
        searcher.dense.prime(queries, progress=True)
        results[f"dense {tag}"] = evaluate_search(searcher_fn(searcher, mode="dense"), judgments)
        results[f"hybrid {tag}"] = evaluate_search(searcher_fn(searcher, mode="hybrid"), judgments)
        old = replace(SearchConfig(), fusion="rrf", dense_weight=0.5)
        results[f"hybrid rrf-0.5 {spec}"] = evaluate_search(searcher_fn(searcher, config=old), judgments)
        if spec == auto:  # query understanding: how many real queries it touches, and the effect
            intents = [searcher.understand(q) for q in queries]
            touched = [q for q, i in zip(queries, intents, strict=True) if i is not None]
            speed[spec]["understood_queries"] = {"n": len(touched), "examples": touched[:10]}
            off = replace(SearchConfig(), understand=False)
            results[f"hybrid {spec}, understanding off"] = evaluate_search(searcher_fn(searcher, config=off), judgments)
            fused = replace(SearchConfig(), lexical_shortcut=0)  # every query through the encoder
            results[f"hybrid {spec}, lexical shortcut off"] = evaluate_search(
                searcher_fn(searcher, config=fused), judgments
            )
            speed[spec]["no_word_match"] = no_word_match(searcher, queries)
            took = np.array([ranked_by_words(searcher, q) for q in queries], dtype=bool)
            speed[spec]["lexical_shortcut_share"] = float(took.mean())
            fused_q = np.asarray(results[f"hybrid {spec}, lexical shortcut off"].per_query["ndcg@10"])
            if took.any():  # NDCG@10 on the queries that take the shortcut: their words alone vs fused
                alone = np.asarray(results[f"hybrid {tag}"].per_query["ndcg@10"])[took]
                mixed = fused_q[took]
                speed[spec]["lexical_shortcut_queries_ndcg"] = {"words alone": alone.mean(), "fused": mixed.mean()}
            # one-word queries whose top 5 titles hold the word: what the rule's two-word minimum leaves fused
            one = np.array([one_word_held(searcher, q) for q in queries], dtype=bool)
            if one.any():
                words_q = np.asarray(results["lexical words+chars"].per_query["ndcg@10"])
                speed[spec]["one_word_held_ndcg"] = {
                    "queries": int(one.sum()),
                    "words alone": words_q[one].mean(),
                    "fused": fused_q[one].mean(),
                }
    best_peer = max((k for k in results if k.startswith("peer ")), key=lambda k: results[k].ndcg_at_10)
    base = results[best_peer]  # ratios against the strongest peer (bm25s; the character BM25 for Chinese)
    rows, out = ratio_table(results, base)
    print_table(
        f"{name}: {len(queries)} real queries, {len(catalog)} products",
        ["system", "NDCG@10", "R@100", "MRR", f"x {best_peer} NDCG [95% CI]"],
        rows,
    )
    print_table(
        f"{name}: in-process search, never-seen queries (ms; load {os.getloadavg()[0]:.2f})",
        ["encoder", "p50", "p99", "build s"],
        [
            [k, v["search_cold"]["p50_ms"], v["search_cold"]["p99_ms"], v["build_s_incl_cached_embeddings"]]
            for k, v in speed.items()
        ],
    )
    return {
        "products": len(catalog),
        "queries": len(queries),
        "language": profile.to_json(),
        "auto_encoder": auto,
        "ratio_base": best_peer,
        "metrics": out,
        "latency": speed,
        "load_avg_1m": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd1k,zh")
    ap.add_argument("--encoders", default="auto,minilm,e5")
    ap.add_argument("--out", default="search_real")
    args = ap.parse_args()
    payload = {
        "config": {"search": dataclasses.asdict(SearchConfig()), "lexical": LexicalConfig().to_json()},
        "uptime_load_start": os.getloadavg(),
        "sets": {s: run_set(s, args.encoders.split(",")) for s in args.sets.split(",")},
    }
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
