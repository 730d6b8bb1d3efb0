"""Title features of the LTR reranker beyond bag-of-words (bigram order, character trigrams)."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.index.text import Tokenizer
from shelfwise.rank import FeatureExtractor
from shelfwise.results import Results


def test_bigram_and_char3_features_reward_order_and_survive_misspellings() -> None:
    """``bigram_match``: share of the query's adjacent term pairs adjacent in the title (order counts);
    ``char3_match``: share of the query's character trigrams in the title, so a misspelt query word
    still scores against the right title where the word match is zero."""

    titles = ["white porcelain floor tile", "tile floor porcelain white", "oak shelf bracket"]
    cat = Catalog([Product(id=f"x{i}", title=t) for i, t in enumerate(titles)])
    ex = FeatureExtractor(cat, Tokenizer())
    hits = Results(np.arange(3), np.array([3.0, 2.0, 1.0], dtype=np.float32))
    hits = hits.with_features(bm25=np.zeros(3), lexical=np.zeros(3), cosine=np.zeros(3))
    col = {n: i for i, n in enumerate(ex.names)}

    x = ex.features("porcelain floor tile", hits)
    assert x[0, col["bigram_match"]] == 1.0  # "porcelain floor", "floor tile" both adjacent, in order
    assert x[1, col["bigram_match"]] == 0.0  # same words, reversed order
    assert x[0, col["title_match"]] == x[1, col["title_match"]] == 1.0
    assert x[0, col["char3_match"]] == 1.0 and x[2, col["char3_match"]] < 0.2

    typo = ex.features("porcelin tile", hits)
    assert typo[0, col["title_match"]] == 0.5  # the misspelt word matches no title term
    assert typo[0, col["char3_match"]] > 0.6 > typo[2, col["char3_match"]]
    assert typo[:, col["bigram_match"]].tolist() == [0.0, 0.0, 0.0]
    assert ex.features("tile", hits)[:, col["bigram_match"]].tolist() == [0.0, 0.0, 0.0]  # no pair to match
