"""Cheap query-product features for learning to rank over a first-stage candidate list.

Lexical (BM25), semantic (bi-encoder cosine), first-stage position, title matches and popularity:
the classic LTR feature families (Liu, 2009, "Learning to Rank for Information Retrieval", ch. 1;
LETOR feature sets). Two title features go past bag-of-words: ``bigram_match``, the share of the
query's adjacent term pairs found adjacent in the title (the ordered-window term of Metzler & Croft,
2005, "A Markov Random Field Model for Term Dependencies"), and ``char3_match``, the share of the
query's character trigrams found in the title, which survives misspellings ("porcelin") the word
match misses (McNamee & Mayfield, 2004, "Character N-Gram Tokenization for European Language Text
Retrieval"; the lexical index's own :class:`~shelfwise.index.text.CharNgrams`).

The retrieval signals are read from the hits themselves (``Results.features``, filled by
``HybridSearcher.search(match_features=True)``), as Vespa's match-features carry first-phase signals
into the second phase: the extractor never calls back into the searcher.

Matches against the category path and attribute values are opt-in (``FIELD_FEATURES``): a judged
set derived from those fields (the demo's "<colour> <type>" queries) would otherwise be scored by
reading its own answer key. Titles are the product text every store has.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.index.text import CharNgrams, Tokenizer
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import MATCH_FEATURES

MATCH_INPUTS = MATCH_FEATURES  # read from Results.features, as the first stage attaches them
FIELD_FEATURES: tuple[str, ...] = ("category_match", "attribute_match")
FEATURE_NAMES: tuple[str, ...] = (
    "bm25",
    "bm25_rel",
    "cosine",
    "cosine_rel",
    "first_stage",
    "inv_rank",
    "title_match",
    "all_terms_matched",
    "log_popularity",
    "bigram_match",
    "char3_match",
)
ALL_FEATURE_NAMES: tuple[str, ...] = (*FEATURE_NAMES, *FIELD_FEATURES)


class TermRows:
    """Each row's terms as ids in one int32 buffer (row ``r``: ``ids[offsets[r]:offsets[r + 1]]``,
    in order, repeats kept), against ``vocab``, which it extends and may share with other fields."""

    def __init__(self, vocab: dict[str, int], rows: Iterable[Sequence[str]]) -> None:
        ids, offsets = array("i"), array("q", [0])
        for terms in rows:
            ids.extend([vocab.setdefault(t, len(vocab)) for t in terms])
            offsets.append(len(ids))
        self.ids = np.frombuffer(ids, dtype=np.int32).copy()  # exact size, not the array's spare room
        self.offsets = np.frombuffer(offsets, dtype=np.int64).copy()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of_rows(self, rows: Sequence[int]) -> list[list[int]]:
        """The term ids of each of ``rows`` (one gather over the buffer, then list slices)."""
        r = np.asarray(rows, dtype=np.int64)
        starts, ends = self.offsets[r], self.offsets[r + 1]
        lengths = ends - starts
        cut = np.zeros(len(r) + 1, dtype=np.int64)
        np.cumsum(lengths, out=cut[1:])
        flat = self.ids[np.repeat(starts - cut[:-1], lengths) + np.arange(cut[-1])].tolist()
        bounds = cut.tolist()
        return [flat[bounds[j] : bounds[j + 1]] for j in range(len(r))]


class JoinedRows:
    """One string per row, held as UTF-8 in one buffer with offsets (a str per row costs ~50 bytes
    of object header on top of its text)."""

    def __init__(self, texts: Iterable[str]) -> None:
        buf, offsets = bytearray(), array("q", [0])
        for t in texts:
            buf += t.encode("utf-8", "surrogatepass")
            offsets.append(len(buf))
        self.buf = bytes(buf)
        self.offsets = np.frombuffer(offsets, dtype=np.int64).copy()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, row: int) -> str:
        return self.buf[int(self.offsets[row]) : int(self.offsets[row + 1])].decode("utf-8", "surrogatepass")

    def count_in(self, rows: Sequence[int], needles: Sequence[str]) -> list[int]:
        """For each of ``rows``, how many of ``needles`` occur in its string (decoded once a row:
        ``in`` on a str is ~5x faster than on bytes, which goes through the buffer protocol)."""
        r = np.asarray(rows, dtype=np.int64)
        buf = self.buf
        out = []
        for a, b in zip(self.offsets[r].tolist(), self.offsets[r + 1].tolist(), strict=True):
            text = buf[a:b].decode("utf-8", "surrogatepass")
            out.append(sum(g in text for g in needles))
        return out


class FeatureExtractor:
    """Feature rows for (query, first-stage hits). Field token sets use ``tokenizer`` (the lexical
    index's: stemmed English, Chinese character n-grams), so matching follows the index.

    ``names``: which features, in order (default :data:`FEATURE_NAMES`; add :data:`FIELD_FEATURES`
    to opt in to category / attribute matches)."""

    def __init__(
        self,
        catalog: Catalog,
        tokenizer: Tokenizer,
        popularity: npt.ArrayLike | None = None,
        names: Sequence[str] = FEATURE_NAMES,
    ) -> None:
        unknown = [n for n in names if n not in ALL_FEATURE_NAMES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {list(ALL_FEATURE_NAMES)}")
        self.names: tuple[str, ...] = tuple(names)
        self.catalog = catalog
        self.tokenizer = tokenizer
        self._chars = CharNgrams(3, pinyin=False)  # grams tested as substrings of the title's joined words
        # per-product text kept compactly: term ids against one vocabulary and one UTF-8 buffer, 119 MB
        # at 1M products where a tuple of term strings and a string per title took 263 MB
        # (bench/results/ltr_memory.json)
        self._vocab: dict[str, int] = {}
        self._title_terms = TermRows(self._vocab, (tokenizer(p.title) for p in catalog.products))  # in order
        # each title's character-gram string ("#white#tile#"): a substring test per query gram and candidate
        # instead of building the title's gram set
        self._title_chars = JoinedRows(self._chars.joined(p.title) for p in catalog.products)
        self._fields: dict[str, TermRows] = {}
        if "category_match" in self.names:
            cats = (tokenizer(" ".join(p.category)) for p in catalog.products)
            self._fields["category"] = TermRows(self._vocab, cats)
        if "attribute_match" in self.names:
            attrs = (tokenizer(" ".join(p.attributes.values())) for p in catalog.products)
            self._fields["attribute"] = TermRows(self._vocab, attrs)
        pop = np.zeros(len(catalog)) if popularity is None else np.asarray(popularity, dtype=np.float64)
        if pop.shape != (len(catalog),):
            raise ValueError(f"popularity has shape {pop.shape}, catalog has {len(catalog)} rows")
        self.log_popularity = np.log1p(np.maximum(pop, 0.0)).astype(np.float32)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def features(self, query: str, results: Results) -> npt.NDArray[np.float32]:
        """``(len(results), n_features)`` matrix; ``results`` is the first-stage list, best first,
        carrying its match features (``bm25``, ``lexical``, ``cosine``)."""
        rows = results.ids
        n = len(rows)
        if n == 0:
            return np.zeros((0, self.n_features), dtype=np.float32)
        missing = [m for m in MATCH_INPUTS if m not in results.features]
        if missing:
            raise ValueError(
                f"results lack match features {missing}: search with match_features=True (or attach the reranker)"
            )
        bm, lex, cos = (np.asarray(results.features[m], dtype=np.float32) for m in MATCH_INPUTS)
        first = results.scores.astype(np.float32)
        span = float(first.max() - first.min())
        cols: dict[str, npt.NDArray[np.float32]] = {
            "bm25": bm,
            "bm25_rel": lex,
            "cosine": cos,
            "cosine_rel": cos - cos.max(),
            "first_stage": (first - first.min()) / span if span > 1e-12 else np.ones(n, dtype=np.float32),
            "inv_rank": 1.0 / (1.0 + np.arange(n, dtype=np.float32)),
            "log_popularity": self.log_popularity[rows],
        }
        cols.update(self._matches(query, rows.tolist()))
        return np.stack([cols[name] for name in self.names], axis=1).astype(np.float32)

    def _matches(self, query: str, rows: list[int]) -> dict[str, npt.NDArray[np.float32]]:
        """Share of the query's terms found in each field, whether the fields cover them all, and the
        title's share of the query's adjacent term pairs and character trigrams."""
        terms = self.tokenizer(query)
        qtok = set(terms)
        n = len(rows)
        out = {f"{field}_match": np.zeros(n, dtype=np.float32) for field in ("title", *self._fields)}
        covered = np.zeros(n, dtype=np.float32)
        bigram = np.zeros(n, dtype=np.float32)
        char3 = np.zeros(n, dtype=np.float32)
        pairs = set(pairwise(terms)) if "bigram_match" in self.names else set()
        qgrams = set(self._chars(query)) if "char3_match" in self.names else set()
        if qtok:
            # a query term (or pair) outside the vocabulary is in no product's text: it counts only in
            # the shares' denominators
            vocab = self._vocab
            qids = {vocab[t] for t in qtok if t in vocab}
            qbig = {(vocab[a], vocab[b]) for a, b in pairs if a in vocab and b in vocab}
            nq = float(len(qtok))
            fields = [(f"{field}_match", terms_of.of_rows(rows)) for field, terms_of in self._fields.items()]
            for j, title in enumerate(self._title_terms.of_rows(rows)):
                seen = qids.intersection(title)
                out["title_match"][j] = len(seen) / nq
                for name, per_row in fields:
                    hit = qids.intersection(per_row[j])
                    out[name][j] = len(hit) / nq
                    seen |= hit
                covered[j] = float(len(seen) == len(qtok))
                if pairs:
                    bigram[j] = len(qbig.intersection(pairwise(title))) / len(pairs) if qbig else 0.0
        if qgrams:
            char3[:] = np.asarray(self._title_chars.count_in(rows, list(qgrams)), dtype=np.float64) / len(qgrams)
        out["all_terms_matched"] = covered
        out["bigram_match"] = bigram
        out["char3_match"] = char3
        return out

    def batch(self, queries: Sequence[str], results: Sequence[Results]) -> list[npt.NDArray[np.float32]]:
        return [self.features(q, r) for q, r in zip(queries, results, strict=True)]
