"""The id-array fit gives bm25s exactly the scores of the token-list fit it replaced."""

import numpy as np
import pytest

from shelfwise.index.bm25 import BM25Config, BM25Index, TokenIds
from shelfwise.index.lexical import LexicalIndex
from shelfwise.index.text import CharNgrams, Tokenizer
from tiny_products import PRODUCTS

TEXTS = [f"{t}. {b}. {d}" for _, t, d, _, b, _, _ in PRODUCTS] + [
    "deckover 1-gal. tugboat",
    "porcelain tile 12x12",
    "",
    "aluminum ladder 6 ft",
]
QUERIES = ["porcelin tile", "deck over", "aluminun ladder", "black dress", "zzz", "", "tile tile 12"]


@pytest.mark.parametrize("analyser", [Tokenizer(), CharNgrams(3)])
@pytest.mark.parametrize("method", ["lucene", "bm25+"])
def test_scores_identical_to_token_list_fit(analyser: Tokenizer | CharNgrams, method: str) -> None:
    import bm25s

    cfg = BM25Config(method=method)
    new = BM25Index(cfg, analyser).fit(TEXTS)
    ref = bm25s.BM25(k1=cfg.k1, b=cfg.b, method=method)
    ref.index([analyser(t) for t in TEXTS], show_progress=False)
    for q in QUERIES:
        toks = analyser(q)
        want = np.zeros(len(TEXTS), np.float32) if not toks else np.asarray(ref.get_scores(toks), np.float32)
        assert np.array_equal(new.scores(q), want), q


def test_lexical_results_unchanged_after_roundtrip(tmp_path: object) -> None:
    from pathlib import Path

    lex = LexicalIndex().fit(TEXTS)
    folder = Path(str(tmp_path)) / "lex"
    lex.save(folder)
    again = LexicalIndex.load(folder)
    for q in QUERIES:
        assert np.array_equal(lex.scores(q), again.scores(q))
        assert lex.retrieve(q, 5).ids.tolist() == again.retrieve(q, 5).ids.tolist()


def test_token_ids_sequence() -> None:
    docs = TokenIds.build(["drill saw drill", "", "saw tile"], Tokenizer(), chunk=2)
    assert len(docs) == 3 and list(docs) == [[0, 1, 0], [], [1, 2]]
    assert docs[2] == [1, 2] and docs[-1] == [1, 2] and docs.vocab == {"drill": 0, "saw": 1, "tile": 2}
    with pytest.raises(IndexError):
        docs[3]
