"""The shipped LTR reranker against LambdaMART on the same features, on real Home Depot queries (issue 9).

Metarank and most search stacks rank with gradient-boosted trees (LambdaMART: Burges, 2010, "From
RankNet to LambdaRank to LambdaMART: An Overview"); Shelfwise's ``PairwiseRanker`` is a linear RankNet
(Burges et al., 2005). Both are trained here on the same thing: the default hybrid's top 50 for each
judged training query (e5-onnx on every product, as ``bench_search_learned.py``), the same generic
features (``rank.features``: word / character BM25, cosine, first-stage score and rank, title term
coverage, word-pair and trigram match), the same graded labels, and the same query folds
(``bench_search_learned.split_folds``, 3 folds, seed 0). Each fold trains on the other folds and
reports NDCG@10 on its own held-out queries, divided by plain bm25s's NDCG@10 on those queries in
the same run. LightGBM's ``LGBMRanker`` (objective ``lambdarank``) runs at three fixed settings
(leaves:trees:learning rate), stated in ``--lgbm``; nothing is tuned on the held-out queries.
Reranking cost: seconds to score one query's 50 candidates (features excluded, they are shared),
p50/p99 over the held-out queries of fold 0, one thread.

Run: python bench/bench_ltr_peers.py [--sets hd1k,hd] [--lgbm 7:200:0.05,15:100:0.05,31:300:0.03]
[--z-clip inf] (the features' clip, ``LTRConfig.z_clip``: session 15's A/B)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_learned import split_folds
from bench_search_real import build_peers, load_set
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import evaluate_search
from shelfwise.eval.metrics import ndcg_at_k
from shelfwise.rank import FeatureExtractor, LTRConfig, PairwiseRanker, training_groups
from shelfwise.retrieve import HybridSearcher

from common import CACHE, percentiles, print_table, write_json

Scorer = Any  # .score(x) for ours, .predict(x) for LightGBM: wrapped by _score


@dataclass(frozen=True)
class Lgbm:
    leaves: int
    trees: int
    rate: float

    @classmethod
    def parse(cls, spec: str) -> Lgbm:
        leaves, trees, rate = spec.split(":")
        return cls(int(leaves), int(trees), float(rate))

    @property
    def name(self) -> str:
        return f"LambdaMART {self.leaves} leaves x {self.trees} trees, lr {self.rate}"

    def fit(self, groups: list[npt.NDArray[np.float32]], labels: list[npt.NDArray[np.float32]], seed: int) -> Any:
        import lightgbm as lgb

        model = lgb.LGBMRanker(
            objective="lambdarank",
            n_estimators=self.trees,
            num_leaves=self.leaves,
            learning_rate=self.rate,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=seed,
            n_jobs=1,
            verbose=-1,
        )
        model.fit(np.concatenate(groups), np.concatenate(labels).astype(int), group=[len(g) for g in groups])
        return model


def _score(model: Scorer, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return np.asarray(model.score(x) if isinstance(model, PairwiseRanker) else model.predict(x), dtype=np.float64)


def run_set(name: str, lgbms: list[Lgbm], folds_k: int, seed: int, z_clip: float) -> dict[str, Any]:
    catalog, judg = load_set(name)
    searcher = HybridSearcher.build(catalog, load_encoder("e5-onnx", CACHE), progress=True, encoder_spec="e5-onnx")
    peer = evaluate_search(build_peers(["bm25s"], catalog)["bm25s"], judg, k=10)
    peer_q = dict(zip(judg.judged(), peer.per_query["ndcg@10"], strict=True))
    cfg = LTRConfig(z_clip=z_clip)
    extractor = FeatureExtractor(catalog, searcher.lexical.tokenizer, None, cfg.feature_names)
    queries = {q: judg.queries[q] for q in judg.judged()}
    t0 = time.perf_counter()
    groups, labels = training_groups(searcher, extractor, queries, judg.relevance, cfg.depth)
    if len(groups) != len(queries):
        raise RuntimeError(f"{name}: {len(queries) - len(groups)} queries returned fewer than 2 candidates")
    heads = [searcher.search(queries[q], cfg.depth).ids for q in queries]
    print(f"{name}: features for {len(groups)} queries in {time.perf_counter() - t0:.0f} s", flush=True)
    ids = catalog.ids
    qlist = list(queries)

    def ndcg(i: int, order: npt.NDArray[np.int64]) -> float:
        return ndcg_at_k([ids[r] for r in order.tolist()], judg.relevance[qlist[i]], 10)

    rows: dict[str, list[float]] = {"zero-shot hybrid": [], "LTR (ours, linear RankNet)": []}
    rows.update({m.name: [] for m in lgbms})
    latency: dict[str, dict[str, float]] = {}
    fit_s: dict[str, list[float]] = {k: [] for k in rows if k != "zero-shot hybrid"}
    for f, test_ids in enumerate(split_folds(judg, folds_k, seed)):
        test = set(test_ids)
        tr = [i for i, q in enumerate(qlist) if q not in test]
        te = [i for i, q in enumerate(qlist) if q in test]
        base = float(np.mean([peer_q[qlist[i]] for i in te]))
        models: dict[str, Scorer] = {}
        t0 = time.perf_counter()
        models["LTR (ours, linear RankNet)"] = PairwiseRanker(cfg, extractor.names).fit(
            [groups[i] for i in tr], [labels[i] for i in tr]
        )
        fit_s["LTR (ours, linear RankNet)"].append(time.perf_counter() - t0)
        for m in lgbms:
            t0 = time.perf_counter()
            models[m.name] = m.fit([groups[i] for i in tr], [labels[i] for i in tr], seed)
            fit_s[m.name].append(time.perf_counter() - t0)
        rows["zero-shot hybrid"].append(float(np.mean([ndcg(i, heads[i]) for i in te])) / base)
        for key, model in models.items():
            got = [ndcg(i, heads[i][np.argsort(-_score(model, groups[i]), kind="stable")]) for i in te]
            rows[key].append(float(np.mean(got)) / base)
            if f == 0:
                times = []
                for i in te:
                    t0 = time.perf_counter()
                    _score(model, groups[i])
                    times.append(time.perf_counter() - t0)
                latency[key] = percentiles(times)
        print(f"{name} fold {f}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in rows.items()), flush=True)
    return {
        "products": len(catalog),
        "queries": len(queries),
        "peer_ndcg@10": peer.ndcg_at_10,
        "ndcg_x_bm25s_per_fold": rows,
        "mean": {k: float(np.mean(v)) for k, v in rows.items()},
        "std": {k: float(np.std(v)) for k, v in rows.items()},
        "fit_s_mean": {k: float(np.mean(v)) for k, v in fit_s.items()},
        "score_latency_s_fold0": latency,
        "load_1m_end": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd1k,hd")
    ap.add_argument("--lgbm", default="7:200:0.05,15:100:0.05,31:300:0.03")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="ltr_peers")
    ap.add_argument("--z-clip", type=float, default=LTRConfig().z_clip, help="LTRConfig.z_clip (inf: no clip)")
    args = ap.parse_args()
    lgbms = [Lgbm.parse(s) for s in args.lgbm.split(",")]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out: dict[str, Any] = {"uptime_start": up, "lgbm": args.lgbm, "folds": args.folds, "z_clip": args.z_clip}
    out["sets"] = {}
    for name in args.sets.split(","):
        res = run_set(name, lgbms, args.folds, args.seed, args.z_clip)
        out["sets"][name] = res
        print_table(
            f"{name}: NDCG@10 / bm25s over {args.folds} query folds"
            f" ({res['queries']} queries, {res['products']:,} products)",
            ["reranker", "mean", "std", "fit s", "score p50 ms", "score p99 ms"],
            [
                [
                    k,
                    f"{res['mean'][k]:.3f}",
                    f"{res['std'][k]:.3f}",
                    f"{res['fit_s_mean'].get(k, 0.0):.1f}",
                    f"{res['score_latency_s_fold0'].get(k, {}).get('p50_ms', 0.0):.3f}",
                    f"{res['score_latency_s_fold0'].get(k, {}).get('p99_ms', 0.0):.3f}",
                ]
                for k in res["mean"]
            ],
        )
    out["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_json(args.out, out)


if __name__ == "__main__":
    main()
