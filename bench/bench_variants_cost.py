"""What ``variants=true`` costs one request, before and after the per-item cap (``variants_max``,
default ``MAX_VARIANTS`` = 50, those the filters admit first, ``variants_total`` the count).

H&M's demo catalog (4,903 articles, largest title 17 colours) behind the app in-process (FastAPI
TestClient, so routing, swatch labels and JSON are all counted; no network): ``GET /search`` with
``k=24&distinct=true``, each query asked with and without ``variants=true``, interleaved; latency
per request (p50 / p90 / mean) and response bytes. Two catalogs: H&M as it is, where no title
reaches the cap, and H&M plus one title of ``--wide`` variants ("Jersey top wide range": a feed that
groups a size x colour grid under one name), hit by the queries that name it, where it does.

"Before" is the code before the cap (``--before-src``: a ``src`` tree exported from that commit,
e.g. ``git archive a32c594 src | tar -x -C /tmp/before``); "after" this tree. Each runs in its own
process, the two alternated ``--rounds`` times so load drift hits both (``--abba``: every second round
in the other order, A B B A ...); one JSON with both. ``--names`` names the two trees (default
"before (no cap)" and "after (cap 50)"; s19b: main before the label cache vs this tree).
The text encoder is ``HashingEncoder`` (no model download; the swatches do not depend on it).

Run: nice -n 10 python bench/bench_variants_cost.py --before-src /tmp/before/src [--out variants_cost_s19]
     (s19b: git archive 54023cf src | tar -x -C /tmp/before; ... --abba --out variants_cost_s19b
      --names "main (labels per request)" "label cache")
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
K = 24
WIDE_TITLE = "Jersey top wide range"


def queries(titles: list[str], n: int) -> list[str]:
    """``n`` queries: the first two words of titles sampled with a fixed seed (what shoppers type)."""
    rng = np.random.default_rng(0)
    picked = rng.choice(len(titles), size=n, replace=False)
    return [" ".join(titles[i].split()[:2]) for i in picked.tolist()]


def worker(wide: int, n_queries: int, repeats: int) -> dict[str, Any]:
    """Time the requests in this process (whichever ``shelfwise`` is on the path)."""
    sys.path.insert(0, str(HERE))
    from fastapi.testclient import TestClient

    from shelfwise.catalog import Catalog, Product
    from shelfwise.encode import HashingEncoder
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.serve import create_app
    from shelfwise.shelf import Shelf

    from common import load_hm

    hm = load_hm()
    out: dict[str, Any] = {}
    for name, extra in (("hm", 0), (f"hm_plus_{wide}_variant_title", wide)):
        grid = [
            Product(
                id=f"wide{i:05d}",
                title=WIDE_TITLE,
                category=("Ladieswear", "Jersey Basic"),
                price=9.99,
                in_stock=i % 3 != 0,
                attributes={"colour_group_name": f"Shade {i % 60}", "size": str(i // 60)},
            )
            for i in range(extra)
        ]
        catalog = Catalog([*hm.products, *grid])
        searcher = HybridSearcher.build(catalog, HashingEncoder(dim=256))
        client = TestClient(create_app(Shelf(catalog, searcher), warmup=False), base_url="http://localhost")
        qs = queries([p.title for p in hm.products], n_queries) if not extra else ["jersey top"] * 10
        runs: dict[str, list[float]] = {"variants=false": [], "variants=true": []}
        sizes: dict[str, list[int]] = {"variants=false": [], "variants=true": []}
        swatches: list[int] = []
        for q in qs[:3]:  # warm: first-request costs (facet codes, variant groups) are not per request
            client.get("/search", params={"q": q, "k": K, "distinct": "true", "variants": "true"})
        for _ in range(repeats):
            for q in qs:
                for label in runs:
                    params: dict[str, str | int | bool] = {
                        "q": q,
                        "k": K,
                        "distinct": "true",
                        "variants": label.endswith("true"),
                    }
                    t = time.perf_counter()
                    r = client.get("/search", params=params)
                    runs[label].append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text
                    sizes[label].append(len(r.content))
                    if label.endswith("true"):
                        swatches.append(sum(len(it["variants"] or []) for it in r.json()["items"]))
        out[name] = {
            "items": len(catalog),
            "queries": len(qs),
            "requests_each": len(runs["variants=false"]),
            **{
                label: {
                    "p50_ms": float(np.percentile(ts, 50) * 1000),
                    "p90_ms": float(np.percentile(ts, 90) * 1000),
                    "mean_ms": float(np.mean(ts) * 1000),
                    "mean_bytes": float(np.mean(sizes[label])),
                }
                for label, ts in runs.items()
            },
            "swatches_per_response": float(np.mean(swatches)),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before-src", help="a src tree of the code before the cap")
    ap.add_argument("--out", default="variants_cost_s19")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--wide", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--abba", action="store_true", help="alternate the order of the two each round")
    ap.add_argument("--names", nargs=2, default=["before (no cap)", "after (cap 50)"], metavar=("BEFORE", "AFTER"))
    ap.add_argument("--worker", action="store_true", help="(internal) time requests, print JSON")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.wide, args.queries, args.repeats)))
        return
    if not args.before_src or not (Path(args.before_src) / "shelfwise").is_dir():
        sys.exit(f"--before-src must be a src tree holding shelfwise/ (got {args.before_src!r})")
    before, after = args.names
    trees = {before: str(Path(args.before_src).resolve()), after: str(HERE.parent / "src")}
    payload: dict[str, Any] = {"load_before": os.getloadavg(), "k": K, "wide_title_variants": args.wide}
    payload["order"] = "ABBA" if args.abba else "ABAB"
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for i in range(args.rounds):
        order = list(trees.items())
        for name, src in order[::-1] if args.abba and i % 2 else order:
            cmd = [sys.executable, __file__, "--worker", "--wide", str(args.wide)]
            cmd += ["--queries", str(args.queries), "--repeats", str(args.repeats)]
            env = {**os.environ, "PYTHONPATH": src}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            got[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{name}: round done", flush=True)
    for name, rounds in got.items():
        payload[name] = {"rounds": rounds}
        for catalog, first in rounds[0].items():
            for label in ("variants=false", "variants=true"):
                p50 = [r[catalog][label]["p50_ms"] for r in rounds]
                print(
                    f"{name:16s} {catalog:28s} {label:15s} p50 {np.mean(p50):7.2f} ms  "
                    f"bytes {first[label]['mean_bytes']:9.0f}  swatches/resp {first['swatches_per_response']:.0f}"
                )
    payload["load_after"] = os.getloadavg()
    sys.path.insert(0, str(HERE))
    from common import write_json

    write_json(args.out, payload)


if __name__ == "__main__":
    main()
