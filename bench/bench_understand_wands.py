"""Product-type detection on real shopper queries (the premise of ``SearchConfig.type_boost``).

``type_boost`` lifts the products of a query's product type: its *last* understood category phrase
(the right-hand head rule: "summer dress" is a dress). No real judged set here has categories, so
its effect on NDCG cannot be measured; what can be checked on real queries is how often the rule
names the right type. Data: Wayfair WANDS's 480 real queries, each labelled with the product class
it targets (``../shared/data/wands_query.parquet``, MIT; products are not available here). The
188 classes become the catalog's category vocabulary (two placeholder products per class, titled
by the class, only so that ``QueryUnderstanding`` has a vocabulary); each real query is parsed, and
the category values its head phrase names are compared with the labelled class.

Run: python bench/bench_understand_wands.py -> bench/results/understand_wands.json
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shelfwise.catalog import Catalog, Product
from shelfwise.retrieve.understand import QueryUnderstanding

from common import SHARED, print_table, write_json


def main() -> None:
    d = pd.read_parquet(SHARED / "wands_query.parquet")
    labelled = d[d.query_class.notna()]
    classes = sorted(set(labelled.query_class))
    products = [Product(id=f"{i}-{k}", title=c, category=(c,)) for i, c in enumerate(classes) for k in range(2)]
    understanding = QueryUnderstanding(Catalog(products))
    fired = right = several = several_right = 0
    wrong: list[dict[str, Any]] = []
    for query, cls in zip(labelled["query"], labelled.query_class, strict=True):
        cats = [m for m in understanding.parse(query).matches if m.field == "category"]
        if not cats:
            continue
        fired += 1
        head = cats[-1].phrase
        named = sorted({m.value for m in cats if m.phrase == head})
        ok = cls in named
        right += ok
        if len({m.phrase for m in cats}) > 1:
            several += 1
            several_right += ok
        if not ok:
            wrong.append({"query": query, "class": cls, "type_named": named})
    n = len(labelled)
    print_table(
        f"WANDS: {n} real queries with a class label, {len(classes)} classes as the category vocabulary",
        ["what", "queries", "share"],
        [
            ["a category phrase understood", fired, fired / n],
            ["head phrase names the labelled class", right, right / max(fired, 1)],
            ["2+ category phrases (head rule decides)", several, several / n],
            ["... head rule right among those", several_right, several_right / max(several, 1)],
        ],
    )
    write_json(
        "understand_wands",
        {
            "what": __doc__.split("\n\n")[0] if __doc__ else "",
            "queries_labelled": n,
            "classes": len(classes),
            "understood": fired,
            "type_right": right,
            "type_precision": right / max(fired, 1),
            "several_category_phrases": several,
            "head_rule_right_among_them": several_right,
            "wrong": wrong,
        },
    )


if __name__ == "__main__":
    main()
