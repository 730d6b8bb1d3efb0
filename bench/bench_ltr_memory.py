"""Memory the LTR :class:`~shelfwise.rank.features.FeatureExtractor` keeps per product (its title
terms and character-gram strings), on the 1M catalog of ``million_catalog.py`` (real titles plus
SYNTHETIC variants).

Measured with ``tracemalloc`` around the constructor after a full collection: the bytes still
allocated once it returns are what the extractor holds (Python objects and numpy buffers, which
numpy reports to tracemalloc). Memory, not time: the build seconds are noted with the load.

    python bench/bench_ltr_memory.py --n 1000000 --label after

``--speed-vs OLD.py`` (e.g. ``git show 044a6ab:src/shelfwise/rank/features.py > /tmp/old.py``) instead
checks that the extractor in that file and this one give identical features on the bundled H&M
catalog and times ``features()`` for both, alternating (200 queries x 100 hits, 6 rounds).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
import tracemalloc
from pathlib import Path

from million_catalog import million_table
from shelfwise.catalog.schema import Catalog, Product
from shelfwise.index.text import Tokenizer
from shelfwise.rank.features import FEATURE_NAMES, FeatureExtractor

from common import RESULTS, load_hm, write_json

MB = 2**20


def speed_vs(old_file: Path, out: str) -> None:
    import importlib.util

    import numpy as np

    from shelfwise.results import Results

    spec = importlib.util.spec_from_file_location("old_features", old_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cat, tok = load_hm(), Tokenizer()
    extractors = {"before": module.FeatureExtractor(cat, tok), "after": FeatureExtractor(cat, tok)}
    rng = np.random.default_rng(0)
    titles = [p.title for p in cat.products]
    queries = [" ".join(titles[i].split()[:3]) for i in rng.integers(0, len(cat), 200)]
    hits = []
    for _ in queries:
        r = Results(
            rng.choice(len(cat), 100, replace=False).astype(np.int64), np.linspace(1, 0, 100).astype(np.float32)
        )
        hits.append(r.with_features(bm25=np.zeros(100), lexical=np.zeros(100), cosine=np.zeros(100)))
    for q, h in zip(queries, hits, strict=True):
        assert np.array_equal(extractors["before"].features(q, h), extractors["after"].features(q, h)), q
    total = dict.fromkeys(extractors, 0.0)
    rounds = 6
    for i in range(rounds):
        for name in list(extractors)[:: 1 if i % 2 == 0 else -1]:
            t0 = time.perf_counter()
            for q, h in zip(queries, hits, strict=True):
                extractors[name].features(q, h)
            total[name] += time.perf_counter() - t0
    ms = {k: round(v / rounds / len(queries) * 1000, 3) for k, v in total.items()}
    run = {
        "catalog": f"bundled H&M sample ({len(cat)} products)",
        "ms_per_query_100_hits": ms,
        "after_over_before": round(ms["after"] / ms["before"], 3),
        "identical_features": True,
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    print(run)
    path = RESULTS / f"{out}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data["features_speed"] = run
    write_json(out, data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--label", default="after", help="key under which this run is stored")
    ap.add_argument("--out", default="ltr_memory", help="bench/results/<out>.json")
    ap.add_argument("--speed-vs", type=Path, default=None, help="an older features.py to compare features() with")
    args = ap.parse_args()
    if args.speed_vs is not None:
        speed_vs(args.speed_vs, args.out)
        return
    table, n_real = million_table(args.n)
    ids = table.column("id").to_pylist()
    titles = table.column("title").to_pylist()
    del table
    catalog = Catalog([Product(id=i, title=t) for i, t in zip(ids, titles, strict=True)])
    title_utf8 = sum(len(t.encode()) for t in titles)
    del ids, titles
    tok = Tokenizer()
    tok("warm the stemmer up")  # its module-level objects are not the extractor's
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    extractor = FeatureExtractor(catalog, tok, None, FEATURE_NAMES)
    build_s = time.perf_counter() - t0
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    run = {
        "n_products": len(catalog),
        "n_real": n_real,
        "features": list(extractor.names),
        "held_mb": round(held / MB, 1),
        "peak_mb": round(peak / MB, 1),
        "bytes_per_product": round(held / len(catalog), 1),
        "title_utf8_mb": round(title_utf8 / MB, 1),
        "build_s_under_tracemalloc": round(build_s, 1),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    print(run)
    old = RESULTS / f"{args.out}.json"
    data = json.loads(old.read_text()) if old.exists() else {}
    data["what"] = (
        "bytes the LTR FeatureExtractor keeps (tracemalloc, after construction) on the 1M catalog "
        "of bench/million_catalog.py (real titles + SYNTHETIC variants); title_utf8_mb: the titles themselves"
    )
    data.setdefault("runs", {})[args.label] = run  # earlier runs (e.g. "before") kept beside this one
    write_json(args.out, data)


if __name__ == "__main__":
    main()
