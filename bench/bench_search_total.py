"""What ``/search``'s ``total`` costs with the store's synonyms and with ``distinct`` (session 18).

``total`` (:func:`~shelfwise.retrieve.facets.count_matches`) now counts a query word as held where a
product holds it or what a synonym puts in its place (a union of postings per rewritten word), and
with ``distinct=true`` counts titles (the rows' title codes sorted, or flagged per title when many);
the word index's ``holding`` (every total reads it) no longer sorts postings that are sorted already.
Each is timed against the count without it, on the same searcher, the two alternating query by
query, and the paired-bootstrap 95% interval of the p50 and mean ratios is reported with the
absolute difference; ``uptime`` load is recorded beside each (the machine is shared: timings are
noisy).

Catalogs and queries:

* ``hd``: the 54,667 real Home Depot titles and the real Home Depot dev queries (../shared, read there,
  evaluation only), with MADE-UP synonym rules (:data:`HD_RULES`, written for this timing, not a
  store's): the queries that trigger one are timed apart.
* ``hm-big``: the H&M demo articles repeated 60 times to 294,180 products, each copy's titles
  suffixed " v<copy>" (SYNTHETIC: 195k titles, ~1.5 variants each), queried with the catalog's own
  product types and colour + type pairs, with made-up rules on those types: the large-count case
  (tens of thousands of rows per query), and a query of no word under a category filter (the
  filter's rows' titles: the one catalog-sized pass).

Run: python bench/bench_search_total.py [--queries 2000] [--out search_total_s18]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench_search_real import load_set
from bench_sessions_latency import paired_ratio_ci
from shelfwise.catalog import Catalog, Filters
from shelfwise.encode import HashingEncoder
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.facet_codes import facet_codes, variant_codes
from shelfwise.retrieve.facets import count_matches
from shelfwise.retrieve.synonyms import Synonyms, read_synonyms

from common import load_hm, print_table, write_json

HD_RULES = """# MADE UP for this timing (not a store's rules)
tv, television
faucet, tap
refrigerator, fridge
couch, sofa
rug, carpet
lumber, wood, timber
light bulb, bulb, lamp
screw, bolt
door knob, door handle
shower head, showerhead
weed killer, herbicide
lawn mower, mower
outdoor, exterior
"""
HM_RULES = """# MADE UP for this timing
trousers, pants
sweater, jumper, pullover
t-shirt, tee
dress, gown
top, blouse
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def alternating(a: Callable[[str], int], b: Callable[[str], int], queries: Sequence[str]) -> tuple[list[float], ...]:
    """Seconds per call of ``a`` and of ``b`` on each query, their order alternating query by query."""
    ta, tb = [], []
    for i, q in enumerate(queries):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            t = time.perf_counter()
            fn(q)
            out.append(time.perf_counter() - t)
    return ta, tb


def compare(name: str, new: list[float], old: list[float]) -> dict[str, Any]:
    a, b = np.asarray(new) * 1e6, np.asarray(old) * 1e6
    return {
        "case": name,
        "calls": len(a),
        "old_p50_us": float(np.median(b)),
        "new_p50_us": float(np.median(a)),
        "old_mean_us": float(b.mean()),
        "new_mean_us": float(a.mean()),
        "new_p99_us": float(np.percentile(a, 99)),
        "mean_extra_us": float(a.mean() - b.mean()),
        **paired_ratio_ci(new, old),
        "load": os.getloadavg()[0],
    }


def with_synonyms(searcher: HybridSearcher, rules: Synonyms | None) -> Callable[[str], int]:
    def run(q: str) -> int:
        searcher.synonyms = rules
        return count_matches(searcher, q, Filters())

    return run


def sorted_always(index: Any) -> Callable[[str], Any]:
    """``BM25Index.holding`` as it was before session 18: the postings sorted on every call."""
    model = index._model

    def run(term: str) -> Any:
        i = model.vocab_dict.get(term)
        if i is None:
            return np.zeros(0, dtype=np.int64)
        indptr = model.scores["indptr"]
        return np.sort(np.asarray(model.scores["indices"][indptr[i] : indptr[i + 1]], dtype=np.int64))

    return run


def distinct(searcher: HybridSearcher, on: bool, filters: Filters | None = None) -> Callable[[str], int]:
    return lambda q: count_matches(searcher, q, filters, distinct=on)


def rules_and_searcher(label: str, catalog: Catalog, rules_text: str) -> tuple[Synonyms, HybridSearcher]:
    """The rules read from ``rules_text`` and a searcher of ``catalog`` (its build time printed)."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "synonyms.txt"
        f.write_text(rules_text, encoding="utf-8")
        rules = read_synonyms(f)
    t0 = time.perf_counter()
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=32))  # total reads the word index only
    print(f"{label}: {len(catalog):,} products indexed in {time.perf_counter() - t0:.1f} s ({uptime()})", flush=True)
    return rules, searcher


def measure(
    label: str, catalog: Catalog, queries: list[str], rules_text: str, narrow: Filters | None = None
) -> list[dict[str, Any]]:
    """The rows for one catalog; ``narrow``: a filter under which a query of no word is counted too."""
    rules, searcher = rules_and_searcher(label, catalog, rules_text)
    t0 = time.perf_counter()
    groups = variant_codes(catalog).groups
    codes_s = time.perf_counter() - t0
    facet_codes(catalog)  # built once, as serve's warm-up builds it (titles included)
    fired = [q for q in queries if rules.rewrites(q)]
    plain, syn = with_synonyms(searcher, None), with_synonyms(searcher, rules)
    moved = [(plain(q), syn(q)) for q in fired]
    searcher.synonyms = None
    for q in queries[:50]:  # warm: postings, masks, title codes
        count_matches(searcher, q, Filters(), distinct=True)
    rows = [
        compare(f"{label}: synonyms, queries a rule fires ({len(fired)})", *alternating(syn, plain, fired)),
        compare(f"{label}: synonyms set, every query", *alternating(syn, plain, queries)),
        compare(
            f"{label}: distinct, every query", *alternating(*(distinct(searcher, on) for on in (True, False)), queries)
        ),
    ]
    searcher.synonyms = None
    index, tok = searcher.lexical.words, searcher.lexical.tokenizer
    terms = list(dict.fromkeys(t for q in queries for t in tok(q)))
    rows.append(
        compare(f"{label}: holding(), a term's postings", *alternating(index.holding, sorted_always(index), terms))
    )
    if narrow is not None:  # a query of no word under a filter: the filter's rows' titles (catalog-sized)
        on, off = distinct(searcher, True, narrow), distinct(searcher, False, narrow)
        rows.append(compare(f"{label}: distinct, no word + a filter", *alternating(on, off, ["the"] * 200)))
    for r in rows:
        r.update(
            products=len(catalog), titles=groups, title_codes_s=codes_s, fired=len(fired),
            totals_changed=sum(a != b for a, b in moved), totals_before=sum(a for a, _ in moved),
            totals_after=sum(b for _, b in moved),
        )  # fmt: skip
    return rows


def hd(queries: int) -> tuple[Catalog, list[str]]:
    """The real Home Depot catalog and its first ``queries`` judged dev queries (../shared, read there)."""
    catalog, judg = load_set("hd")
    return catalog, [judg.queries[q] for q in judg.judged()][:queries]


def hm_big() -> tuple[Catalog, list[str]]:
    base = load_hm()
    products = [
        dataclasses.replace(p, id=f"{p.id}-{i}", title=f"{p.title} v{i}") for i in range(60) for p in base.products
    ]
    kinds = sorted({p.category[-1].lower() for p in base.products if p.category})
    colours = sorted({p.attributes.get("colour_group_name", "").lower() for p in base.products} - {""})[:12]
    return Catalog(products), kinds + [f"{c} {k}" for c in colours for k in kinds[:20]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--out", default="search_total_s18")
    args = ap.parse_args()
    start = uptime()
    print(start)
    catalog, hd_queries = hd(args.queries)
    rows = measure("hd", catalog, hd_queries, HD_RULES)
    big, big_queries = hm_big()
    rows += measure("hm-big", big, big_queries, HM_RULES, Filters(category=("Ladieswear",)))
    print_table(
        f"/search total: new count vs the count without it, alternating per query (start: {start})",
        ["case", "old p50 us", "new p50 us", "p50 ratio [95% CI]", "mean extra us", "new p99 us", "load"],
        [
            [
                r["case"], f"{r['old_p50_us']:.1f}", f"{r['new_p50_us']:.1f}",
                f"{r['p50_ratio']:.2f} [{r['p50_ratio_ci95_lo']:.2f}, {r['p50_ratio_ci95_hi']:.2f}]",
                f"{r['mean_extra_us']:.1f}", f"{r['new_p99_us']:.1f}", f"{r['load']:.1f}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    for label in ("hd", "hm-big"):
        r = next(x for x in rows if x["case"].startswith(label))
        print(
            f"{label}: {r['products']:,} products, {r['titles']:,} titles (codes in {r['title_codes_s']:.2f} s); "
            f"a rule fires for {r['fired']} queries, changing {r['totals_changed']} totals "
            f"(sum {r['totals_before']:,} -> {r['totals_after']:,})"
        )
    write_json(args.out, {"rows": rows, "uptime_start": start, "uptime_end": uptime()})


if __name__ == "__main__":
    main()
