"""Where sold-out products go on a search page, measured on real judged queries with SIMULATED stock
(session 19).

The judged sets have no stock column, so a seeded random share of each catalog's products (10% and
20%, three seeds each) is marked out of stock: the queries, products and judgments are real, the
stock is not. Every placement reorders the same first run of ``candidates`` (100) hits of the shipped
hybrid search (the run ``answer_search`` reorders for page 1):

* ``none``: the relevance order, stock ignored (the upper bound of NDCG over the judged relevance);
* ``today``: every out-of-stock hit after every in-stock hit of the run (the placement before s19);
* ``matched`` (shipped): a sold-out hit moves down past the in-stock hits that hold at least as many
  of the query's words and stops at the first in-stock hit that holds fewer
  (:func:`shelfwise.retrieve.stock.sold_out_last`); ``all-words``: the same with two levels only,
  holding every word (the ``total`` criterion) or not;
* for reference, not shipped: ``tiers`` (products holding every word first, then the rest, in-stock
  first within each: it also reorders in-stock hits) and ``down10`` (each sold-out hit 10 places down).

Per placement: NDCG@10 over the judged relevance (sold-out products count as relevant: what the
ranking loses by moving them), NDCG@10 over the in-stock relevant products only (what a shopper can
buy; queries with one), and how many relevant sold-out products that ``none`` shows on page 1 (top
10) fall off it. Paired-bootstrap 95% intervals of the NDCG ratios, pooled over the seeds' queries.
A check that ``answer_search``'s first page is the ``matched`` placement's top 10 on every query
(one stock draw) ties the figures to the shipped code path.

Sets (read from ../shared/data, evaluation only, never copied): ``hd1k`` (Home Depot dev subset,
10,000 titles, real queries, graded judgments) and ``zh`` (Multi-CPR Taobao, 2,083 titles, 135 real
queries, one labelled match each).

Run: python bench/bench_out_of_stock.py [--sets hd1k,zh] [--out out_of_stock_s19]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from bench_search_real import CACHE, load_set
from shelfwise.catalog import Catalog, Filters
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import SearchMetrics, paired_ratio_interval
from shelfwise.eval.metrics import ndcg_at_k
from shelfwise.index import detect_language
from shelfwise.index.language import choose_encoder
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import held_by
from shelfwise.retrieve.stock import sold_out_last, words_held

from common import print_table, write_json

SHARES = (0.1, 0.2)
SEEDS = (0, 1, 2)
PAGE = 10
Rows = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Held:
    """Per hit of a query's run: how many of its words it holds (None: a query of no word), and
    whether it holds every one (the ``total`` criterion)."""

    words: Rows | None
    full: Rows | None


Placement = Callable[[Results, npt.NDArray[np.bool_], Held, int], Results]


def tiers(res: Results, stock: npt.NDArray[np.bool_], held: Held, block: int) -> Results:
    full = np.ones(len(res.ids), dtype=np.int64) if held.full is None else held.full
    pos = np.arange(len(res.ids))
    return res.take(np.lexsort((pos, ~stock[res.ids], -full, pos // block)))


def down10(res: Results, stock: npt.NDArray[np.bool_], held: Held, block: int) -> Results:
    pos = np.arange(len(res.ids), dtype=np.float64)
    key = np.where(stock[res.ids], pos, np.minimum(pos + 10.5, (pos // block + 1) * block - 0.5))
    return res.take(np.lexsort((pos, key)))


PLACEMENTS: dict[str, Placement] = {
    "none": lambda res, stock, held, block: res,
    "today": lambda res, stock, held, block: sold_out_last(res, stock, block),  # all alike: in-stock first
    "all-words": lambda res, stock, held, block: sold_out_last(res, stock, block, held.full),
    "matched": lambda res, stock, held, block: sold_out_last(res, stock, block, held.words),
    "tiers": tiers,
    "down10": down10,
}


def stocked(catalog: Catalog, share: float, seed: int) -> Catalog:
    """``catalog`` with a seeded random ``share`` of its products out of stock (SIMULATED)."""
    out = np.random.default_rng(seed).random(len(catalog)) < share
    return Catalog([dataclasses.replace(p, in_stock=not o) for p, o in zip(catalog.products, out, strict=True)])


def run_set(name: str) -> dict[str, Any]:
    catalog, judg = load_set(name)
    profile = detect_language(catalog.texts())
    spec = choose_encoder(profile).spec
    searcher = HybridSearcher.build(catalog, load_encoder(spec, CACHE), language=profile, encoder_spec=spec)
    qids = judg.judged()
    queries = [judg.queries[q] for q in qids]
    searcher.dense.prime(queries)
    block = searcher.config.candidates
    t_search = time.perf_counter()
    runs = [searcher.search(q, block) for q in queries]  # stock does not change the relevance order
    holding = [held_by(searcher, q) for q in queries]
    t0 = time.perf_counter()
    words = [words_held(searcher, q, r.ids, h) for q, r, h in zip(queries, runs, holding, strict=True)]
    words_us = (time.perf_counter() - t0) / len(queries) * 1e6
    full = [
        None if h.rows is None else np.isin(r.ids, h.rows).astype(np.int64) for r, h in zip(runs, holding, strict=True)
    ]
    held = [Held(w, f) for w, f in zip(words, full, strict=True)]
    print(f"{name}: {len(queries)} queries searched in {t0 - t_search:.1f} s (load {os.getloadavg()[0]:.1f})")
    ids = catalog.ids
    per: dict[str, dict[str, list[float]]] = {p: {"all": [], "stocked": []} for p in PLACEMENTS}
    settings = []
    for share in SHARES:
        for seed in SEEDS:
            flags = stocked(catalog, share, seed).in_stock
            lost = dict.fromkeys(PLACEMENTS, 0)
            shown_sold = 0  # relevant sold-out products on `none`'s page 1
            kept_stocked: dict[str, int] = dict.fromkeys(PLACEMENTS, 0)
            for qid, res, rows in zip(qids, runs, held, strict=True):
                rel = judg.relevance[qid]
                rel_stock = {i: g for i, g in rel.items() if g > 0 and flags[catalog.row(i)]}
                pages = {p: place(res, flags, rows, block) for p, place in PLACEMENTS.items()}
                first = {p: [ids[r] for r in got.ids[:PAGE].tolist()] for p, got in pages.items()}
                sold_shown = {i for i in first["none"] if rel.get(i, 0) > 0 and not flags[catalog.row(i)]}
                shown_sold += len(sold_shown)
                for p, page in first.items():
                    per[p]["all"].append(ndcg_at_k(page, rel, PAGE))
                    if rel_stock:
                        per[p]["stocked"].append(ndcg_at_k(page, rel_stock, PAGE))
                    lost[p] += len(sold_shown - set(page))
                    kept_stocked[p] += sum(1 for i in page if i in rel_stock)
            row = {"share_out": share, "seed": seed, "relevant_sold_out_on_page1_none": shown_sold}
            for p in PLACEMENTS:
                n = len(qids)
                row[f"{p}_ndcg10"] = float(np.mean(per[p]["all"][-n:]))
                row[f"{p}_relevant_sold_out_off_page1"] = lost[p]
                row[f"{p}_in_stock_relevant_on_page1"] = kept_stocked[p]
            settings.append(row)
    metrics = {
        p: [SearchMetrics(float(np.mean(v)), 0.0, 0.0, len(v), {"ndcg@10": v}) for v in (d["all"], d["stocked"])]
        for p, d in per.items()
    }
    pooled: dict[str, dict[str, Any]] = {}
    for p, (m_all, m_stk) in metrics.items():
        pooled[p] = {"ndcg10": m_all.ndcg_at_10, "ndcg10_in_stock_relevant": m_stk.ndcg_at_10}
        for base in ("none", "today"):
            for key, j in (("ndcg10", 0), ("ndcg10_in_stock_relevant", 1)):
                lo, hi = paired_ratio_interval(metrics[p][j], metrics[base][j])
                pooled[p][f"{key}_ratio_to_{base}"] = metrics[p][j].ndcg_at_10 / metrics[base][j].ndcg_at_10
                pooled[p][f"{key}_ratio_to_{base}_ci95"] = [lo, hi]
        pooled[p]["relevant_sold_out_off_page1"] = sum(r[f"{p}_relevant_sold_out_off_page1"] for r in settings)
    shown = sum(r["relevant_sold_out_on_page1_none"] for r in settings)
    return {
        "products": len(catalog),
        "queries": len(qids),
        "encoder": spec,
        "settings": settings,
        "pooled": pooled,
        "relevant_sold_out_on_page1_none": shown,
        "shipped_path_check": shipped_path(searcher, catalog, queries, runs, words),
        "words_held_us_per_query": words_us,
    }


def shipped_path(
    searcher: HybridSearcher, catalog: Catalog, queries: list[str], runs: list[Results], words: list[Rows | None]
) -> dict[str, int]:
    """How many queries' ``answer_search`` page 1 is the ``matched`` placement's top 10 (one draw)."""
    shop = stocked(catalog, SHARES[-1], SEEDS[0])
    original = searcher.catalog
    searcher.catalog = shop
    try:
        same = 0
        for q, res, rows in zip(queries, runs, words, strict=True):
            page = answer_search(searcher, q, PAGE, Filters()).results.ids.tolist()
            same += page == sold_out_last(res, shop.in_stock, searcher.config.candidates, rows).ids[:PAGE].tolist()
    finally:
        searcher.catalog = original
    return {"same": same, "queries": len(queries)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd1k,zh")
    ap.add_argument("--out", default="out_of_stock_s19")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    sets = {s: run_set(s) for s in args.sets.split(",")}
    for name, got in sets.items():
        print_table(
            f"{name}: {got['queries']} real queries, SIMULATED stock ({', '.join(f'{s:.0%}' for s in SHARES)} out, "
            f"seeds {SEEDS}); {got['relevant_sold_out_on_page1_none']} relevant sold-out products on page 1 unmoved",
            ["placement", "NDCG@10", "/ none [95% CI]", "NDCG@10 in-stock rel", "/ today [95% CI]", "off page 1"],
            [
                [
                    p, f"{v['ndcg10']:.4f}",
                    f"{v['ndcg10_ratio_to_none']:.3f} [{v['ndcg10_ratio_to_none_ci95'][0]:.3f}, "
                    f"{v['ndcg10_ratio_to_none_ci95'][1]:.3f}]",
                    f"{v['ndcg10_in_stock_relevant']:.4f}",
                    f"{v['ndcg10_in_stock_relevant_ratio_to_today']:.3f} "
                    f"[{v['ndcg10_in_stock_relevant_ratio_to_today_ci95'][0]:.3f}, "
                    f"{v['ndcg10_in_stock_relevant_ratio_to_today_ci95'][1]:.3f}]",
                    v["relevant_sold_out_off_page1"],
                ]
                for p, v in got["pooled"].items()
            ],
        )  # fmt: skip
        print(f"answer_search page 1 == matched placement: {got['shipped_path_check']}")
    write_json(
        args.out,
        {
            "note": "real judged queries and products, SIMULATED stock (seeded random share out of stock)",
            "load_start": load_start,
            "load_end": os.getloadavg()[0],
            "sets": sets,
        },
    )


if __name__ == "__main__":
    main()
