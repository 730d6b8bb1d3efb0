"""Query-seeded session recommendations on the demo shelf: do the listed items match the query?

For colour + product-type queries on the H&M demo shelf (``runs/demo/index``, built by
``bash scripts/demo.sh --no-serve``), an item matches when its own catalog attributes say so
(``perceived_colour_master_name`` and the category leaf), a judge independent of the item text
and vectors the recommender reads. Per query: precision@10 of ``recommend_session([], query=q)``,
the share of the top 10 said to "match what you searched for" and, of those, the share that
match; then the in-process latency of the recommendation (query vectors encoded beforehand).

One process runs one code version: compare versions by running it alternately with
``PYTHONPATH`` pointing at each version's ``src`` (``--label``); each run appends to
``bench/results/session_query_s10.json`` with the 1-minute load beside the timings.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "session_query_s10.json"
MATCH = "matches what you searched for"
QUERIES = [  # (query, colour, category leaf): colours and types as the demo catalog names them
    ("red dress", "Red", "Dress"),
    ("blue jeans", "Blue", "Trousers"),
    ("black t-shirt", "Black", "T-shirt"),
    ("white shirt", "White", "Shirt"),
    ("grey sweater", "Grey", "Sweater"),
    ("beige coat", "Beige", "Coat"),
    ("green dress", "Green", "Dress"),
    ("blue shorts", "Blue", "Shorts"),
    ("pink top", "Pink", "Top"),
    ("black boots", "Black", "Boots"),
    ("红色连衣裙", "Red", "Dress"),
    ("黑色T恤", "Black", "T-shirt"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shelf", type=Path, default=ROOT / "runs" / "demo" / "index")
    ap.add_argument("--label", default="current")
    ap.add_argument("--passes", type=int, default=8)
    args = ap.parse_args()
    from shelfwise.encode.base import query_encoder
    from shelfwise.recommend.base import Context
    from shelfwise.shelf import Shelf

    shelf = Shelf.load(args.shelf)
    rec = shelf.recommender
    assert rec is not None and rec.encoder is not None
    products = rec.catalog.products
    qvs = query_encoder(rec.encoder).encode([q for q, _, _ in QUERIES])
    typed = "query" in inspect.signature(Context.of).parameters  # versions before it: no text

    def ctx(q: str, v: np.ndarray) -> Context:
        return Context.of([], query_vector=v, query=q) if typed else Context.of([], query_vector=v)

    rows = []
    for (q, colour, leaf), v in zip(QUERIES, qvs, strict=True):
        out = rec.recommend(ctx(q, v), 10)
        ok = [
            products[int(r)].attributes.get("perceived_colour_master_name") == colour
            and products[int(r)].category[-1:] == (leaf,)
            for r in out.ids
        ]
        said = [why == MATCH for why in out.reasons]
        true_said = [o for o, s in zip(ok, said, strict=True) if s]
        rows.append(
            {
                "query": q,
                "precision_at_10": float(np.mean(ok)) if ok else 0.0,
                "said_to_match": float(np.mean(said)) if said else 0.0,
                "said_and_matching": float(np.mean(true_said)) if true_said else None,
                "first": products[int(out.ids[0])].title if len(out) else None,
            }
        )
    times = []
    for _ in range(args.passes):
        for (q, _, _), v in zip(QUERIES, qvs, strict=True):
            c = ctx(q, v)
            t0 = time.perf_counter()
            rec.recommend(c, 10)
            times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000.0
    run = {
        "label": args.label,
        "load1": round(os.getloadavg()[0], 2),
        "mean_precision_at_10": round(float(np.mean([r["precision_at_10"] for r in rows])), 3),
        "latency_p50_ms": round(float(np.percentile(ms, 50)), 2),
        "latency_p90_ms": round(float(np.percentile(ms, 90)), 2),
        "latency_n": len(ms),
        "queries": rows,
    }
    print(json.dumps({k: v for k, v in run.items() if k != "queries"}))
    data = json.loads(OUT.read_text()) if OUT.exists() else {"about": __doc__.strip().splitlines()[0], "runs": []}
    data["runs"].append(run)
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
