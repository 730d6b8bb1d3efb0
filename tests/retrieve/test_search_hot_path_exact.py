"""The search hot path's rewrites give what the straightforward code gave, bit for bit: convex fusion
with each max/min taken once, the price parser's digit shortcut, and a whole hybrid search against a
reference built from full sorts and ``np.union1d`` (the candidate union itself:
tests/index/test_rows.py)."""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve import understand as und
from shelfwise.retrieve.hybrid import _FirstStage
from word_catalog import word_searcher

QUERIES = ("drill", "cordles drill", "oak ladder lamp", "brass", "steel saw blade", "zebra", "paint matte tile 3")


@pytest.fixture(scope="module")
def searcher() -> HybridSearcher:
    cfg = SearchConfig(candidates=40, understand=False, feedback_weight=0.0, lexical_shortcut=0)  # the fusion itself
    return word_searcher(11, 600, 50, cfg)


def reference_convex(
    s: HybridSearcher, query: str, mixed: npt.NDArray[np.float32], lex: Results, sem: Results, n: int, w: float
) -> tuple[Results, npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Convex fusion as first written (``np.union1d``; each max and min computed where used)."""
    cand = np.union1d(lex.ids, sem.ids)
    b = mixed[cand]
    b = b / b.max() if b.max() > 0 else b
    cosine = np.asarray(s.dense.index.rows(cand) @ s.dense.embed(query), dtype=np.float32)
    span = float(cosine.max() - cosine.min())
    d = (cosine - cosine.min()) / span if span > 1e-12 else np.ones_like(cosine)
    fused = np.asarray((1 - w) * b + w * d, dtype=np.float32)
    top = Results.from_scores(fused, n)
    ids = cand.astype(np.int64)
    return Results(ids[top.ids], top.scores), ids, cosine


def full_sort_top(s: npt.NDArray[np.float32], k: int) -> Results:
    rows = np.flatnonzero(s > 0)
    rows = rows[np.lexsort((rows, -s[rows]))][:k]
    return Results(rows.astype(np.int64), s[rows])


@pytest.mark.parametrize("query", QUERIES)
def test_convex_and_whole_search_match_the_reference(searcher: HybridSearcher, query: str) -> None:
    n, w = searcher.config.candidates, searcher.config.dense_weight
    parts = searcher.lexical.score_parts(query)
    lex = full_sort_top(parts.mixed, n)
    sem = searcher.dense.retrieve(query, n)
    want, ids, cosine = reference_convex(searcher, query, parts.mixed, lex, sem, n, w)
    got, first = searcher._convex(query, searcher.dense, _FirstStage(parts), lex, sem, n, w)
    assert got.ids.tolist() == want.ids.tolist()
    np.testing.assert_array_equal(got.scores, want.scores)
    assert first.ids is not None and first.cosine is not None
    np.testing.assert_array_equal(first.ids, ids)
    np.testing.assert_array_equal(first.cosine, cosine)
    for k in (1, 10, n):
        res = searcher.search(query, k, match_features=True)
        assert res.ids.tolist() == want.ids[:k].tolist()
        np.testing.assert_array_equal(res.scores, want.scores[:k])
        np.testing.assert_array_equal(res.features["lexical"], parts.mixed[res.ids])
        np.testing.assert_array_equal(res.features["bm25"], parts.words[res.ids])


def test_convex_of_no_candidates_is_empty(searcher: HybridSearcher) -> None:
    parts = searcher.lexical.score_parts("zebra")
    res, first = searcher._convex("zebra", searcher.dense, _FirstStage(parts), Results.empty(), Results.empty(), 5, 0.4)
    assert len(res) == 0 and first.ids is None


def test_every_price_pattern_needs_a_digit() -> None:
    assert all(und._NUM in p.pattern for p, _ in und._PRICE_PATTERNS)


@pytest.mark.parametrize(
    "query",
    [
        "black dress under 50",
        "black dress under fifty",
        "between $20 and $30 lamps",
        "drill over 100 watts",
        "50元以下 裤子",
        "低于五十元",
        "mug ٣٠ dollars under ٣٠",  # Arabic-Indic digits are \\d too
        "",
        "cordless drill",
        "Ｕｎｄｅｒ ５０",  # full-width: normalised first
    ],
)
def test_parse_price_is_the_every_pattern_parse(query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = und.parse_price(query)
    monkeypatch.setattr(und, "_DIGIT", re.compile(""))  # matches every query: all ten patterns tried
    assert und.parse_price(query) == fast
