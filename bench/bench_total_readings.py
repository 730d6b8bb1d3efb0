"""/search's ``total`` with synonyms: one intersection per rewriting of the query vs a union per word.

Session 18 counted a query word as held through any rule's rewriting of the phrase holding it (a
union of postings per word, then one intersection): a word held twice in the query ("pendant light
conversion light", 122 of the 5,888 real Home Depot dev queries hold a word twice) kept its own
postings only, two Chinese phrases side by side missed the pair across them, and two phrases that
overlap counted a product holding both rewritings, which no single rewriting reads. ``total`` now
unions the products holding every word of each rewriting (:meth:`Synonyms.readings`, each choice of
places that do not overlap). This times both on the same searcher, alternating query by query on
the queries a rule fires for, and says how many totals differ.

Catalogs, queries and rules are ``bench_search_total.py``'s: ``hd``, the 54,667 real Home Depot
titles with the real dev queries (../shared, read there, evaluation only) and MADE-UP rules;
``hm-big``, the H&M demo articles x60 (294,180, SYNTHETIC titles per copy) with made-up rules.
The machine is shared: timings are noisy; ``uptime`` load is recorded.

Run: python bench/bench_total_readings.py [--queries 2000] [--skip-big] [--out total_readings_s18]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from bench_search_total import HD_RULES, HM_RULES, alternating, compare, hd, hm_big, rules_and_searcher, uptime
from shelfwise.catalog import Catalog, Filters
from shelfwise.index.rows import union_sorted
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.facets import count_matches, holding_all_of, holding_words

from common import print_table, write_json


def per_word(searcher: HybridSearcher, text: str) -> npt.NDArray[np.int64] | None:
    """Session 18's merged count (d03b6e7's ``holding_synonyms``): each query word's postings joined
    by those of every rewriting that cuts the word out of the query, then one intersection."""
    rewrites = searcher.synonyms.rewrites(text) if searcher.synonyms is not None else ()
    if not rewrites:
        return holding_words(searcher, text)
    tok, index = searcher.lexical.tokenizer, searcher.lexical.words
    terms = list(dict.fromkeys(tok(text)))
    if not terms:
        return None
    held = {t: index.holding(t) for t in terms}
    for rw in rewrites:
        kept = set(tok(rw.rest()))
        covered = [t for t in terms if t not in kept]
        for target in rw.targets:
            own = tok(target)
            if not own or not covered:
                continue
            alt = [t for t in dict.fromkeys(tok(rw.reading(target))) if t not in kept] or own
            rows = holding_all_of([index.holding(t) for t in dict.fromkeys(alt)])
            for t in covered:
                held[t] = union_sorted(held[t], rows, len(searcher.catalog))
    return holding_all_of(list(held.values()))


def old_count(searcher: HybridSearcher) -> Callable[[str], int]:
    def run(q: str) -> int:
        rows = per_word(searcher, q)
        return len(searcher.catalog) if rows is None else len(rows)

    return run


def new_count(searcher: HybridSearcher) -> Callable[[str], int]:
    return lambda q: count_matches(searcher, q, Filters())


def measure(label: str, catalog: Catalog, queries: list[str], rules_text: str) -> dict[str, Any]:
    rules, searcher = rules_and_searcher(label, catalog, rules_text)
    searcher.synonyms = rules
    fired = [q for q in queries if rules.rewrites(q)]
    new, old = new_count(searcher), old_count(searcher)
    pairs = [(old(q), new(q)) for q in fired]  # warm, and the totals compared
    changed = [(q, a, b) for q, (a, b) in zip(fired, pairs, strict=True) if a != b]
    row = compare(f"{label}: queries a rule fires ({len(fired)})", *alternating(new, old, fired))
    row.update(
        products=len(catalog),
        fired=len(fired),
        readings_max=max((len(rules.readings(q)) for q in fired), default=0),
        totals_changed=len(changed),
        changed_examples=[{"query": q, "before": a, "after": b} for q, a, b in changed[:10]],
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--skip-big", action="store_true", help="the Home Depot set only")
    ap.add_argument("--out", default="total_readings_s18")
    args = ap.parse_args()
    start = uptime()
    print(start)
    rows = [measure("hd", *hd(args.queries), HD_RULES)]
    if not args.skip_big:
        big, big_queries = hm_big()
        rows.append(measure("hm-big", big, big_queries, HM_RULES))
    print_table(
        f"/search total with synonyms: per rewriting (new) vs per word (old), alternating per query (start: {start})",
        ["case", "old p50 us", "new p50 us", "p50 ratio [95% CI]", "mean ratio [95% CI]", "new p99 us", "changed",
         "load"],
        [
            [
                r["case"], f"{r['old_p50_us']:.1f}", f"{r['new_p50_us']:.1f}",
                f"{r['p50_ratio']:.2f} [{r['p50_ratio_ci95_lo']:.2f}, {r['p50_ratio_ci95_hi']:.2f}]",
                f"{r['mean_ratio']:.2f} [{r['mean_ratio_ci95_lo']:.2f}, {r['mean_ratio_ci95_hi']:.2f}]",
                f"{r['new_p99_us']:.1f}", r["totals_changed"], f"{r['load']:.1f}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    for r in rows:
        print(r["case"], "changed:", r["changed_examples"])
    write_json(args.out, {"rows": rows, "uptime_start": start, "uptime_end": uptime()})


if __name__ == "__main__":
    main()
