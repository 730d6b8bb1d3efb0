"""Lexical peers run beside Shelfwise in the same evaluation, so every figure has its baseline.

* ``bm25s``: plain bm25s as its README shows it (Lù, 2024): ``bm25s.tokenize`` with English stop
  words and the English Snowball stemmer, default BM25 (Lucene variant, k1 1.5, b 0.75).
* ``bm25s-char``: BM25 over character unigrams + bigrams of the text with whitespace removed, the
  classic dictionary-free Chinese IR baseline (Kwok, 1997), a few lines with bm25s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import MissingExtraError
from shelfwise.eval.judgments import SearchFn

PEERS = ("bm25s", "bm25s-char")


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:
        raise MissingExtraError("bm25s", "search") from exc
    return bm25s


def char_unigrams_bigrams(text: str) -> list[str]:
    s = "".join(text.split())
    return [*s, *(s[i : i + 2] for i in range(len(s) - 1))]


class LexicalPeer:
    """``fit`` on the catalog's texts, then ``scores(query)`` over every product."""

    def __init__(self, name: str) -> None:
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}; choose from {PEERS}")
        self.name = name
        self._model: Any = None
        self._vocab: dict[str, int] = {}
        self._stemmer: Any = None
        self.n_docs = 0

    def fit(self, texts: Sequence[str]) -> LexicalPeer:
        bm25s = _bm25s()
        self._model = bm25s.BM25()
        if self.name == "bm25s":
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
            tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=self._stemmer, show_progress=False)
            self._vocab = dict(tokens.vocab)
            self._model.index(tokens, show_progress=False)
        else:
            self._model.index([char_unigrams_bigrams(t) for t in texts], show_progress=False)
        self.n_docs = len(texts)
        return self

    def _query_tokens(self, query: str) -> list[str]:
        if self.name == "bm25s-char":
            return char_unigrams_bigrams(query)
        bm25s = _bm25s()
        toks = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False, return_ids=False)
        return [t for t in toks[0] if t in self._vocab]

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        if self._model is None:
            raise RuntimeError("peer is not fitted")
        toks = self._query_tokens(query)
        if not toks:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores(toks), dtype=np.float32)


def peer_fn(peer: LexicalPeer, catalog: Catalog) -> SearchFn:
    """Adapt a peer to the ``(query, n) -> item ids`` function the evaluator expects (hits only)."""
    ids = catalog.ids

    def run(query: str, n: int) -> list[str]:
        s = peer.scores(query)
        hits = np.flatnonzero(s > 0)
        top = hits[np.argsort(-s[hits], kind="stable")[:n]]
        return [ids[i] for i in top.tolist()]

    return run


def build_peers(names: Sequence[str], catalog: Catalog) -> dict[str, Callable[[str, int], Sequence[str]]]:
    texts = catalog.texts()
    return {name: peer_fn(LexicalPeer(name).fit(texts), catalog) for name in names}
