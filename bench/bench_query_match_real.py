"""The typed-query matcher of query-seeded recommendations on real shopper queries (issue 11).

``/recommend/session?q=...`` (no session items) lists :func:`shelfwise.recommend.query.match_query`'s
matches first: the ``pool`` items nearest the query by e5 cosine, re-ranked by cosine plus the
share of query words in the item's text. The demo's check (``bench_session_query.py``) uses
made-up colour + type queries; this one ranks the real Home Depot dev_1k catalog for its 1,000
real queries (graded judgments; evaluation-only data read from ../shared) with the matcher alone,
next to plain bm25s and the cosine order alone (the matcher's pool without the word share) in
the same run.

Run: python bench/bench_query_match_real.py -> bench/results/query_match_real.json
"""

from __future__ import annotations

import os

import numpy as np

from bench_search_real import CACHE, load_set, ratio_ci
from shelfwise.encode import load_encoder
from shelfwise.encode.base import query_encoder
from shelfwise.eval.judgments import evaluate_search
from shelfwise.eval.peers import build_peers
from shelfwise.recommend.query import ItemWords, match_query
from shelfwise.recommend.vectors import ItemVectors

from common import print_table, write_json

POOL, SIZE = 200, 50  # the content recommender's defaults (query_pool, query_matches)


def main() -> None:
    load0 = os.getloadavg()
    catalog, judgments = load_set("hd1k")
    encoder = load_encoder("e5-onnx", CACHE)
    vectors = ItemVectors(np.asarray(encoder.encode(catalog.texts()), dtype=np.float32))
    queries = {q: judgments.queries[q] for q in judgments.judged()}
    qvecs = dict(zip(queries.values(), query_encoder(encoder).encode(list(queries.values())), strict=True))
    words = ItemWords(catalog)
    ids = catalog.ids

    def matcher(query: str, n: int) -> list[str]:
        m = match_query(vectors, words, qvecs[query], query, size=SIZE, pool=POOL, exact=True)
        return [ids[int(r)] for r in m.rows[:n]]

    def cosine(query: str, n: int) -> list[str]:
        rows, _ = vectors.nearest(qvecs[query], min(n, SIZE), exact=True)
        return [ids[int(r)] for r in rows]

    peer = evaluate_search(build_peers(["bm25s"], catalog)["bm25s"], judgments)
    res = {"peer bm25s": peer, "cosine order (pool head)": evaluate_search(cosine, judgments)}
    res["matcher (cosine + word share)"] = evaluate_search(matcher, judgments)
    rows, out = [], {}
    for name, m in res.items():
        lo, hi = ratio_ci(m, peer)
        rows.append([name, m.ndcg_at_10, m.mrr, f"{m.ndcg_at_10 / peer.ndcg_at_10:.3f} [{lo:.3f}, {hi:.3f}]"])
        out[name] = {**m.summary(), "ratio_vs_bm25s": m.ndcg_at_10 / peer.ndcg_at_10, "ratio_ci95": [lo, hi]}
    print_table(
        f"HD dev_1k: {len(queries)} real queries, {len(catalog)} products; matcher top {SIZE} of {POOL}",
        ["system", "NDCG@10", "MRR", "x bm25s [95% CI]"],
        rows,
    )
    write_json(
        "query_match_real",
        {
            "what": __doc__.split("\n\n")[0] if __doc__ else "",
            "pool": POOL,
            "size": SIZE,
            "metrics": out,
            "uptime_load_start": list(load0),
            "uptime_load_end": list(os.getloadavg()),
        },
    )


if __name__ == "__main__":
    main()
