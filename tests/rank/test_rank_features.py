"""Title features of the LTR reranker beyond bag-of-words (bigram order, character trigrams)."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Product
from shelfwise.index.text import CharNgrams, Tokenizer
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


def _set_based_matches(titles: list[str], cats: list[str], attrs: list[str], query: str, tok: Tokenizer) -> np.ndarray:
    """The title / field features as the extractor computed them from per-product strings and
    string sets before it kept term ids and one UTF-8 buffer: columns title, category, attribute,
    all_terms_matched, bigram_match, char3_match."""
    from itertools import pairwise

    chars = CharNgrams(3)
    terms = tok(query)
    qtok, qbig, qgrams = set(terms), set(pairwise(terms)), set(chars(query))
    out = np.zeros((len(titles), 6), dtype=np.float32)
    for j, (title, cat, attr) in enumerate(zip(titles, cats, attrs, strict=True)):
        tterms = tuple(tok(title))
        if qtok:
            seen = qtok.intersection(tterms)
            out[j, 0] = len(seen) / len(qtok)
            for col, text in ((1, cat), (2, attr)):
                hit = qtok & frozenset(tok(text))
                out[j, col] = len(hit) / len(qtok)
                seen |= hit
            out[j, 3] = float(len(seen) == len(qtok))
            if qbig:
                out[j, 4] = len(qbig.intersection(pairwise(tterms))) / len(qbig)
        if qgrams:
            joined = chars.joined(title)
            out[j, 5] = sum(g in joined for g in qgrams) / len(qgrams)
    return out


def test_compact_title_store_gives_the_string_set_features() -> None:
    """Term ids and one UTF-8 buffer (not a tuple of strings and a string per product) give the
    same features, bit for bit: query terms outside every title, repeated terms, accents, Chinese."""
    from shelfwise.rank.features import ALL_FEATURE_NAMES

    rows = [
        ("white porcelain floor tile", "Tiles > Floor", "white gloss"),
        ("tile floor porcelain white white", "Tiles", "white"),
        ("Café crème mug, 2-pack", "Kitchen > Mugs", "cream ceramic"),
        ("不锈钢 保温杯 500ml", "厨房 > 杯子", "银色"),
        ("oak shelf bracket", "Hardware", "oak brown"),
        ("a", "", ""),
    ]
    titles, cats, attrs = (list(c) for c in zip(*rows, strict=True))
    cat = Catalog(
        [
            Product(id=f"x{i}", title=t, category=tuple(c.split(" > ")) if c else (), attributes={"a": a})
            for i, (t, c, a) in enumerate(rows)
        ]
    )
    tok = Tokenizer()
    ex = FeatureExtractor(cat, tok, names=ALL_FEATURE_NAMES)
    order = np.array([3, 0, 5, 1, 4, 2])
    hits = Results(order, np.linspace(1, 0, 6).astype(np.float32))
    hits = hits.with_features(bm25=np.zeros(6), lexical=np.zeros(6), cosine=np.zeros(6))
    cols = [ex.names.index(n) for n in ("title_match", "category_match", "attribute_match")]
    cols += [ex.names.index(n) for n in ("all_terms_matched", "bigram_match", "char3_match")]
    queries = [
        "white floor tile",
        "porcelin tile",
        "floor white",
        "cafe creme mug",
        "保温杯 不锈钢",
        "oak zebra",
        "the",
        "",
    ]
    queries += ["tile floor porcelain white", "white white tile", "crème", "kitchen mug"]
    for q in queries:
        want = _set_based_matches(
            [titles[r] for r in order], [cats[r] for r in order], [attrs[r] for r in order], q, tok
        )
        np.testing.assert_array_equal(ex.features(q, hits)[:, cols], want, err_msg=q)
    assert ex._title_chars[2] == CharNgrams(3).joined("Café crème mug, 2-pack")
    assert len(ex._title_terms) == len(ex._title_chars) == len(cat)
