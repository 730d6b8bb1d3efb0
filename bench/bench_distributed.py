"""Embedded vs Dask (2 worker processes on a loopback LocalCluster) for the three batch jobs of
``shelfwise.distributed``, on real data read from ../shared/data (never copied here):

* embedding: Home Depot product titles (54,667; evaluation-only licence) with ``static-minilm``
  (all of them) and ``e5-onnx``, the default encoder (the first ``--e5-items``: 2 cores);
* fine-tuning pair preparation: Complete Journey purchases (1.47M rows, SIMULATED from real
  patterns per its README) over its 92,331 products: ``mine_pairs`` vs ``mine_pairs_distributed``;
* search evaluation: the Home Depot dev queries (5,888 real shopper queries, graded judgments)
  on a saved index of all 54,667 titles (``static-minilm`` vectors + lexical).

Every row checks that the distributed result equals the embedded one (vectors allclose, pairs and
metrics identical). The timings are from ONE machine with 2 cores shared with other work (load
average noted before and after): two workers cannot beat one process that already uses both cores
(ONNX Runtime and numpy are multi-threaded), so the speed columns measure the overhead of going
distributed, not the gain a cluster of separate machines would give; see the README.

    python bench/bench_distributed.py [--e5-items 6400] [--cj-rows 1500000] [--queries 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from shelfwise.catalog import Catalog, Product, ProductFields, load_catalog
from shelfwise.distributed import (
    encode_distributed,
    evaluate_search_distributed,
    local_cluster,
    mine_pairs_distributed,
)
from shelfwise.distributed.evaluate import rank_queries
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import evaluate_search, load_judgments
from shelfwise.events import EventLog, EventType
from shelfwise.finetune.pipeline import mine_pairs
from shelfwise.retrieve import HybridSearcher

from common import SHARED, print_table, write_json

HD = SHARED / "homedepot"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def home_depot() -> Catalog:
    return load_catalog(HD / "products.parquet", ProductFields.from_json(HD / "catalog_fields.json")).catalog


def bench_embedding(client: Any, titles: list[str], spec: str) -> dict[str, Any]:
    enc = load_encoder(spec)
    enc.encode(titles[:64], batch_size=64)  # warm: model loaded, first-run allocations
    encode_distributed(client, spec, titles[:256], batch_size=64)  # warm: each worker loads the model
    want, t_local = timed(lambda: enc.encode(titles, batch_size=64))
    got, t_dask = timed(lambda: encode_distributed(client, spec, titles, batch_size=64))
    diff = float(np.abs(got - want).max())
    return {
        "job": f"embed {spec}", "items": len(titles), "embedded_s": t_local, "dask_s": t_dask,
        "embedded_per_s": len(titles) / t_local, "dask_per_s": len(titles) / t_dask,
        "same": bool(np.allclose(got, want, rtol=0, atol=1e-5)), "max_abs_diff": diff,
    }  # fmt: skip


def cj_data(max_rows: int) -> tuple[Catalog, EventLog]:
    """Complete Journey products as a catalog and its purchases as a columnar log (no Event objects)."""
    p = pq.read_table(SHARED / "cj_products.parquet").to_pydict()
    cols = zip(p["product_id"], p["department"], p["brand"], p["product_category"], p["product_type"], strict=True)
    products = [
        Product(id=str(pid), title=" ".join(str(v) for v in (b, c, t) if v), category=(str(d or ""),))
        for pid, d, b, c, t in cols
    ]
    catalog = Catalog(products)
    wanted = ["household_id", "basket_id", "product_id", "transaction_timestamp"]
    tx = pq.read_table(SHARED / "cj_transactions.parquet", columns=wanted).slice(0, max_rows)
    ts = tx.column("transaction_timestamp").cast("int64").to_numpy().astype(np.float64) / 1e6
    order = np.argsort(ts, kind="stable")
    row_of = {pid: r for r, pid in enumerate(catalog.ids)}
    item = np.array([row_of.get(str(x), -1) for x in tx.column("product_id").to_pylist()], dtype=np.int64)[order]
    users, user = np.unique(np.asarray(tx.column("household_id").to_pylist(), dtype=str)[order], return_inverse=True)
    _, session = np.unique(np.asarray(tx.column("basket_id").to_pylist(), dtype=str)[order], return_inverse=True)
    log = EventLog(
        user=user.astype(np.int64), item=item, type=np.full(len(item), int(EventType.PURCHASE), dtype=np.int8),
        timestamp=ts[order], session=session.astype(np.int64), queries=("",) * len(item),
        users=tuple(str(u) for u in users),
    )  # fmt: skip
    return catalog, log


def bench_pairs(client: Any, max_rows: int) -> dict[str, Any]:
    (catalog, log), t_load = timed(lambda: cj_data(max_rows))
    print(f"  CJ: {len(catalog)} products, {len(log)} purchases loaded in {t_load:.1f} s")
    kw = {"max_copurchase": 100_000, "seed": 0}
    want, t_local = timed(lambda: mine_pairs(catalog, None, log, **kw))
    got, t_dask = timed(lambda: mine_pairs_distributed(client, catalog, None, log, **kw))
    return {
        "job": "pairs (co-purchase)", "items": len(log), "embedded_s": t_local, "dask_s": t_dask,
        "embedded_per_s": len(log) / t_local, "dask_per_s": len(log) / t_dask,
        "same": got == want, "pairs": len(want.train) + len(want.val) + len(getattr(want, "holdout", ())),
    }  # fmt: skip


def bench_eval(client: Any, catalog: Catalog, n_queries: int) -> dict[str, Any]:
    judgments = load_judgments(HD / "queries_dev.parquet", HD / "judgments_dev.parquet")
    if n_queries:
        judgments = judgments.subset(sorted(judgments.queries)[:n_queries])
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        searcher, t_build = timed(lambda: HybridSearcher.build(catalog, load_encoder("static-minilm"),
                                                               encoder_spec="static-minilm"))  # fmt: skip
        searcher.save(index)
        catalog.save(index / "catalog.parquet")
        print(f"  index of {len(catalog)} titles built in {t_build:.1f} s")
        texts = list(dict.fromkeys(judgments.queries[q] for q in judgments.judged()))

        def local() -> Any:
            s = HybridSearcher.load(index, catalog, load_encoder("static-minilm"))
            ranked = dict(zip(texts, rank_queries(s, texts, 100), strict=True))
            return evaluate_search(lambda q, n: ranked[q][:n], judgments)

        want, t_local = timed(local)
        got, t_dask = timed(lambda: evaluate_search_distributed(client, index, judgments))
    return {
        "job": "search eval (hybrid)", "items": want.n_queries, "embedded_s": t_local, "dask_s": t_dask,
        "embedded_per_s": want.n_queries / t_local, "dask_per_s": want.n_queries / t_dask,
        "same": got.per_query == want.per_query, "ndcg@10": want.ndcg_at_10, "recall@100": want.recall_at_100,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--e5-items", type=int, default=6400, help="titles embedded with e5-onnx (0: skip)")
    ap.add_argument("--cj-rows", type=int, default=1_500_000, help="Complete Journey transactions read")
    ap.add_argument("--queries", type=int, default=0, help="Home Depot dev queries evaluated (0: all)")
    args = ap.parse_args()
    before = uptime()
    print(f"uptime before: {before}")
    catalog = home_depot()
    titles = catalog.texts()
    rows: list[dict[str, Any]] = []
    with local_cluster(workers=args.workers) as client:
        rows.append(bench_embedding(client, titles, "static-minilm"))
        if args.e5_items:
            rows.append(bench_embedding(client, titles[: args.e5_items], "e5-onnx"))
        rows.append(bench_pairs(client, args.cj_rows))
        rows.append(bench_eval(client, catalog, args.queries))
    after = uptime()
    print(f"uptime after: {after}")
    print_table(
        f"Embedded (1 process) vs Dask ({args.workers} workers, loopback) on {os.cpu_count()} shared cores",
        ["job", "items", "embedded s", "dask s", "dask/embedded", "same result"],
        [[r["job"], r["items"], r["embedded_s"], r["dask_s"], r["dask_s"] / r["embedded_s"], r["same"]] for r in rows],
    )
    write_json("distributed", {
        "workers": args.workers, "cpu_count": os.cpu_count(), "python": sys.version.split()[0],
        "uptime_before": before, "uptime_after": after, "rows": rows,
        "data": {"embedding": "Home Depot product titles (real)", "pairs": "Complete Journey purchases "
                 "(SIMULATED from real patterns)", "eval": "Home Depot dev queries + graded judgments (real)"},
    })  # fmt: skip


if __name__ == "__main__":
    main()
