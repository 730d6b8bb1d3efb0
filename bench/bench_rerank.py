"""Learning-to-rank reranker benchmark on the real H&M catalog (4,903 articles).

Judged queries are *attribute-derived* (``attribute_judgments``: colour x product type, grade 2 =
both match, grade 1 = type only), split 70/30 by query; the reranker is trained on the 70% and
evaluated on held-out queries. Caveat stated plainly: the field-match features look at the same
structured fields the judgments were derived from, so gains here overstate what real shopper
queries would show. A transfer check trains on colour queries and tests on pattern queries
(``graphical_appearance_name`` x type), which the reranker never saw.

Compared in the same run: first-stage hybrid (BM25 + MiniLM, RRF), our pairwise-logistic (RankNet)
reranker, and scikit-learn's HistGradientBoostingRegressor trained pointwise on the same features.
Latency budget: reranking the top 50 must add <= 10 ms p99 per query on this 2-core CPU.
Run: ``nice -n 10 python bench/bench_rerank.py``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import Judgments, attribute_judgments, evaluate_search
from shelfwise.events import EventFields, load_events
from shelfwise.rank import ALL_FEATURE_NAMES, FeatureExtractor, LTRConfig, LTRReranker, PairwiseRanker, training_groups
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher

from common import CACHE, ROOT, load_hm, percentiles, print_table, write_json

BUDGET_P99_MS = 10.0
DEPTH = 50


class GBDTReranker:
    """Peer: scikit-learn gradient boosting, pointwise regression on the grade."""

    def __init__(self, extractor: FeatureExtractor, model: Any) -> None:
        self.extractor, self.model = extractor, model

    def rerank(self, query: str, results: Results) -> Results:
        s = self.model.predict(self.extractor.features(query, results)).astype(np.float32)
        order = np.argsort(-s, kind="stable")
        return Results(results.ids[order], s[order])


def evaluate(searcher: HybridSearcher, judg: Judgments) -> dict[str, float]:
    ids = searcher.catalog.ids

    def search(q: str, n: int) -> list[str]:
        return [ids[r] for r in searcher.search(q, n).ids.tolist()]

    m = evaluate_search(search, judg, k=10, recall_k=100)
    return {"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "mrr": m.mrr}


def main() -> None:
    import torch

    torch.set_num_threads(2)
    cat = load_hm()
    data = ROOT / "data" / "hm"
    events = load_events(data / "transactions.parquet", EventFields.from_json(data / "event_fields.json"), catalog=cat)
    counts = Counter(cat.row(e.item_id) for e in events.events)
    popularity = np.array([counts.get(r, 0) for r in range(len(cat))], dtype=np.float64)
    searcher = HybridSearcher.build(cat, load_encoder("minilm", CACHE))
    judg = attribute_judgments(cat, "colour_group_name", max_queries=None)
    train, held = judg.split(0.7, seed=0)
    pattern = attribute_judgments(cat, "graphical_appearance_name", max_queries=150, seed=1)
    # this synthetic set is built from the attribute fields: the opt-in field features are on here
    ex = FeatureExtractor(cat, searcher.lexical.tokenizer, popularity, ALL_FEATURE_NAMES)
    t0 = time.perf_counter()
    groups, labels = training_groups(searcher, ex, train.queries, train.relevance, DEPTH)
    feat_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ltr = LTRReranker(ex, PairwiseRanker(LTRConfig(depth=DEPTH), ex.names).fit(groups, labels))
    fit_ltr_s = time.perf_counter() - t0
    from sklearn.ensemble import HistGradientBoostingRegressor

    t0 = time.perf_counter()
    gb = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, random_state=0)
    gb.fit(np.concatenate(groups), np.concatenate(labels))
    fit_gb_s = time.perf_counter() - t0
    systems: dict[str, Any] = {
        "hybrid (no rerank)": None,
        "hybrid + LTR (ours)": ltr,
        "hybrid + sklearn GBDT": GBDTReranker(ex, gb),
    }
    rows, out = [], {}
    queries = list(held.queries.values())
    for name, rr in systems.items():
        searcher.reranker = rr
        m_held = evaluate(searcher, held)
        m_pat = evaluate(searcher, pattern)
        lat: dict[str, float] = {}
        if rr is not None:
            searcher.reranker = None
            heads = [searcher.search(q, DEPTH, match_features=True) for q in queries]
            samples = []
            for q, h in zip(queries, heads, strict=True):
                t = time.perf_counter()
                rr.rerank(q, h)
                samples.append(time.perf_counter() - t)
            lat = percentiles(samples)
            searcher.reranker = rr
        out[name] = {"heldout_colour": m_held, "transfer_pattern": m_pat, "rerank_latency": lat}
        rows.append(
            [name, m_held["ndcg@10"], m_held["mrr"], m_pat["ndcg@10"], lat.get("p50_ms", 0.0), lat.get("p99_ms", 0.0)]
        )
    base = out["hybrid (no rerank)"]["heldout_colour"]["ndcg@10"]
    print_table(
        f"reranking top {DEPTH} on H&M (held-out attribute queries: {len(held.judged())}; pattern transfer: "
        f"{len(pattern.judged())})",
        ["system", "ndcg@10", "mrr", "ndcg@10 (pattern)", "rerank p50 ms", "rerank p99 ms"],
        rows,
    )
    ours = out["hybrid + LTR (ours)"]
    gbdt_ndcg = out["hybrid + sklearn GBDT"]["heldout_colour"]["ndcg@10"]
    print(
        f"\nLTR vs no rerank: ndcg@10 x{ours['heldout_colour']['ndcg@10'] / base:.3f}; "
        f"LTR vs sklearn GBDT: x{ours['heldout_colour']['ndcg@10'] / gbdt_ndcg:.3f}; "
        f"p99 {ours['rerank_latency']['p99_ms']:.2f} ms vs budget {BUDGET_P99_MS} ms "
        f"({'within' if ours['rerank_latency']['p99_ms'] <= BUDGET_P99_MS else 'OVER'} budget)"
    )
    weights = dict(zip(ex.names, ltr.model.weights.round(4).tolist(), strict=True))
    print("LTR weights (standardised features):", weights)
    write_json(
        "rerank",
        {
            "systems": out,
            "budget_p99_ms": BUDGET_P99_MS,
            "depth": DEPTH,
            "train_queries": len(train.judged()),
            "feature_extraction_s": feat_s,
            "fit_s": {"ltr": fit_ltr_s, "sklearn_gbdt": fit_gb_s},
            "ltr_weights": weights,
            "data": "attribute-derived judged queries over the real H&M catalog (not shopper logs)",
        },
    )


if __name__ == "__main__":
    main()
