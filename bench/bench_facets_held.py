"""What ``/search?facets=true`` saves by reading the query's rows once (session 19).

The total (:func:`~shelfwise.retrieve.facets.count_matches`) and the facets
(:func:`~shelfwise.retrieve.facets.facet_search`) both start from the rows holding the query's words
or a store synonym in their place (:func:`~shelfwise.retrieve.facets.holding_query`). The route now
hands the total's rows (``SearchAnswer.held``) to the facets; before, the facets read them again.
Timed here, per query on the same searcher, the two alternating query by query: the facet step with
the rows handed over (new) against the facet step reading them itself (old, ``held=None``: the code
as it was), with the paired-bootstrap 95% interval of the p50 and mean ratios; and, for scale, the
whole request (answer_search + facet_search, new) and ``holding_query`` alone. ``uptime`` load is
recorded beside each row (the machine is shared: timings are noisy).

Catalogs and queries (as ``bench_search_total.py``): ``hd``, the 54,667 real Home Depot titles and
real dev queries (../shared, read there, evaluation only) with MADE-UP synonym rules; ``hm-big``
(``--big``), the H&M demo articles repeated 60 times to 294,180 products (SYNTHETIC), queried with
the catalog's product types and colour + type pairs.

Run: python bench/bench_facets_held.py [--queries 1000] [--big] [--out facets_held_s19]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from bench_search_total import HD_RULES, HM_RULES, alternating, compare, hd, hm_big, rules_and_searcher, uptime
from shelfwise.catalog import Catalog, Filters
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.answer import answer_search
from shelfwise.retrieve.facets import Held, facet_search, holding_query

from common import print_table, time_calls, write_json


def facets(searcher: HybridSearcher, held: dict[str, Held] | None) -> Callable[[str], int]:
    """The facet step of a request for ``q``, handed the rows the total read (``held``) or not."""
    return lambda q: facet_search(searcher, q, Filters(), held=held[q] if held is not None else None).matched


def measure(label: str, catalog: Catalog, queries: list[str], rules_text: str) -> list[dict[str, Any]]:
    rules, searcher = rules_and_searcher(label, catalog, rules_text)
    searcher.synonyms = rules
    answers = {q: answer_search(searcher, q, 10, Filters()) for q in queries}  # warm: postings, masks, codes
    held = {q: a.held for q, a in answers.items() if a.held is not None}
    same = sum(facets(searcher, held)(q) == facets(searcher, None)(q) for q in held)
    row = compare(
        f"{label}: facet step, rows handed vs read again",
        *alternating(facets(searcher, held), facets(searcher, None), list(held)),
    )

    def request(q: str) -> None:
        got = answer_search(searcher, q, 10, Filters())
        facet_search(searcher, q, Filters(), held=got.held)

    whole = np.asarray(time_calls(request, queries)) * 1e6
    alone = np.asarray(time_calls(lambda q: holding_query(searcher, q), queries)) * 1e6
    row.update(
        products=len(catalog), queries=len(queries), facets_equal=same, facets_compared=len(held),
        request_p50_us=float(np.median(whole)), request_mean_us=float(whole.mean()),
        holding_query_p50_us=float(np.median(alone)), holding_query_mean_us=float(alone.mean()),
        saved_share_of_request_mean=float(-row["mean_extra_us"] / whole.mean()), load_end=os.getloadavg()[0],
    )  # fmt: skip
    return [row]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--big", action="store_true", help="also the 294,180-product synthetic catalog")
    ap.add_argument("--out", default="facets_held_s19")
    args = ap.parse_args()
    start = uptime()
    print(start)
    rows = measure("hd", *hd(args.queries), HD_RULES)
    if args.big:
        big, big_queries = hm_big()
        rows += measure("hm-big", big, big_queries[: args.queries], HM_RULES)
    print_table(
        f"/search?facets=true: the facet step handed the total's rows vs reading them again (start: {start})",
        ["case", "old p50 us", "new p50 us", "p50 ratio [95% CI]", "mean saved us", "request mean us",
         "holding_query mean us", "facets equal", "load"],
        [
            [
                r["case"], f"{r['old_p50_us']:.1f}", f"{r['new_p50_us']:.1f}",
                f"{r['p50_ratio']:.2f} [{r['p50_ratio_ci95_lo']:.2f}, {r['p50_ratio_ci95_hi']:.2f}]",
                f"{-r['mean_extra_us']:.1f}", f"{r['request_mean_us']:.0f}", f"{r['holding_query_mean_us']:.1f}",
                f"{r['facets_equal']}/{r['facets_compared']}", f"{r['load']:.1f}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    write_json(args.out, {"rows": rows, "uptime_start": start, "uptime_end": uptime()})


if __name__ == "__main__":
    main()
