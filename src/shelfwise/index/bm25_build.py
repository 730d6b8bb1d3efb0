"""Build a ``bm25s`` index from token ids with a small memory peak.

``bm25s.BM25.index`` walks the documents one at a time in Python, keeps three flat arrays
(score, document, term) of every posting and then sorts them into a CSC matrix with int64
keys and an int64 argsort: about 40 bytes per posting on top of the 8 the finished index
keeps. For a million products' character trigrams (~85M postings) that is ~3 GB for a
moment. :func:`index_token_ids` fills the same model from :class:`TokenIds` in two passes
over blocks of documents (document frequencies, then scores scattered straight into the
final arrays), so the build peak is the token ids plus the finished index. The arrays are
bit for bit those of ``bm25s.BM25.index(Tokenized(ids, vocab))`` (tested): the same bm25s
idf / term-frequency functions on the same float dtypes, the postings of each term in
document order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


class TokenIds(Sequence[list[int]]):
    """Documents as token ids: int32 blocks of whole documents plus offsets; item ``i`` is a
    list (what bm25s iterates). ``vocab`` maps each token to its id in first-seen order.

    A block ends after ``chunk`` documents or once it holds ``block_tokens`` tokens, so the
    blocks are never copied into one array (``ids`` joins them on demand)."""

    def __init__(self, parts: list[npt.NDArray[np.int32]], starts: IntArray, offsets: IntArray, vocab: dict[str, int]):
        self.parts, self.starts, self.offsets, self.vocab = parts, starts, offsets, vocab

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        analyser: Callable[[str], list[str]],
        chunk: int = 20_000,
        block_tokens: int = 1 << 21,
    ) -> TokenIds:
        vocab: dict[str, int] = {}
        parts: list[npt.NDArray[np.int32]] = []
        starts: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        flat: list[int] = []
        first = 0
        for i, text in enumerate(texts):
            toks = analyser(text)
            lengths[i] = len(toks)
            flat.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            if i + 1 - first >= chunk or len(flat) >= block_tokens or i + 1 == len(texts):
                parts.append(np.asarray(flat, dtype=np.int32))
                starts.append(first)
                flat, first = [], i + 1
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(parts, np.asarray(starts, dtype=np.int64), offsets, vocab)

    @property
    def ids(self) -> npt.NDArray[np.int32]:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int32)

    def blocks(self) -> Iterator[tuple[int, IntArray, npt.NDArray[np.int32]]]:
        """``(first document, token count per document, token ids)`` of each block."""
        bounds = [*self.starts.tolist(), len(self)]
        for b, part in enumerate(self.parts):
            yield bounds[b], np.diff(self.offsets[bounds[b] : bounds[b + 1] + 1]), part

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> list[int]:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        b = int(np.searchsorted(self.starts, i, side="right")) - 1
        base = int(self.offsets[self.starts[b]])
        return list(self.parts[b][self.offsets[i] - base : self.offsets[i + 1] - base].tolist())

    def __iter__(self) -> Iterator[list[int]]:
        for _, lengths, part in self.blocks():
            ends = np.cumsum(lengths).tolist()
            for s, e in zip([0, *ends[:-1]], ends, strict=True):
                yield part[s:e].tolist()


def _pairs(lengths: IntArray, part: npt.NDArray[np.int32]) -> tuple[IntArray, IntArray, IntArray]:
    """``(term, document within the block, term frequency)`` of each distinct (document, term)
    pair of a block, ordered by term, then document."""
    nd = len(lengths)
    key = part.astype(np.int64) * nd + np.repeat(np.arange(nd, dtype=np.int64), lengths)
    key, tf = np.unique(key, return_counts=True)
    return key // nd, key % nd, tf


_MODEL_ATTRS = ("k1", "b", "delta", "method", "idf_method", "dtype", "int_dtype", "methods_requiring_nonoccurrence")
_SCORING = ("_build_idf_array", "_build_nonoccurrence_array", "_select_idf_scorer", "_select_tfc_scorer")


def lean_supported(model: Any = None) -> bool:
    """Whether :func:`index_token_ids` can build ``model`` (else the caller uses bm25s's own ``index``):
    numpy 2, whose promotion rules (NEP 50) make the block-wise float arithmetic match bm25s's
    per-document scalar arithmetic exactly, and a bm25s with the parameters and scoring functions used."""
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        return False
    from bm25s import scoring

    return all(hasattr(scoring, f) for f in _SCORING) and (
        model is None or all(hasattr(model, a) for a in _MODEL_ATTRS)
    )


def index_token_ids(model: Any, docs: TokenIds) -> None:
    """Set ``model`` (an unfitted ``bm25s.BM25``) as ``model.index(Tokenized(ids=docs, vocab=docs.vocab))``
    would, adding the empty token to ``docs.vocab`` as it does."""
    from bm25s import scoring

    n_docs, vocab = len(docs), docs.vocab
    n_vocab = len(vocab)
    avg_doc_len = np.diff(docs.offsets).mean()  # what bm25s computes: int64 lengths, mean in float64
    df = np.zeros(n_vocab, dtype=np.int64)
    for _, lengths, part in docs.blocks():
        df += np.bincount(_pairs(lengths, part)[0], minlength=n_vocab)
    doc_frequencies = dict(enumerate(df.tolist()))
    idf = scoring._build_idf_array(doc_frequencies, n_docs, scoring._select_idf_scorer(model.idf_method), model.dtype)
    tfc_fn = scoring._select_tfc_scorer(model.method)
    nonocc = None
    if model.method in model.methods_requiring_nonoccurrence:
        nonocc = scoring._build_nonoccurrence_array(
            doc_frequencies=doc_frequencies,
            n_docs=n_docs,
            compute_idf_fn=scoring._select_idf_scorer(model.idf_method),
            calculate_tfc_fn=tfc_fn,
            l_d=avg_doc_len,
            l_avg=avg_doc_len,
            k1=model.k1,
            b=model.b,
            delta=model.delta,
            dtype=model.dtype,
        )
    del doc_frequencies
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    heads = indptr[:-1].copy()  # next free slot of each term's postings
    data = np.empty(int(indptr[-1]), dtype=model.dtype)
    indices = np.empty(int(indptr[-1]), dtype=model.int_dtype)
    for first, lengths, part in docs.blocks():
        term, doc, tf = _pairs(lengths, part)
        tfc = tfc_fn(
            tf_array=tf.astype(model.dtype),
            l_d=lengths[doc],
            l_avg=avg_doc_len,
            k1=model.k1,
            b=model.b,
            delta=model.delta,
        )
        scores = idf[term] * tfc
        if nonocc is not None:
            scores -= nonocc[term]
        uniq, start, count = np.unique(term, return_index=True, return_counts=True)
        dest = heads[term] + (np.arange(len(term)) - np.repeat(start, count))
        heads[uniq] += count
        data[dest] = scores
        indices[dest] = doc + first
    model.nonoccurrence_array = nonocc
    model.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    if "" not in vocab:
        vocab[""] = max(vocab.values()) + 1
    model.vocab_dict = vocab
    model.unique_token_ids_set = set(vocab.values())
