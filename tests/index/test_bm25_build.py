"""The block-wise build (``index_token_ids``) sets exactly the arrays bm25s's own ``index`` builds."""

from typing import Any

import numpy as np
import pytest

from shelfwise.index.bm25 import BM25Config, BM25Index
from shelfwise.index.bm25_build import TokenIds, index_token_ids, lean_supported
from shelfwise.index.text import CharNgrams, Tokenizer
from tiny_products import PRODUCTS

TEXTS = [f"{t}. {b}. {d}" for _, t, d, _, b, _, _ in PRODUCTS] + [
    "deckover 1-gal. tugboat deck deck deck",
    "porcelain tile 12x12 tile",
    "",
    "aluminum ladder 6 ft",
    "the of and",  # stop words only: no word token
    "drill drill drill drill drill",
]
QUERIES = ["porcelin tile", "deck over", "aluminun ladder", "black dress", "zzz", "tile tile 12", "drill"]
METHODS = ["lucene", "robertson", "atire", "bm25l", "bm25+"]

pytestmark = pytest.mark.skipif(not lean_supported(), reason="numpy 1: bm25s builds the index itself")


def _models(analyser: Tokenizer | CharNgrams, method: str, **blocks: int) -> tuple[Any, Any]:
    import bm25s

    cfg = BM25Config(method=method)
    old, new = (bm25s.BM25(k1=cfg.k1, b=cfg.b, method=method) for _ in range(2))
    ref_docs = TokenIds.build(TEXTS, analyser)
    old.index(bm25s.tokenization.Tokenized(ids=ref_docs, vocab=ref_docs.vocab), show_progress=False)
    index_token_ids(new, TokenIds.build(TEXTS, analyser, **blocks))
    return old, new


@pytest.mark.parametrize("analyser", [Tokenizer(), CharNgrams(3)])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("blocks", [{}, {"chunk": 2}, {"chunk": 5, "block_tokens": 7}])
def test_arrays_identical_to_bm25s_index(analyser: Tokenizer | CharNgrams, method: str, blocks: dict[str, int]) -> None:
    old, new = _models(analyser, method, **blocks)
    assert set(vars(old)) == set(vars(new))
    for key in ("data", "indices", "indptr"):
        a, b = old.scores[key], new.scores[key]
        assert a.dtype == b.dtype and np.array_equal(a, b), key
    assert old.scores["num_docs"] == new.scores["num_docs"] == len(TEXTS)
    assert old.vocab_dict == new.vocab_dict and old.unique_token_ids_set == new.unique_token_ids_set
    if old.nonoccurrence_array is None:
        assert new.nonoccurrence_array is None
    else:
        assert old.nonoccurrence_array.dtype == new.nonoccurrence_array.dtype
        assert np.array_equal(old.nonoccurrence_array, new.nonoccurrence_array)
    for q in QUERIES:
        toks = [t for t in analyser(q) if t in old.vocab_dict]
        if toks:
            assert np.array_equal(old.get_scores(toks), new.get_scores(toks)), q


@pytest.mark.parametrize("method", ["lucene", "bm25+"])
def test_fit_scores_identical_to_token_list_fit(method: str) -> None:
    import bm25s

    for analyser in (Tokenizer(), CharNgrams(3)):
        cfg = BM25Config(method=method)
        ref = bm25s.BM25(k1=cfg.k1, b=cfg.b, method=method)
        ref.index([analyser(t) for t in TEXTS], show_progress=False)
        idx = BM25Index(cfg, analyser).fit(TEXTS)
        for q in QUERIES:
            toks = analyser(q)
            want = np.zeros(len(TEXTS), np.float32) if not toks else np.asarray(ref.get_scores(toks), np.float32)
            assert np.array_equal(idx.scores(q), want), q


def test_blocks_cover_every_document() -> None:
    docs = TokenIds.build(["drill saw drill", "", "saw tile", "tile", "a b c d e f"], Tokenizer(), block_tokens=3)
    seen = [(first, lengths.tolist(), part.tolist()) for first, lengths, part in docs.blocks()]
    assert [s[0] for s in seen] == docs.starts.tolist()
    assert sum(len(s[1]) for s in seen) == len(docs) == 5
    assert list(docs) == [docs[i] for i in range(len(docs))]
    assert docs.ids.tolist() == [t for d in docs for t in d]


def test_load_takes_the_doc_count_from_the_model(tmp_path: Any) -> None:
    """A hand-edited or stale ``n_docs`` in shelfwise_bm25.json cannot make the compiled postings path
    write past its array: the count is the model's own."""
    import json

    BM25Index().fit(TEXTS).save(tmp_path)
    meta_file = tmp_path / "shelfwise_bm25.json"
    meta = json.loads(meta_file.read_text())
    meta["n_docs"] = 3
    meta_file.write_text(json.dumps(meta))
    idx = BM25Index.load(tmp_path)
    assert idx.n_docs == len(TEXTS)
    assert idx.fresh_scores("tile").shape == (len(TEXTS),)
