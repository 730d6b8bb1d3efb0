"""The store's own controls at scale, each against the plain way of doing the same in the same run.

* synonyms: a query's expansion found through the rules' first words / characters
  (``Synonyms.added``) vs testing every rule in turn, 20,000 made-up rules (the phrases are random
  letters: nothing here measures quality);
* merchandising rules: ``Rules.applied`` vs testing every rule in turn, 20,000 made-up rules;
* facets: ``facet_counts`` on the catalog's value codes vs a loop over the counted rows (what
  ``facets.py`` did before), the H&M demo articles repeated to 294,180 products, 100,000 counted
  rows; the counts of the two are checked equal;
* query understanding's product mask for a category / brand value not seen before (``field_mask``:
  per-depth category codes, the brand column) vs the loop over every product it ran before, same
  294,180 products, masks checked equal; and ``QueryUnderstanding.prepare`` (the category codes at
  every depth, which serve's warm-up builds at start and reload; unprepared, a value is the loop).

Per-call times are the median of repeated calls; the load average is recorded beside them.

Run: python bench/bench_store_controls.py -> bench/results/store_controls.json
"""

from __future__ import annotations

import dataclasses
import os
import random
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.catalog import Catalog, Filters
from shelfwise.retrieve.facets import default_attribute_keys, facet_counts
from shelfwise.retrieve.rules import read_rules
from shelfwise.retrieve.synonyms import holds, read_synonyms, words
from shelfwise.retrieve.understand import FieldMatch, QueryUnderstanding

from common import load_hm, print_table, write_json

N_RULES = 20_000


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def made_up_words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(n)]


def synonyms_and_rules(tmp: Path) -> dict[str, Any]:
    rng = random.Random(0)
    w = made_up_words(rng, 4 * N_RULES)
    syn = tmp / "synonyms.txt"
    syn.write_text("\n".join(f"{w[i]}, {w[i + 1]} {w[i + 2]}" for i in range(0, 3 * N_RULES, 3)) + "\nsofa, couch\n")
    s = read_synonyms(syn)
    query = f"grey sofa {w[5]}"
    keys = [(tuple(words(p) for p in r.sources), r.targets) for r in s.rules]

    def scan_synonyms() -> str:
        q = words(query)
        joined = "".join(q)
        out: list[str] = []
        for sources, targets in keys:
            if any(holds(q, p, joined) for p in sources):
                out += [t for t in targets if t not in out and not holds(q, words(t), joined)]
        return " ".join(out)

    assert scan_synonyms() == s.added(query)
    ids = [f"p{i}" for i in range(100)]
    rules_file = tmp / "rules.json"
    import json

    body = [{"query": w[i], "match": "contains", "hide": ["p1"]} for i in range(N_RULES)]
    rules_file.write_text(json.dumps([*body, {"query": "sofa", "match": "contains", "pin": ["p2"]}]))
    rules = read_rules(rules_file, ids)
    rule_keys = [words(r.query) for r in rules.rules]

    def scan_rules() -> list[int]:
        q = words(query)
        joined = "".join(q)
        return [n for n, k in enumerate(rule_keys) if holds(q, k, joined)]

    assert [rules.rules[n].id for n in scan_rules()] == list(rules.applied(query).rules)
    s._last = None  # measure the lookup, not the one-query memo

    def added() -> str:
        s._last = None
        return s.added(query)

    return {
        "rules": N_RULES,
        "synonyms_indexed_ms": median_ms(added, 200),
        "synonyms_scan_ms": median_ms(scan_synonyms, 20),
        "rules_indexed_ms": median_ms(lambda: rules.applied(query), 200),
        "rules_scan_ms": median_ms(scan_rules, 20),
        "load_1m": os.getloadavg()[0],
    }


def row_loop(catalog: Catalog, rows: np.ndarray, key: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """What facets.py counted before its codes: a loop over the counted rows (no selection)."""
    cat: Counter[str] = Counter()
    brand: Counter[str] = Counter()
    attr: Counter[str] = Counter()
    for r in rows.tolist():
        p = catalog.products[r]
        if p.category:
            cat[p.category[0].lower()] += 1
        if p.brand:
            brand[p.brand.lower()] += 1
        v = p.attributes.get(key, "")
        if v:
            attr[v.lower()] += 1
    return cat, brand, attr


def big_catalog() -> Catalog:
    base = load_hm()
    return Catalog([dataclasses.replace(p, id=f"{p.id}-{i}") for i in range(60) for p in base.products])


def masks(catalog: Catalog) -> dict[str, Any]:
    """A new category / brand value's product mask as query understanding builds it (``field_mask``:
    per-depth category codes, the brand column) vs the loop over every product it ran before."""
    products = catalog.products
    qu = QueryUnderstanding(Catalog(list(products)))  # its own catalog: category codes not built yet
    t = time.perf_counter()
    qu.prepare()  # what serve's warm-up pays once, at start and at each reload
    prepare_ms = (time.perf_counter() - t) * 1000
    category = Counter(c for p in products[:5000] for c in p.category).most_common(1)[0][0]
    brand = next((p.brand for p in products if p.brand), "")
    cat_m, brand_m = FieldMatch("category", category, category.lower()), FieldMatch("brand", brand, brand.lower())

    def loop_category() -> np.ndarray:
        v = category.lower()
        return np.array([v in (c.lower() for c in p.category) for p in products], dtype=bool)

    def loop_brand() -> np.ndarray:
        return np.array([p.brand.lower() == brand.lower() for p in products], dtype=bool)

    def fresh(m: FieldMatch) -> Callable[[], Any]:
        def run() -> Any:
            qu._masks = type(qu._masks)(qu._masks.max_bytes)  # a value not seen before: nothing memoised
            return qu.field_mask(m)

        return run

    assert np.array_equal(fresh(cat_m)(), loop_category()) and np.array_equal(fresh(brand_m)(), loop_brand())
    return {
        "prepare_ms": prepare_ms,
        "products": len(catalog),
        "category": category,
        "category_codes_ms": median_ms(fresh(cat_m), 5),
        "category_loop_ms": median_ms(loop_category, 3),
        "brand_column_ms": median_ms(fresh(brand_m), 5),
        "brand_loop_ms": median_ms(loop_brand, 3),
        "load_1m": os.getloadavg()[0],
    }


def facets(catalog: Catalog) -> dict[str, Any]:
    key = default_attribute_keys(catalog)[0]
    t = time.perf_counter()
    facet_counts(catalog, np.arange(10), Filters(), [key])
    build_s = time.perf_counter() - t
    rows = np.random.default_rng(0).choice(len(catalog), 100_000, replace=False)
    f = facet_counts(catalog, rows, Filters(), [key])
    cat, _brand, attr = row_loop(catalog, rows, key)
    assert {v.value.lower(): v.count for v in f.category} == dict(cat.most_common(len(f.category)))
    assert {v.value.lower(): v.count for v in f.attributes[key]} == dict(attr.most_common(len(f.attributes[key])))
    return {
        "products": len(catalog),
        "rows": len(rows),
        "codes_build_s": build_s,
        "codes_ms": median_ms(lambda: facet_counts(catalog, rows, Filters(), [key]), 7),
        "row_loop_ms": median_ms(lambda: row_loop(catalog, rows, key), 3),
        "load_1m": os.getloadavg()[0],
    }


def main() -> None:
    out: dict[str, Any] = {"load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        out["lookup"] = synonyms_and_rules(Path(tmp))
    catalog = big_catalog()
    out["facets"] = facets(catalog)
    out["masks"] = masks(catalog)
    lk, fc, mk = out["lookup"], out["facets"], out["masks"]
    print_table(
        "store controls: ours vs the plain way, same run (median ms a call)",
        ["what", "ours", "plain", "x faster", "load"],
        [
            [
                "synonyms, 20k rules",
                f"{lk['synonyms_indexed_ms']:.3f}",
                f"{lk['synonyms_scan_ms']:.1f}",
                f"{lk['synonyms_scan_ms'] / lk['synonyms_indexed_ms']:.0f}",
                f"{lk['load_1m']:.1f}",
            ],
            [
                "rules, 20k rules",
                f"{lk['rules_indexed_ms']:.3f}",
                f"{lk['rules_scan_ms']:.1f}",
                f"{lk['rules_scan_ms'] / lk['rules_indexed_ms']:.0f}",
                f"{lk['load_1m']:.1f}",
            ],
            [
                f"facets, {fc['rows']:,} of {fc['products']:,} rows",
                f"{fc['codes_ms']:.1f}",
                f"{fc['row_loop_ms']:.1f}",
                f"{fc['row_loop_ms'] / fc['codes_ms']:.0f}",
                f"{fc['load_1m']:.1f}",
            ],
            *(
                [
                    f"new {what} value's mask, {mk['products']:,} products",
                    f"{mk[ours]:.1f}",
                    f"{mk[plain]:.1f}",
                    f"{mk[plain] / mk[ours]:.0f}",
                    f"{mk['load_1m']:.1f}",
                ]
                for what, ours, plain in (
                    ("category", "category_codes_ms", "category_loop_ms"),
                    ("brand", "brand_column_ms", "brand_loop_ms"),
                )
            ),
        ],
    )
    out["load_end"] = os.getloadavg()
    write_json("store_controls", out)


if __name__ == "__main__":
    main()
