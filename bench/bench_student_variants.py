"""What else the student could be, on real queries: dense-only NDCG@10 of student variants (issue 9).

Session 11 found the student-embedded hybrid below its own lexical half on English
(``bench_student_weight.py``): the student's dense list is too weak (full Home Depot dense NDCG@10 0.239
against e5 on every product 0.318). This bench records the levers tried on the student itself, all on
the dense list alone (queries through the teacher, exact inner-product search over every product), on
the sets the default path sees: Home Depot dev_1k (10,000 titles, forced student) and the full dev
half (54,667 titles, student by default). Rows:

* ``teacher``: e5-onnx on every product (the ceiling);
* ``student``: the shipped fit (:func:`shelfwise.encode.student.fit_student`, defaults);
* ``share S``: the teacher embeds a share S of the catalog instead of 25% (slower: the teacher is the cost);
* ``sif X ridge Y``: the fit's two settings on a grid around the defaults (1e-3, 0.1);
* ``+ token bigrams xW``: hashed pairs of adjacent tokens (2^18 buckets) as extra table rows, prior
  zero, weight W x their SIF weight (tokenlearn / model2vec have unigrams only);
* ``mixed ...``: the teacher's own vectors kept for the sampled products, the student's for the rest:
  raw, with each query's student scores mapped onto the teacher's by a least-squares line fitted on
  the sampled products (``per-query line``), or averaged with the student's on the sample.

Teacher vectors go through the embedding cache (``bench/common.CACHE``). Sets: ../shared/data, evaluation
only, never copied.

Run: python bench/bench_student_variants.py [--sets hd1k,hd] -> bench/results/student_variants.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix, diags, hstack

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_real import load_set
from shelfwise.encode import load_encoder
from shelfwise.encode.base import l2_normalise, query_encoder
from shelfwise.encode.student import StudentConfig, _onnx_teacher, _ridge_cg, _tokens, fit_student
from shelfwise.eval.metrics import ndcg_at_k

from common import CACHE, print_table, write_json

Matrix = npt.NDArray[np.float32]
BUCKETS = 1 << 18


def dense_ndcg(queries: Matrix, products: Matrix, ids: list[str], rel: list[dict[str, float]]) -> float:
    """Mean NDCG@10 of exact inner-product search, queries in blocks (the full set's score matrix is 1.3 GB)."""
    return float(np.mean(dense_ndcg_rows(lambda q: q @ products.T, queries, ids, rel)))


def dense_ndcg_rows(
    scores: Callable[[Matrix], npt.NDArray[np.float32]], queries: Matrix, ids: list[str], rel: list[dict[str, float]]
) -> list[float]:
    out: list[float] = []
    for start in range(0, len(queries), 512):
        s = scores(queries[start : start + 512])
        top = np.argpartition(-s, 10, axis=1)[:, :10]
        for i in range(len(s)):
            order = top[i][np.argsort(-s[i, top[i]], kind="stable")]
            out.append(ndcg_at_k([ids[j] for j in order.tolist()], rel[start + i], 10))
    return out


def sample_rows(n: int, cfg: StudentConfig) -> npt.NDArray[np.int64]:
    """The rows ``fit_student`` sends through the teacher (its first draw from ``default_rng(seed)``)."""
    rng = np.random.default_rng(cfg.seed)
    return np.sort(rng.choice(n, size=cfg.sample_size(n), replace=False))


def bigram_vectors(onnx: Any, texts: list[str], teacher: Matrix, weight: float, cfg: StudentConfig) -> Matrix:
    """The student with hashed adjacent-token pairs as extra features (prior 0), fitted as the shipped one."""
    flat, lengths = _tokens(onnx, texts)
    n = len(texts)
    used = np.unique(flat)
    col = np.full(max(onnx.vocab_size(), int(used.max()) + 1), -1, dtype=np.int64)
    col[used] = np.arange(len(used))
    counts = np.bincount(col[flat], minlength=len(used))
    w = cfg.sif / (cfg.sif + (counts + 1.0) / (counts.sum() + len(used)))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    uni = csr_matrix((w[col[flat]], col[flat], indptr), shape=(n, len(used)))
    text_of = np.repeat(np.arange(n), lengths)
    pos = np.arange(len(flat) - 1)
    pos = pos[text_of[pos] == text_of[pos + 1]]
    h = (flat[pos] * 1_000_003 + flat[pos + 1]) % BUCKETS
    bc = np.bincount(h, minlength=BUCKETS)
    bw = weight * cfg.sif / (cfg.sif + (bc[h] + 1.0) / (bc.sum() + BUCKETS))
    big = csr_matrix((bw, (text_of[pos], h)), shape=(n, BUCKETS))
    a = hstack([uni, big]).tocsr()
    sums = np.asarray(a.sum(axis=1)).ravel()
    a = (diags(1.0 / np.where(sums > 0, sums, 1.0)) @ a).tocsr()
    prior = np.vstack([onnx.single_token_vectors(used).astype(np.float64), np.zeros((BUCKETS, teacher.shape[1]))])
    sample = sample_rows(n, cfg)
    table = _ridge_cg(a[sample], teacher[sample].astype(np.float64), prior, cfg.ridge, cfg.iterations)
    return l2_normalise(np.asarray(a @ table).astype(np.float32))


def mixed_rows(
    queries: Matrix, student: Matrix, teacher: Matrix, sample: npt.NDArray[np.int64], ids: list[str], rel: Any
) -> dict[str, float]:
    mask = np.zeros(len(student), dtype=bool)
    mask[sample] = True
    mixed = student.copy()
    mixed[mask] = teacher[mask]

    def line(q: Matrix) -> npt.NDArray[np.float32]:
        s, t = q @ student.T, q @ teacher[mask].T
        x = s[:, mask]
        xc, tc = x - x.mean(axis=1, keepdims=True), t - t.mean(axis=1, keepdims=True)
        a = (xc * tc).sum(axis=1) / np.maximum((xc * xc).sum(axis=1), 1e-12)
        out = s * a[:, None] + (t.mean(axis=1) - a * x.mean(axis=1))[:, None]
        out[:, mask] = t
        return out

    def averaged(q: Matrix) -> npt.NDArray[np.float32]:
        s = q @ student.T
        s[:, mask] = 0.5 * (s[:, mask] + q @ teacher[mask].T)
        return s

    return {
        "mixed raw": dense_ndcg(queries, mixed, ids, rel),
        "mixed per-query line": float(np.mean(dense_ndcg_rows(line, queries, ids, rel))),
        "mixed averaged": float(np.mean(dense_ndcg_rows(averaged, queries, ids, rel))),
    }


def run_set(name: str) -> dict[str, Any]:
    catalog, judg = load_set(name)
    encoder = load_encoder("e5-onnx", CACHE)
    texts = catalog.texts()
    qids = judg.judged()
    rel = [judg.relevance[q] for q in qids]
    queries = query_encoder(encoder).encode([judg.queries[q] for q in qids])
    t0 = time.perf_counter()
    teacher = encoder.encode(texts, progress=True)
    print(f"{name}: teacher vectors in {time.perf_counter() - t0:.0f} s (cache)", flush=True)
    ids = catalog.ids
    rows: dict[str, float] = {"teacher": dense_ndcg(queries, teacher, ids, rel)}
    base = StudentConfig()
    configs = {"student": base}
    configs.update({f"share {s}": StudentConfig(sample=s, max_sample=10**9) for s in (0.4, 0.6)})
    for sif in (1e-4, 1e-3, 1e-2):
        for ridge in (0.01, 0.1, 1.0):
            if (sif, ridge) != (base.sif, base.ridge):
                configs[f"sif {sif:g} ridge {ridge:g}"] = StudentConfig(sif=sif, ridge=ridge)
    student = np.zeros(0, dtype=np.float32)
    for key, cfg in configs.items():
        fit = fit_student(encoder, texts, cfg)
        rows[key] = dense_ndcg(queries, fit.vectors, ids, rel)
        if key == "student":
            student = fit.vectors
        print(f"{name} {key}: {rows[key]:.4f}", flush=True)
    onnx = _onnx_teacher(encoder)
    for weight in (0.5, 1.0):
        rows[f"+ token bigrams x{weight:g}"] = dense_ndcg(
            queries, bigram_vectors(onnx, texts, teacher, weight, base), ids, rel
        )
    rows.update(mixed_rows(queries, student, teacher, sample_rows(len(texts), base), ids, rel))
    return {"products": len(texts), "queries": len(qids), "dense_ndcg@10": rows, "load_1m_end": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd1k,hd")
    ap.add_argument("--out", default="student_variants")
    args = ap.parse_args()
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out: dict[str, Any] = {"uptime_start": up, "sets": {}}
    for name in args.sets.split(","):
        out["sets"][name] = res = run_set(name)
        ref = res["dense_ndcg@10"]["student"]
        print_table(
            f"{name}: dense-only NDCG@10 ({res['queries']} queries, {res['products']:,} products)",
            ["variant", "NDCG@10", "vs shipped student"],
            [[k, f"{v:.4f}", f"{v / ref - 1:+.1%}"] for k, v in res["dense_ndcg@10"].items()],
        )
    out["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    write_json(args.out, out)


if __name__ == "__main__":
    main()
