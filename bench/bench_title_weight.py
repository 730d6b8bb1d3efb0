"""``LexicalConfig.title_weight`` (``shelfwise index --title-weight N``) on real shopper queries.

Home Depot dev_1k (1,000 real queries, 10,000 products; ``../shared``, evaluation only) has titles
only, so a title weight cannot show what it is for (titles outranking descriptions); this checks that
it costs nothing where the title is all there is: the lexical mode and the default hybrid with the
title counted 1, 2 and 3 times, plain bm25s in the same run. No real judged set here has descriptions.

Run: python bench/bench_title_weight.py [--weights 1,2,3] -> bench/results/title_weight.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_real import build_peers, load_set
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import evaluate_search
from shelfwise.eval.tune import searcher_fn
from shelfwise.index import LexicalConfig
from shelfwise.retrieve import HybridSearcher

from common import CACHE, print_table, write_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="1,2,3")
    args = ap.parse_args()
    catalog, judg = load_set("hd1k")
    peer = evaluate_search(build_peers(["bm25s"], catalog)["bm25s"], judg, k=10)
    encoder = load_encoder("e5-onnx", CACHE)
    rows: dict[str, Any] = {"peer bm25s": {"ndcg@10": peer.ndcg_at_10, "recall@100": peer.recall_at_100}}
    for w in (int(x) for x in args.weights.split(",")):
        s = HybridSearcher.build(catalog, encoder, lexical=LexicalConfig(title_weight=w), progress=True)
        s.dense.prime([judg.queries[q] for q in judg.judged()])
        for mode in ("bm25", "hybrid"):
            m = evaluate_search(searcher_fn(s, mode=mode), judg, k=10)
            rows[f"{mode}, title x{w}"] = {
                "ndcg@10": m.ndcg_at_10,
                "recall@100": m.recall_at_100,
                "x_bm25s": m.ndcg_at_10 / peer.ndcg_at_10,
                "load_1m": os.getloadavg()[0],
            }
    print_table(
        "Home Depot dev_1k (titles only): title weight",
        ["system", "NDCG@10", "R@100", "x bm25s"],
        [[k, f"{v['ndcg@10']:.4f}", f"{v['recall@100']:.4f}", f"{v.get('x_bm25s', 1.0):.3f}"] for k, v in rows.items()],
    )
    write_json("title_weight", {"set": "hd1k", "rows": rows})


if __name__ == "__main__":
    main()
