"""Student embedding vs the full encoder on real shopper queries: speed and quality (issue 9, part 4).

``shelfwise index --embed student``: the encoder (e5-onnx, the default) embeds a sample of the
catalog (25%, 1,000-50,000 products) and a static table fitted to it embeds every product
(:mod:`shelfwise.encode.student`); queries still go through e5-onnx. Rows per set:

* plain bm25s (peer, same run) and, for Chinese, BM25 over character unigrams + bigrams;
* ``full``: e5-onnx embeds every product (the default up to 4M tokens left to embed,
  ``snapshot.build.EMBED_BUDGET_TOKENS``; before session 16, below 50,000 products);
* ``student``: the sampled student (the default above that);
* ``static-e5``: the static path shipped before (model2vec distillation, queries static too).

Speed: products/s for the whole product-embedding step, wall clock, nothing cached: the full path
on a fixed 4,000-title subset (its rate does not depend on catalog size), the student on the whole
catalog (sample through the teacher + single-token prior + fit + every product through the table;
its fixed costs make the rate grow with the catalog). ``uptime`` load is recorded beside each timing.
Quality: NDCG@10 / Recall@100 / MRR of dense-only and hybrid search (shipped defaults).

Sets (../shared/data, evaluation only, never copied): ``hd1k`` Home Depot dev_1k (10,000 titles,
1,000 real queries, graded), ``hd`` the full dev half (54,667 titles, 5,851 judged queries),
``zh`` Multi-CPR Taobao (2,083 titles, 135 real Chinese queries).

Run: ``nice python bench/bench_student.py [--sets hd1k,zh,hd]`` -> ``bench/results/student.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench_search_real import load_set
from shelfwise.encode import CachedEncoder, Encoder, load_encoder
from shelfwise.encode.student import StudentConfig, fit_student
from shelfwise.eval.judgments import SearchMetrics, evaluate_search
from shelfwise.eval.peers import build_peers
from shelfwise.eval.tune import searcher_fn
from shelfwise.index import detect_language
from shelfwise.retrieve import HybridSearcher

from common import print_table, write_json

CACHE = Path(__file__).resolve().parent / ".cache" / "embeddings.sqlite"
N_FULL_TIMING = 4000


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def metrics(m: SearchMetrics) -> dict[str, float]:
    return {"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "mrr": m.mrr}


def evaluate(searcher: HybridSearcher, judg: Any) -> dict[str, dict[str, float]]:
    return {mode: metrics(evaluate_search(searcher_fn(searcher, mode=mode), judg)) for mode in ("dense", "hybrid")}


def run_set(name: str) -> dict[str, Any]:
    catalog, judg = load_set(name)
    texts = catalog.texts()
    profile = detect_language(texts)
    queries = [judg.queries[q] for q in judg.judged()]
    print(f"\n== {name}: {len(catalog)} products, {len(queries)} judged queries")
    out: dict[str, Any] = {"products": len(catalog), "queries": len(queries), "rows": {}}
    peers = ["bm25s", "bm25s-char"] if profile.needs_multilingual else ["bm25s"]
    for peer, fn in build_peers(peers, catalog).items():
        out["rows"][f"peer {peer}"] = {"hybrid": metrics(evaluate_search(fn, judg))}

    teacher = load_encoder("e5-onnx")  # uncached: timings below embed for real
    subset = texts[:N_FULL_TIMING]
    teacher.encode(subset[:64])
    t0, load0 = time.perf_counter(), load_1m()
    teacher.encode(subset)
    full_s = time.perf_counter() - t0
    full_rate = len(subset) / full_s
    cached: Encoder = CachedEncoder(teacher, CACHE)  # quality: every product through e5-onnx (cached)
    searcher = HybridSearcher.build(catalog, cached, language=profile, encoder_spec="e5-onnx", progress=True)
    searcher.dense.prime(queries)
    out["rows"]["full e5-onnx"] = {
        **evaluate(searcher, judg),
        "products_per_s": full_rate,
        "timing": {"products": len(subset), "seconds": full_s, "load_1m": [load0, load_1m()]},
    }

    t0, load0 = time.perf_counter(), load_1m()
    fit = fit_student(teacher, texts, StudentConfig(), progress=True)
    student_s = time.perf_counter() - t0
    print(fit.stats.describe())
    st = HybridSearcher.build(catalog, fit.encoder, language=profile, item_vectors=fit.vectors)
    st.dense.prime(queries)
    out["rows"]["student e5-onnx"] = {
        **evaluate(st, judg),
        "products_per_s": len(texts) / student_s,
        "timing": {"products": len(texts), "seconds": student_s, "load_1m": [load0, load_1m()]},
        "fit": {
            "teacher_products": fit.stats.teacher_products,
            "tokens": fit.stats.tokens,
            "teacher_s": fit.stats.teacher_s,
            "prior_s": fit.stats.prior_s,
            "fit_s": fit.stats.fit_s,
            "holdout_cosine_mean": fit.stats.holdout_cosine_mean,
            "holdout_cosine_p5": fit.stats.holdout_cosine_p5,
        },
    }

    static = load_encoder("static-e5")
    t0, load0 = time.perf_counter(), load_1m()
    vecs = static.encode(texts)
    static_s = time.perf_counter() - t0
    ss = HybridSearcher.build(catalog, static, language=profile, item_vectors=vecs)
    out["rows"]["static-e5"] = {
        **evaluate(ss, judg),
        "products_per_s": len(texts) / static_s,
        "timing": {"products": len(texts), "seconds": static_s, "load_1m": [load0, load_1m()]},
    }
    base = max(v["hybrid"]["ndcg@10"] for k, v in out["rows"].items() if k.startswith("peer "))
    full = out["rows"]["full e5-onnx"]["hybrid"]["ndcg@10"]
    rows = []
    for k, v in out["rows"].items():
        h = v["hybrid"]["ndcg@10"]
        v["hybrid_x_best_peer"] = h / base
        v["hybrid_vs_full"] = h / full - 1.0
        rows.append(
            [
                k,
                v.get("dense", {}).get("ndcg@10", float("nan")),
                h,
                v["hybrid"]["recall@100"],
                f"{h / base:.3f}",
                f"{100 * (h / full - 1):+.1f}%",
                v.get("products_per_s", float("nan")),
            ]
        )
    print_table(
        f"{name}: {len(queries)} real queries, {len(catalog)} products (load {load_1m()})",
        ["system", "dense NDCG@10", "hybrid NDCG@10", "hybrid R@100", "x best peer", "vs full", "products/s"],
        rows,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="hd1k,zh,hd")
    ap.add_argument("--out", default="student")
    args = ap.parse_args()
    result = {"config": {"student": StudentConfig().__dict__}, "sets": {}}
    for name in args.sets.split(","):
        result["sets"][name] = run_set(name)
    write_json(args.out, result)


if __name__ == "__main__":
    main()
