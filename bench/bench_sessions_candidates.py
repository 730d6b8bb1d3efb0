"""New-items candidates on one session set (issue #11, Diginetica): each candidate scorer is added
to the hybrid as one more component, decided on the store's own validation slice only.

For the slice (the latest 10% of training sessions, components fitted on the rows before it) and,
for the record only, the test split (components fitted on all training rows): NDCG@20 of the
new-item prefixes on the tuning pool (tie-aware, as fit-time tuning counts it), with the default
new-items weights, the candidate alone, the defaults plus the candidate at a few weights (and
whether that beats the defaults by z = 2 paired standard errors), and weights tuned with it by
the fit-time coordinate ascent. Also the share of new-item truths with no training event (no
behaviour model can rank those; the Diginetica sample has item ids only, no text or categories).

Candidates: recency-weighted popularity (half-life 0.5 / 2 / 7 days) and V-SKNN with IDF item
weights (Ludewig & Jannach, 2018, "Evaluation of session-based recommendation algorithms";
session-rec's vsknn idf_weighting: a neighbour session's similarity is the sum over shared items
of position weight x log(sessions / sessions with the item); linear position decay; top 100
neighbours), by dot product or cosine, and without IDF.

Run: python bench/bench_sessions_candidates.py [--set digi]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sessions_data import LOADERS
from shelfwise.recommend import ALSConfig, Context, HybridConfig, HybridRecommender, Interactions
from shelfwise.recommend.autotune import Case, TuneConfig, prefix_cases, reliably_better, validation_folds
from shelfwise.recommend.base import BaseRecommender, ItemScorer
from shelfwise.recommend.evaluate import tune_weights
from shelfwise.recommend.popularity import PopularityConfig, PopularityRecommender
from shelfwise.recommend.tuning_pool import _caches
from shelfwise.results import FloatArray

from common import write_json


class IdfSessionKNN(BaseRecommender):
    """V-SKNN with IDF-weighted shared items (see the module docstring); batch scoring only."""

    name = "idf_sknn"

    def __init__(self, neighbours: int = 100, cosine: bool = False, idf: bool = True, window: int = 20) -> None:
        super().__init__()
        self.neighbours, self.cosine, self.use_idf, self.window = neighbours, cosine, idf, window
        self.s = sp.csr_matrix((0, 0), dtype=np.float32)
        self.idf: FloatArray = np.zeros(0, dtype=np.float32)
        self.lengths: FloatArray = np.zeros(0, dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        self.s = data.session_item().tocsr()
        df = np.asarray(self.s.sum(axis=0)).ravel()
        idf = np.log(self.s.shape[0] / np.maximum(df, 1.0))
        self.idf = (idf if self.use_idf else np.ones_like(idf)).astype(np.float32)
        self.lengths = np.asarray(self.s.sum(axis=1)).ravel().astype(np.float32)

    def _queries(self, contexts: Sequence[Context]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, c in enumerate(contexts):
            seq = np.asarray(c.ordered, dtype=np.int64)[-self.window :]
            if not len(seq):
                continue
            pos = np.arange(1, len(seq) + 1, dtype=np.float32) / len(seq)  # linear decay, latest = 1
            items, last = np.unique(seq[::-1], return_index=True)
            rows.append(np.full(len(items), r))
            cols.append(items)
            vals.append(pos[::-1][last] * self.idf[items])
        shape = (len(contexts), self.s.shape[1])
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        q = self._queries(contexts)
        sim = np.asarray((q @ self.s.T).toarray(), dtype=np.float32)
        if self.cosine:
            qn = np.sqrt(np.asarray(q.multiply(q).sum(axis=1)).ravel())[:, None]
            sim = sim / np.maximum(qn * np.sqrt(self.lengths)[None, :], 1e-9)
        k = min(self.neighbours, sim.shape[1])
        if 0 < k < sim.shape[1]:
            kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1 : k]
            sim = np.where(sim >= kth, sim, 0.0)
        out = np.asarray((sp.csr_matrix(sim.astype(np.float32)) @ self.s).toarray(), dtype=np.float32)
        out[out <= 0] = -np.inf
        return out

    def score(self, ctx: Context) -> FloatArray:
        return self.score_many([ctx])[0]


CANDIDATES: dict[str, Callable[[], ItemScorer]] = {
    **{
        f"popularity, half-life {hl:g} d": (lambda hl=hl: PopularityRecommender(PopularityConfig(half_life_days=hl)))
        for hl in (0.5, 2.0, 7.0)
    },
    "V-SKNN idf, dot": lambda: IdfSessionKNN(),
    "V-SKNN idf, cosine": lambda: IdfSessionKNN(cosine=True),
    "V-SKNN no idf, dot": lambda: IdfSessionKNN(idf=False),
}


Scorer = Callable[[dict[str, float], float], FloatArray]


def pool_scorer(data: Interactions, cases: Sequence[Case]) -> tuple[Scorer, dict[str, float], float]:
    """Per-prefix new-items NDCG@20 of given weights on the pool of ``cases`` (components fitted on
    ``data``, every candidate among them), and the default new-items weights and penalty."""
    h = HybridRecommender(np.zeros((data.n_items, 8), dtype=np.float32), HybridConfig(als=ALSConfig(num_threads=2)))
    h._fit_components(data)
    h._catalog = data.catalog
    for name, make in CANDIDATES.items():
        comp = make()
        comp.fit(data)
        h.components[name] = comp
    w0, p0 = h.config.fusion(True)
    names = list(dict.fromkeys([n for n in w0 if n in h.components] + list(CANDIDATES)))
    _, new_pool = _caches(h, cases, names, TuneConfig().candidates, unseen=True)
    assert new_pool is not None

    def f(w: dict[str, float], p: float) -> FloatArray:
        vec = np.array([w.get(n, 0.0) for n in names], dtype=np.float32)
        return new_pool.ndcg(vec, p, 20, exclude_seen=True)

    return f, w0, p0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="digi")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    catalog, train_log, test_log, info = LOADERS[args.set]()
    train, test = Interactions.from_log(train_log, catalog), Interactions.from_log(test_log, catalog)
    tc = TuneConfig()
    val_rows, val_cases = validation_folds(train, tc)[0]
    splits = {"validation": (val_rows, val_cases), "test": (train, prefix_cases(train, test))}
    out: dict[str, Any] = {"set": args.set, "info": info, "k": 20}
    tuned: dict[str, tuple[dict[str, float], float]] = {}
    with threadpool_limits(1, "blas"):
        for split, (rows, cases) in splits.items():
            counts = np.bincount(rows.item, minlength=rows.n_items)
            new = [c for c in cases if c.new]
            f, w0, p0 = pool_scorer(rows, cases)
            base = f(w0, p0)
            res: dict[str, Any] = {
                "new_prefixes": len(new),
                "truth_without_training_event": float(np.mean([counts[c.truth] == 0 for c in new])),
                "defaults": float(base.mean()),
            }
            for name in CANDIDATES:
                row: dict[str, Any] = {"alone": float(f({name: 1.0}, 0.0).mean())}
                for w in (0.1, 0.25, 0.5, 1.0):
                    got = f({**w0, name: w}, p0)
                    row[f"defaults + {w:g}"] = float(got.mean())
                    row[f"defaults + {w:g} reliably better"] = reliably_better(got, base, tc.z)
                if split == "validation":

                    def mean(w: dict[str, float], p: float, f: Scorer = f) -> float:
                        return float(f(w, p).mean())

                    tw, tp, _ = tune_weights(mean, {**w0, name: 0.0}, grid=tc.grid, penalties=tc.penalties, rounds=3)
                    tuned[name] = (dict(tw), tp)
                    row["tuned reliably better"] = reliably_better(f(*tuned[name]), base, tc.z)
                row["tuned with it"] = float(f(*tuned[name]).mean())
                res[name] = row
            out[split] = res
            print(split, {k: v for k, v in res.items() if not isinstance(v, dict)})
            for name in CANDIDATES:
                r = res[name]
                got = (r["alone"], r["defaults + 0.5"], r["tuned with it"])
                print(f"  {name:28s} alone {got[0]:.4f}  +0.5 {got[1]:.4f}  tuned {got[2]:.4f}")
    out["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out["cpus"] = os.cpu_count()
    write_json(f"sessions_candidates_{args.set}", out)


if __name__ == "__main__":
    main()
