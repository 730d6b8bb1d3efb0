"""BM25 lexical index on top of ``bm25s`` (Lù, 2024, "BM25S: Orders of magnitude faster
lexical search via eager sparse scoring"); Robertson & Zaragoza, 2009, for BM25 itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError
from shelfwise.index.bm25_build import TokenIds, index_token_ids, lean_supported
from shelfwise.index.text import CharNgrams, Tokenizer
from shelfwise.index.topk import top_k
from shelfwise.memory import release_memory
from shelfwise.results import Results

BM25_METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
Analyser = Tokenizer | CharNgrams


def analyser_to_json(a: Analyser) -> dict[str, Any]:
    return {"kind": "chars" if isinstance(a, CharNgrams) else "words", **asdict(a)}


def analyser_from_json(raw: dict[str, Any]) -> Analyser:
    fields = {k: v for k, v in raw.items() if k != "kind"}
    return CharNgrams.from_saved(fields) if raw.get("kind") == "chars" else Tokenizer.from_saved(fields)


@dataclass(frozen=True)
class BM25Config:
    """BM25 parameters. Defaults k1 0.9, b 0.4: Anserini's defaults (Lin et al., 2016, "Toward
    Reproducible Baselines: The Open-Source IR Reproducibility Challenge"), weaker length
    normalisation than the textbook 1.2 / 0.75, which suits short product titles. Measured on real
    shopper queries with every other default unchanged (``bench/bench_chinese.py``,
    ``results/chinese.json``): hybrid NDCG@10 on full Home Depot 0.419 vs 0.411 (x1.020, 95% CI
    [1.015, 1.024]), Home Depot dev_1k 0.611 vs 0.610, Taobao 0.903 vs 0.900. Saved indexes keep the
    values they were built with (``lexical.json``)."""

    k1: float = 0.9
    b: float = 0.4
    method: str = "lucene"

    def __post_init__(self) -> None:
        if self.k1 < 0 or not 0.0 <= self.b <= 1.0:
            raise ValueError("BM25Config: need k1 >= 0 and 0 <= b <= 1")
        if self.method not in BM25_METHODS:
            raise ValueError(f"BM25Config.method must be one of {BM25_METHODS}")


def _sparse_matvec() -> Callable[..., None] | None:
    """scipy's compiled CSC matrix-vector product (``y += A x``), or None where this scipy lacks it."""
    try:
        from scipy.sparse import _sparsetools
    except ImportError:  # pragma: no cover - scipy is a core dependency
        return None
    fn = getattr(_sparsetools, "csc_matvec", None)
    return fn if callable(fn) else None


_CSC_MATVEC = _sparse_matvec()


def add_postings(
    acc: npt.NDArray[np.floating],
    data: npt.NDArray[np.floating],
    indices: npt.NDArray[np.integer],
    indptr: npt.NDArray[np.integer],
    terms: list[int],
) -> None:
    """``acc[indices[p]] += data[p]`` for every posting ``p`` of each term in ``terms`` (postings of term
    ``t``: ``indptr[t]:indptr[t + 1]``), term by term in the given order, repeats included: the float
    additions ``np.add.at`` makes term by term (bm25s's scoring loop), so the same sums bit for bit.

    Each term is one call of scipy's compiled CSC matrix-vector product over that term's column
    (``y[i] += a * x`` with ``x = 1``: ``a * 1`` is ``a`` exactly), which skips ``np.add.at``'s
    per-element dispatch. Measured only together with the session's other lexical work: the word +
    character scoring of a Home Depot query 0.31 -> 0.21 ms p50 (``search_hotpath_s10d.json``,
    "lexical score_parts", load 2.0-2.8); not timed alone in a kept result. Only when every array is
    C-contiguous with the dtypes the routine takes as they are (it would convert, i.e. copy, others)
    and every posting offset fits the row ids' integer type; ``np.add.at`` otherwise."""
    if not terms:
        return
    starts, ends = indptr[terms].tolist(), indptr[np.add(terms, 1)].tolist()
    fast = (
        _CSC_MATVEC is not None
        and acc.dtype == data.dtype
        and acc.dtype in (np.float32, np.float64)
        and indices.dtype in (np.int32, np.int64)
        and int(indptr[-1]) <= np.iinfo(indices.dtype).max  # column offsets are passed in indices' type
        and all(a.flags.c_contiguous for a in (acc, data, indices))
    )
    if not fast:
        for a, b in zip(starts, ends, strict=True):
            np.add.at(acc, indices[a:b], data[a:b])
        return
    assert _CSC_MATVEC is not None
    one = np.ones(1, dtype=acc.dtype)
    col = np.empty(2, dtype=indices.dtype)  # this column's [start, end) in indices / data
    for a, b in zip(starts, ends, strict=True):
        col[0], col[1] = a, b
        _CSC_MATVEC(len(acc), 1, col, indices, data, one, acc)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:
        raise MissingExtraError("bm25s", "search") from exc
    return bm25s


class BM25Index:
    """``fit`` on document texts; ``scores``/``retrieve`` for a query; ``save``/``load`` a folder."""

    def __init__(self, config: BM25Config | None = None, tokenizer: Analyser | None = None) -> None:
        self.config = config or BM25Config()
        self.tokenizer = tokenizer or Tokenizer()
        self._model: Any = None
        self.n_docs = 0
        self._last: tuple[str, npt.NDArray[np.float32]] | None = None

    def fit(self, texts: Sequence[str], *, progress: bool = False) -> BM25Index:
        """Index ``texts``. Tokens become int32 ids as they are produced (blocks of a flat array,
        not a list of Python strings per document), so a million titles with their character
        n-grams fit in a few hundred MB; the score matrix is then built from them block by block
        (:func:`shelfwise.index.bm25_build.index_token_ids`: the arrays ``bm25s`` builds, without
        its per-posting copies). Same scores as handing bm25s the token lists (only the
        vocabulary's id order differs)."""
        bm25s = _bm25s()
        docs = TokenIds.build(texts, self.tokenizer)
        self._model = bm25s.BM25(k1=self.config.k1, b=self.config.b, method=self.config.method)
        if not docs.vocab:  # no document has a term (e.g. CJK-only titles for the Latin n-grams)
            with np.errstate(invalid="ignore", divide="ignore"):  # bm25s divides by a 0 mean length
                empty = bm25s.tokenization.Tokenized(ids=[[] for _ in texts], vocab={"\x00": 0})
                self._model.index(empty, show_progress=False)  # a sentinel term bm25s needs; scores 0
        elif lean_supported(self._model):
            index_token_ids(self._model, docs)
        else:  # numpy 1: bm25s's own build
            self._model.index(bm25s.tokenization.Tokenized(ids=docs, vocab=docs.vocab), show_progress=progress)
        del docs
        release_memory(collect=False)  # the token ids and build temporaries: back to the OS
        self.n_docs = len(texts)
        self._last = None
        return self

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """BM25 score of every document for ``query`` (zeros when no term matches); read-only.

        The last query's scores are memoised: first-stage fusion and the reranker's features both
        need them within one search."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        last = self._last
        if last is not None and last[0] == query:
            return last[1]
        out = self.fresh_scores(query)
        out.flags.writeable = False
        self._last = (query, out)  # one atomic assignment: safe across request threads
        return out

    def fresh_scores(self, query: str) -> npt.NDArray[np.float32]:
        """:meth:`scores` as a new, writable array of the caller's own (not memoised): a caller that
        scales it in place (:class:`~shelfwise.index.lexical.LexicalIndex`) saves a catalog-sized copy.

        The sum bm25s's ``get_scores`` computes (``np.add.at`` of each query term's postings, in
        query order: the same float32 additions per document), without its per-call checks."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        model = self._model
        vocab = model.vocab_dict
        ids = [vocab[t] for t in self.tokenizer(query) if t in vocab]
        acc = np.zeros(self.n_docs, dtype=np.dtype(model.dtype))  # bm25s's score dtype (float32 unless set)
        if ids:
            add_postings(acc, model.scores["data"], model.scores["indices"], model.scores["indptr"], ids)
            if model.nonoccurrence_array is not None:  # bm25l / bm25+: the absent terms' share, as bm25s adds it
                acc += model.nonoccurrence_array[np.asarray(ids, dtype=model.int_dtype)].sum()
        return acc if acc.dtype == np.float32 else acc.astype(np.float32)

    def retrieve(self, query: str, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        return top_k(self.scores(query), k, mask)

    def doc_freq(self, text: str) -> list[int]:
        """Documents holding each of ``text``'s terms (as the analyser cuts it; 0 for a term no document
        has), from the postings: no scoring pass over the catalog."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        vocab, indptr = self._model.vocab_dict, self._model.scores["indptr"]
        return [int(indptr[vocab[t] + 1] - indptr[vocab[t]]) if t in vocab else 0 for t in self.tokenizer(text)]

    def holding(self, term: str) -> npt.NDArray[np.int64]:
        """The documents (sorted row ids) holding the analysed ``term`` (not cut again; none when no
        document has it), read from the postings: a copy, sorted only where they are not already (as
        this index builds them: the check costs less than a sort, bench/bench_search_total.py,
        search_total_s18.json, load 2-2.9 on a shared machine: p50 17 -> 5 us a term at 294,180
        products, 1.7 -> 2.2 us at 54,667, where postings are short)."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        i = self._model.vocab_dict.get(term)
        if i is None:
            return np.zeros(0, dtype=np.int64)
        indptr = self._model.scores["indptr"]
        post = np.array(self._model.scores["indices"][indptr[i] : indptr[i + 1]], dtype=np.int64)
        if len(post) > 1 and not bool((post[1:] > post[:-1]).all()):  # a folder another build wrote
            post.sort()
        return post

    def holds(self, term: str, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of ``rows`` hold the analysed ``term`` (not cut again), from its postings: a binary
        search of each row where they are sorted (as this index builds them), else a set test."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        i = self._model.vocab_dict.get(term)
        rows = np.asarray(rows, dtype=np.int64)
        indptr = self._model.scores["indptr"]
        post = self._model.scores["indices"][indptr[i] : indptr[i + 1]] if i is not None else rows[:0]
        if not len(post) or not len(rows):
            return np.zeros(len(rows), dtype=bool)
        if len(post) > 1 and not bool((post[1:] > post[:-1]).all()):  # a folder another build wrote
            return np.isin(rows, post)
        at = np.minimum(np.searchsorted(post, rows), len(post) - 1)
        return np.asarray(post[at] == rows)

    def terms(self) -> Iterable[str]:
        """The index's vocabulary (every term some document holds)."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        return iter(self._model.vocab_dict)

    def term_doc_freq(self, term: str) -> int:
        """Documents holding the one term ``term`` (not cut by the analyser; 0 when none does)."""
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        i = self._model.vocab_dict.get(term)
        indptr = self._model.scores["indptr"]
        return 0 if i is None else int(indptr[i + 1] - indptr[i])

    def save(self, path: str | Path) -> None:
        if self._model is None:
            raise RuntimeError("BM25Index is not fitted")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self._model.save(str(p), show_progress=False)
        meta = {"config": asdict(self.config), "analyser": analyser_to_json(self.tokenizer), "n_docs": self.n_docs}
        (p / "shelfwise_bm25.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | Path) -> BM25Index:
        bm25s = _bm25s()
        p = Path(path)
        meta = json.loads((p / "shelfwise_bm25.json").read_text())
        # "tokenizer": folders written before analysers had a kind (word tokenizer only)
        raw = meta["analyser"] if "analyser" in meta else {"kind": "words", **meta["tokenizer"]}
        analyser = analyser_from_json(raw)
        obj = cls(BM25Config(**meta["config"]), analyser)
        obj._model = bm25s.BM25.load(str(p), load_corpus=False)
        obj.n_docs = int(obj._model.scores["num_docs"])  # the model's own count (the JSON's may be stale)
        indices = np.asarray(obj._model.scores["indices"])
        if indices.size and (int(indices.max()) >= obj.n_docs or int(indices.min()) < 0):
            raise ValueError(
                f"{p}: the BM25 model's postings point at row {int(indices.max())} of {obj.n_docs} documents: "
                "the folder is inconsistent; rebuild the index"
            )
        return obj
