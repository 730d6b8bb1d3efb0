"""Graded search judgments: file formats, honest attribute-derived judged sets, and the runner.

File formats (CSV, TSV, JSONL or Parquet, read by :func:`shelfwise.tabular.read_rows`):

* queries: columns ``query_id``, ``query``
* judgments: columns ``query_id``, ``item_id``, ``grade`` (finite number >= 0; 0 = judged not relevant)

A repeated query id, or a repeated (query id, item id) pair, is a row error; the first row is kept.

Any catalog with such files can be evaluated with ``shelfwise eval search``.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import DataError, RowError, position
from shelfwise.eval.metrics import mrr, ndcg_at_k, recall_at_k
from shelfwise.tabular import has_header, read_rows, require_columns


@dataclass(frozen=True)
class Judgments:
    """``queries``: query id -> text; ``relevance``: query id -> item id -> graded gain."""

    queries: dict[str, str]
    relevance: dict[str, dict[str, float]]
    errors: tuple[RowError, ...] = ()  # bad rows skipped when loaded (see load_judgments)

    def __post_init__(self) -> None:
        missing = set(self.relevance) - set(self.queries)
        if missing:
            raise ValueError(f"judgments for unknown query ids: {sorted(missing)[:5]}")

    def __len__(self) -> int:
        return len(self.queries)

    def judged(self) -> list[str]:
        """Query ids that have at least one relevant item (the ones metrics are averaged over)."""
        return [q for q in self.queries if any(g > 0 for g in self.relevance.get(q, {}).values())]

    def subset(self, query_ids: Sequence[str]) -> Judgments:
        return Judgments(
            {q: self.queries[q] for q in query_ids}, {q: self.relevance[q] for q in query_ids if q in self.relevance}
        )

    def split(self, fraction: float, seed: int = 0) -> tuple[Judgments, Judgments]:
        """Random split by query: (first ``fraction``, rest). Queries never straddle the split."""
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        ids = sorted(self.queries)
        random.Random(seed).shuffle(ids)
        cut = round(fraction * len(ids))
        return self.subset(ids[:cut]), self.subset(ids[cut:])

    def save(self, queries_path: str | Path, judgments_path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        q_ids = list(self.queries)
        pq.write_table(pa.table({"query_id": q_ids, "query": [self.queries[q] for q in q_ids]}), queries_path)
        rows = [(q, i, g) for q, rel in self.relevance.items() for i, g in rel.items()]
        pq.write_table(
            pa.table(
                {
                    "query_id": [r[0] for r in rows],
                    "item_id": [r[1] for r in rows],
                    "grade": [float(r[2]) for r in rows],
                }
            ),
            judgments_path,
        )


def _require_columns(file: str, header: Mapping[str, object], names: tuple[str, ...]) -> None:
    """A fixed-header file without the ``names`` columns fails once (JSON Lines: checked per row)."""
    if has_header(file):
        require_columns(file, header, names, "required column not in file", f" (expected {', '.join(names)})")


def load_judgments(queries_path: str | Path, judgments_path: str | Path, *, strict: bool = False) -> Judgments:
    """Load and validate query and judgment files. Bad rows are skipped and listed in
    ``Judgments.errors`` (file, row, field); ``strict=True`` raises :class:`DataError` listing them all."""
    errors: list[RowError] = []
    queries: dict[str, str] = {}
    query_row: dict[str, int] = {}
    qf = str(queries_path)
    first_row: int | None = None
    for row, rec in read_rows(queries_path):
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        if first_row is None:
            first_row = row
            _require_columns(qf, rec, ("query_id", "query"))
        qid, text = rec.get("query_id"), rec.get("query")
        if qid is None or str(qid).strip() == "":
            errors.append(RowError(qf, row, "query_id", "missing"))
        elif not text or not str(text).strip():
            errors.append(RowError(qf, row, "query", "missing query text"))
        elif (q := str(qid).strip()) in queries:
            first = position(qf, query_row[q])
            errors.append(RowError(qf, row, "query_id", f"duplicate query id {q!r} (first at {first}; kept)"))
        else:
            queries[q] = str(text).strip()
            query_row[q] = row
    relevance: dict[str, dict[str, float]] = defaultdict(dict)
    pair_row: dict[tuple[str, str], int] = {}
    checked = False
    jf = str(judgments_path)
    for row, rec in read_rows(judgments_path):
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        if not checked:
            checked = True
            _require_columns(jf, rec, ("query_id", "item_id", "grade"))
        qid, item, grade = rec.get("query_id"), rec.get("item_id"), rec.get("grade")
        if qid is None or str(qid).strip() not in queries:
            errors.append(RowError(jf, row, "query_id", f"unknown query id {qid!r}"))
            continue
        if item is None or str(item).strip() == "":
            errors.append(RowError(jf, row, "item_id", "missing"))
            continue
        try:
            g = float(grade)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errors.append(RowError(jf, row, "grade", f"not a number: {grade!r}"))
            continue
        if not math.isfinite(g) or g < 0:
            errors.append(RowError(jf, row, "grade", f"must be a finite number >= 0, got {grade!r}"))
            continue
        pair = (str(qid).strip(), str(item).strip())
        if pair in pair_row:
            first = position(jf, pair_row[pair])
            msg = f"item {pair[1]!r} judged twice for query {pair[0]!r} (first at {first}; kept)"
            errors.append(RowError(jf, row, "item_id", msg))
            continue
        pair_row[pair] = row
        relevance[pair[0]][pair[1]] = g
    if errors and strict:
        raise DataError(errors, f"{len(errors)} bad rows in {qf} / {jf}")
    return Judgments(queries, dict(relevance), tuple(errors))


def attribute_judgments(
    catalog: Catalog,
    attribute: str,
    *,
    type_depth: int = -1,
    min_items: int = 3,
    max_queries: int | None = 300,
    seed: int = 0,
) -> Judgments:
    """Queries "<attribute value> <product type>" (e.g. "black trousers") built from a real catalog.

    The product type is the category path element at ``type_depth`` (default: the leaf). Grade 2:
    type and attribute both match; grade 1: type matches only. Only combinations with at least
    ``min_items`` products become queries. This is *not* a log of real shopper queries: it measures
    whether search finds products of the asked-for type and attribute, and is labelled as such.
    """
    by_type: dict[str, list[int]] = defaultdict(list)
    combo: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, p in enumerate(catalog.products):
        if not p.category:
            continue
        ptype = p.category[type_depth] if abs(type_depth) <= len(p.category) else p.category[-1]
        by_type[ptype].append(row)
        value = p.attributes.get(attribute, "")
        if value:
            combo[(value, ptype)].append(row)
    keys = sorted(k for k, rows in combo.items() if len(rows) >= min_items)
    if not keys:
        raise ValueError(f"no ({attribute}, type) combination has >= {min_items} products")
    random.Random(seed).shuffle(keys)
    if max_queries is not None:
        keys = keys[:max_queries]
    queries: dict[str, str] = {}
    relevance: dict[str, dict[str, float]] = {}
    for n, (value, ptype) in enumerate(sorted(keys)):
        qid = f"q{n:04d}"
        queries[qid] = f"{value} {ptype}".lower()
        rel = {catalog.ids[r]: 1.0 for r in by_type[ptype]}
        rel.update({catalog.ids[r]: 2.0 for r in combo[(value, ptype)]})
        relevance[qid] = rel
    return Judgments(queries, relevance)


@dataclass
class SearchMetrics:
    """Mean metrics over judged queries, with per-query arrays for significance tests."""

    ndcg_at_10: float
    recall_at_100: float
    mrr: float
    n_queries: int
    per_query: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        return {
            "ndcg@10": self.ndcg_at_10,
            "recall@100": self.recall_at_100,
            "mrr": self.mrr,
            "queries": float(self.n_queries),
        }


SearchFn = Callable[[str, int], Sequence[str]]


def evaluate_search(search: SearchFn, judgments: Judgments, k: int = 10, recall_k: int = 100) -> SearchMetrics:
    """Run ``search(query_text, n) -> ranked item ids`` on every judged query and average the metrics."""
    ndcg: list[float] = []
    rec: list[float] = []
    rr: list[float] = []
    qids = judgments.judged()
    for qid in qids:
        ranked = list(search(judgments.queries[qid], max(k, recall_k)))
        rel = judgments.relevance[qid]
        ndcg.append(ndcg_at_k(ranked, rel, k))
        rec.append(recall_at_k(ranked, rel, recall_k))
        rr.append(mrr(ranked, rel))
    if not qids:
        raise DataError([], "no judged query has a relevant item")
    return SearchMetrics(
        float(np.mean(ndcg)),
        float(np.mean(rec)),
        float(np.mean(rr)),
        len(qids),
        {"ndcg@10": ndcg, "recall@100": rec, "mrr": rr},
    )


def no_interval_note(peer: str, intervals: Mapping[str, tuple[float, float]]) -> str | None:
    """Why a row's 95% CI reads '-' (:func:`paired_ratio_interval` gave NaN), or None when every
    row other than the peer's own has one: a few judged queries, one of them scored 0 by ``peer``."""
    missing = [name for name, (lo, _) in intervals.items() if math.isnan(lo)]
    if not missing:
        return None
    return (
        f"95% CI '-' ({', '.join(missing)}): no interval, as some of the 1,000 resamples held only queries "
        f"{peer} scored 0 on (too few judged queries to bound the ratio; judge more)"
    )


def paired_ratio_interval(
    system: SearchMetrics, peer: SearchMetrics, *, metric: str = "ndcg@10", n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% paired-bootstrap interval of ``mean(system) / mean(peer)`` over the same judged queries
    (resampled together, so per-query difficulty cancels). NaN, NaN when the runs differ in queries
    or a resample's peer mean is 0."""
    a = np.asarray(system.per_query.get(metric, ()), dtype=np.float64)
    b = np.asarray(peer.per_query.get(metric, ()), dtype=np.float64)
    if len(a) == 0 or len(a) != len(b):
        return math.nan, math.nan
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    den = b[idx].mean(axis=1)
    if (den <= 0).any():
        return math.nan, math.nan
    ratios = a[idx].mean(axis=1) / den
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return float(lo), float(hi)
