"""The fusion's dense weight over student-embedded products, on the product path (issue 9).

Each real judged set (Home Depot full dev half and dev_1k, Taobao; ``../shared``, evaluation only) is
indexed the way a store would index it, ``shelfwise index --embed student`` into a temporary folder
(the default from 50,000 products until session 16, now above 4M tokens to embed; forced here), then the
saved shelf is scored with ``SearchConfig.dense_weight`` in ``--weights`` (0 = the lexical mode
alone), personalisation off, next to plain bm25s (character BM25 for Chinese) in the same run. Reports
NDCG@10, Recall@100 and the ratio to the shipped 0.4 per set, and the weight whose worst ratio to 0.4
over the sets is highest (the rule ``bench_search_feedback.py`` used): a weight the student's weaker
dense signal might want lower would have to hold on every set.

Run: python bench/bench_student_weight.py [--sets hd,hd1k,zh] [--weights 0,0.1,0.2,0.3,0.4]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_search_real import SETS, build_peers, load_set
from shelfwise.eval.judgments import evaluate_search
from shelfwise.eval.tune import searcher_fn
from shelfwise.shelf import Shelf

from common import SHARED, print_table, write_json


def index_student(name: str, out: Path) -> None:
    folder, prod, _, _ = SETS[name]
    d = SHARED / folder
    cmd = [
        str(Path(sys.executable).parent / "shelfwise"),
        "index",
        "--catalog",
        str(d / f"{prod}.parquet"),
        "--fields",
        str(d / "catalog_fields.json"),
        "--out",
        str(out),
        "--embed",
        "student",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode or not (out / "shelf.json").exists():
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def run_set(name: str, weights: list[float], tmp: Path) -> dict[str, Any]:
    catalog, judg = load_set(name)
    index_student(name, tmp / name)
    s = Shelf.load(tmp / name).searcher
    queries = [judg.queries[q] for q in judg.judged()]
    s.dense.prime(queries)
    peer_name = "bm25s-char" if name == "zh" else "bm25s"
    peer = evaluate_search(build_peers([peer_name], catalog)[peer_name], judg, k=10, recall_k=100)
    base = dataclasses.replace(s.config, personal_weight=0.0)
    rows: dict[str, Any] = {"peer": {"name": peer_name, "ndcg@10": peer.ndcg_at_10, "recall@100": peer.recall_at_100}}
    for w in weights:
        s.config = dataclasses.replace(base, dense_weight=w) if w > 0 else dataclasses.replace(base, mode="bm25")
        m = evaluate_search(searcher_fn(s), judg, k=10, recall_k=100)
        rows[str(w)] = {"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "load_1m": os.getloadavg()[0]}
        print(f"{name} dense weight {w}: NDCG@10 {m.ndcg_at_10:.4f} R@100 {m.recall_at_100:.4f}", flush=True)
    return {"products": len(catalog), "queries": len(queries), "encoder": s.dense.encoder.name, "weights": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd,hd1k,zh")
    ap.add_argument("--weights", default="0,0.1,0.2,0.3,0.4")
    ap.add_argument("--out", default="student_weight")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    out: dict[str, Any] = {"load_start": os.getloadavg(), "sets": {}}
    with tempfile.TemporaryDirectory(prefix="shelfwise-student-") as tmp:
        for name in args.sets.split(","):
            out["sets"][name] = run_set(name, weights, Path(tmp))
    shipped = "0.4"
    table = []
    worst: dict[str, float] = {}
    for name, r in out["sets"].items():
        for w, m in r["weights"].items():
            if w == "peer":
                continue
            ratio = m["ndcg@10"] / r["weights"][shipped]["ndcg@10"] if shipped in r["weights"] else float("nan")
            worst[w] = min(worst.get(w, float("inf")), ratio)
            peer = r["weights"]["peer"]["ndcg@10"]
            table.append([name, w, m["ndcg@10"], m["ndcg@10"] / peer, m["recall@100"], ratio])
    print_table(
        "student-embedded shelves: dense weight (0 = lexical alone), NDCG@10 vs the peer and vs the shipped 0.4",
        ["set", "dense weight", "NDCG@10", "x peer", "R@100", "x weight 0.4"],
        table,
    )
    out["worst_ratio_to_shipped"] = worst
    out["best_by_worst_ratio"] = max(worst, key=lambda w: worst[w])
    print(f"worst ratio to 0.4 over the sets: {worst}; highest: {out['best_by_worst_ratio']}")
    out["load_end"] = os.getloadavg()
    write_json(args.out, out)


if __name__ == "__main__":
    main()
