"""The lexical hot path's rewrites give what the straightforward code gave, bit for bit: top_k's
sqrt-sized threshold sample, BM25 scores summed without bm25s's ``get_scores`` wrapper, and the
word + character mix written into the character scores' own array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shelfwise.index import BM25Index, LexicalIndex, topk
from shelfwise.index import bm25 as bm25_mod
from shelfwise.index.bm25 import BM25_METHODS, BM25Config
from shelfwise.index.lexical import _mix
from shelfwise.index.text import CharNgrams

DOCS = [
    "cordless drill 20v lithium ion drill driver kit",
    "porcelain floor tile 12 in. matte white",
    "deck over resurfacer paint gray",
    "brass cabinet knob 1-1/4 in.",
    "aluminum ladder 6 ft type ii",
    "white porcelain tile tile tile",
    "led flush mount ceiling light",
    "drill bit set titanium 21 piece",
    "",
    "oak stair tread 36 in.",
]
QUERIES = ["drill", "drill drill", "porcelin tile", "deckover", "zebra", "", "1-1/4 knob", "white tile tile", "#"]


def full_sort(s: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.int64]:
    ok = s > 0 if mask is None else (s > 0) & mask
    rows = np.flatnonzero(ok)
    return rows[np.lexsort((rows, -s[rows]))][:k]


@pytest.mark.parametrize("n", [1, 99, 100, 101, 54_667, 1_000_000])
@pytest.mark.parametrize("k", [1, 10, 100, 1000])
def test_sample_step_is_about_sqrt_n_over_k_and_caps_the_sample(n: int, k: int) -> None:
    step = topk.sample_step(n, k)
    assert step >= 1
    assert len(range(0, n, step)) <= topk.SAMPLE
    assert step >= int(np.sqrt(n / k))


@pytest.mark.parametrize("positive", [1.0, 0.56, 0.05, 0.002])
def test_top_k_at_catalog_size_matches_a_full_sort(positive: float) -> None:
    """54,667 rows as the Home Depot catalog, most of them positive as the character n-grams make
    them, with ties (few score levels), masks and every k a search asks for."""
    rng = np.random.default_rng(int(positive * 1000))
    n = 54_667
    s = np.where(rng.random(n) < positive, rng.integers(1, 300, n) / 300.0, 0.0).astype(np.float32)
    for mask in (None, rng.random(n) < 0.3):
        for k in (1, 10, 50, 100, 200, 5000):
            got = topk.top_k(s, k, mask)
            want = full_sort(s, k, mask)
            np.testing.assert_array_equal(got.ids, want)
            np.testing.assert_array_equal(got.scores, s[want])


@pytest.mark.parametrize("method", BM25_METHODS)
@pytest.mark.parametrize("chars", [False, True])
def test_fresh_scores_are_bm25s_get_scores_bit_for_bit(method: str, chars: bool) -> None:
    idx = BM25Index(BM25Config(method=method), CharNgrams(3) if chars else None).fit(DOCS)
    model = idx._model
    for q in QUERIES:
        toks = idx.tokenizer(q)
        want = np.asarray(model.get_scores(toks), dtype=np.float32) if toks else np.zeros(len(DOCS), dtype=np.float32)
        got = idx.fresh_scores(q)
        assert got.dtype == np.float32 and got.flags.writeable
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
        memo = idx.scores(q)
        np.testing.assert_array_equal(memo, want)
        assert idx.fresh_scores(q) is not memo and idx.scores(q) is memo  # fresh: never the memoised array


def test_fresh_scores_need_a_fitted_index() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        BM25Index().fresh_scores("drill")


@pytest.mark.parametrize("w", [0.5, 0.3, 0.0001])
def test_mix_in_place_is_the_copying_mix_bit_for_bit(w: float) -> None:
    rng = np.random.default_rng(int(w * 1e4) + 7)
    for hit_words, hit_chars in ((0.01, 0.6), (0.0, 0.6), (0.01, 0.0), (0.0, 0.0), (1.0, 1.0)):
        words = np.where(rng.random(5000) < hit_words, rng.random(5000) * 9, 0).astype(np.float32)
        chars = np.where(rng.random(5000) < hit_chars, rng.random(5000) * 30, 0).astype(np.float32)
        want = _mix(words, chars, w)
        own = chars.copy()
        got = _mix(words, own, w, in_place=True)
        assert got is own  # written where the character scores lay: no catalog-sized copy
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_score_parts_are_the_six_pass_formula_and_leave_the_word_memo_alone() -> None:
    idx = LexicalIndex().fit(DOCS)
    assert idx.chars is not None
    for q in QUERIES:
        words = idx.words.scores(q).copy()
        toks = idx.chars.tokenizer(q)
        chars = np.zeros(len(DOCS), dtype=np.float32)
        if toks:
            chars = np.asarray(idx.chars._model.get_scores(toks), dtype=np.float32)
        top_w, top_c = float(words.max()), float(chars.max())
        sw = words / top_w if top_w > 0 else words
        sc = chars / top_c if top_c > 0 else chars
        want = np.asarray(0.5 * sw + 0.5 * sc, dtype=np.float32)
        idx._last = None
        parts = idx.score_parts(q)
        np.testing.assert_array_equal(parts.mixed.view(np.int32), want.view(np.int32))
        np.testing.assert_array_equal(parts.words, words)
        assert not parts.mixed.flags.writeable and not parts.words.flags.writeable


def add_at_reference(
    n: int,
    data: npt.NDArray[np.floating],
    indices: npt.NDArray[np.integer],
    indptr: npt.NDArray[np.int64],
    terms: list[int],
) -> npt.NDArray[np.floating]:
    out = np.zeros(n, dtype=data.dtype)
    for t in terms:
        np.add.at(out, indices[indptr[t] : indptr[t + 1]], data[indptr[t] : indptr[t + 1]])
    return out


@pytest.mark.parametrize("float_type", [np.float32, np.float64])
@pytest.mark.parametrize("index_type", [np.int32, np.int64])
@pytest.mark.parametrize("compiled", [True, False])
def test_add_postings_is_add_at_term_by_term(
    float_type: type, index_type: type, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random postings (unique rows per term, as an index has), repeated and unordered terms: the
    same bits as ``np.add.at`` term by term, with scipy's compiled routine and without it."""
    if not compiled:
        monkeypatch.setattr(bm25_mod, "_CSC_MATVEC", None)
    rng = np.random.default_rng(1)
    n, vocab = 3000, 40
    cols = [np.sort(rng.choice(n, int(rng.integers(0, 900)), replace=False)) for _ in range(vocab)]
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
    indices = np.concatenate(cols).astype(index_type)
    data = (rng.random(len(indices)) * 7).astype(float_type)
    for terms in ([], [3], [5, 1, 5, 39, 0, 5], list(rng.integers(0, vocab, 30))):
        got = np.zeros(n, dtype=float_type)
        bm25_mod.add_postings(got, data, indices, indptr, [int(t) for t in terms])
        want = add_at_reference(n, data, indices, indptr, [int(t) for t in terms])
        np.testing.assert_array_equal(got, want)
        assert got.tobytes() == want.tobytes()


def test_add_postings_falls_back_on_arrays_it_would_copy() -> None:
    """A strided postings array or a score dtype unlike the data's: np.add.at, same sums."""
    rng = np.random.default_rng(2)
    indices = np.arange(0, 200, dtype=np.int32)
    data = rng.random(400).astype(np.float32)[::2]  # not contiguous
    indptr = np.array([0, 120, 200], dtype=np.int64)
    got = np.zeros(200, dtype=np.float32)
    bm25_mod.add_postings(got, data, indices, indptr, [1, 0, 1])
    np.testing.assert_array_equal(got, add_at_reference(200, data, indices, indptr, [1, 0, 1]))
    wide = np.zeros(200, dtype=np.float64)
    bm25_mod.add_postings(wide, np.ascontiguousarray(data), indices, indptr, [0])
    np.testing.assert_array_equal(wide[:120], data[:120].astype(np.float64))


@pytest.mark.parametrize("method", ["lucene", "bm25+"])
def test_fresh_scores_without_the_compiled_routine_are_get_scores_too(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bm25_mod, "_CSC_MATVEC", None)
    idx = BM25Index(BM25Config(method=method), CharNgrams(3)).fit(DOCS)
    for q in QUERIES:
        toks = idx.tokenizer(q)
        if toks:
            want = np.asarray(idx._model.get_scores(toks), dtype=np.float32)
            np.testing.assert_array_equal(idx.fresh_scores(q).view(np.int32), want.view(np.int32))


def test_a_fitted_index_takes_the_compiled_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built and reloaded indexes hold arrays the compiled routine reads as they are (no fallback)."""
    calls: list[int] = []
    real = bm25_mod._CSC_MATVEC
    assert real is not None

    def counted(*args: object) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(bm25_mod, "_CSC_MATVEC", counted)
    idx = BM25Index().fit(DOCS)
    idx.fresh_scores("drill tile")
    assert len(calls) == 2


def test_few_eligible_rows_get_a_denser_threshold_sample() -> None:
    """A 1% filter: the sqrt(n / k)-strided sample holds fewer than k allowed rows, so the rows are
    sampled again, denser (still a lower bound of the k-th best allowed score), instead of keeping
    every positive row as candidates."""
    rng = np.random.default_rng(9)
    n, k = 200_000, 100
    s = rng.random(n).astype(np.float32)
    mask = rng.random(n) < 0.01
    first = s[:: topk.sample_step(n, k)][mask[:: topk.sample_step(n, k)]]
    assert len(first) < k
    thr = topk._threshold(s, k, mask, None)
    assert thr is not None and thr <= np.sort(s[mask])[-k]
    got = topk.top_k(s, k, mask)
    np.testing.assert_array_equal(got.ids, full_sort(s, k, mask))


def test_add_postings_falls_back_when_offsets_outgrow_the_row_id_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """int32 row ids with postings past 2**31 (the offsets would not fit the routine's int32 column
    pointers): np.add.at."""

    def refuse(*args: object) -> None:
        raise AssertionError("compiled routine called with offsets past int32")

    monkeypatch.setattr(bm25_mod, "_CSC_MATVEC", refuse)
    indices = np.array([4, 1, 3], dtype=np.int32)
    data = np.array([0.5, 2.0, 1.25], dtype=np.float32)
    indptr = np.array([0, 3, 2**31 + 5], dtype=np.int64)  # a second term that is never asked for
    got = np.zeros(6, dtype=np.float32)
    bm25_mod.add_postings(got, data, indices, indptr, [0, 0])
    np.testing.assert_array_equal(got, [0, 4.0, 0, 2.5, 1.0, 0])
