"""The lexical index of a shelf: BM25 over word terms plus BM25 over character n-grams.

Shoppers misspell ("porcelin", "aluminun") and split or join words ("deck over" / "deckover");
a word index alone scores such queries zero on the very products they want. A second BM25 over
character n-grams (:class:`shelfwise.index.text.CharNgrams`) matches them, and exact word
matches still lead because both parts count. Each part is divided by its maximum over the
catalog for the query, then mixed with ``char_weight`` (a fixed default, chosen on real
English and Chinese shopper queries together, not per store; see ``bench/bench_search_real.py``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.index.bm25 import BM25Config, BM25Index
from shelfwise.index.text import CharNgrams, Tokenizer, has_cjk
from shelfwise.index.topk import top_k
from shelfwise.results import Results

FORMAT = "shelfwise-lexical"
VERSION = 1


MAX_TITLE_WEIGHT = 5


@dataclass(frozen=True)
class LexicalConfig:
    """``char_ngram``: n of the typo-tolerant part (0 turns it off); ``char_weight``: its share;
    ``title_weight``: how many times a product's title counts against its other fields (brand,
    category, attributes, description) in both parts: BM25F with integer field weights (Robertson,
    Zaragoza & Taylor, 2004, "Simple BM25 extension to multiple weighted fields"), which for integer
    weights equals BM25 over the text with the title repeated. 1 (the default) is one field, as
    before. The real judged sets here are titles only: there weights 1-3 score the same (Home Depot
    dev_1k hybrid 1.127 / 1.129 / 1.126x bm25s, ``bench/results/title_weight.json``); the gain where
    descriptions exist is unmeasured (see :func:`lexical_texts`)."""

    bm25: BM25Config = field(default_factory=BM25Config)
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    char_ngram: int = 3
    char_weight: float = 0.5
    title_weight: int = 1

    def __post_init__(self) -> None:
        if self.char_ngram != 0 and not 2 <= self.char_ngram <= 6:
            raise ValueError("LexicalConfig.char_ngram must be 0 (off) or in [2, 6]")
        if not 0.0 <= self.char_weight < 1.0:
            raise ValueError("LexicalConfig.char_weight must be in [0, 1)")
        if not (isinstance(self.title_weight, int) and 1 <= self.title_weight <= MAX_TITLE_WEIGHT):
            raise ValueError(f"LexicalConfig.title_weight must be an integer in [1, {MAX_TITLE_WEIGHT}]")

    def describe(self, *, chinese: bool) -> str:
        """One line for the index log: what the lexical side indexes (``chinese``: the catalog has
        Chinese text, so its analysers' Chinese parts are named too)."""
        tok, b = self.tokenizer, self.bm25
        words = "words" + (" (stemmed)" if tok.stem else "")
        if chinese:
            cut = {"ngram": "character unigrams + bigrams", "jieba": "jieba words", "bigram": "character bigrams"}
            words += f", Chinese as {cut[tok.chinese]}" + (" (Traditional folded)" if tok.fold_traditional else "")
        out = f"lexical: BM25 k1 {b.k1:g} b {b.b:g} over {words}"
        if self.title_weight > 1:
            out += f"; titles count {self.title_weight}x the other fields"
        if self.char_ngram:
            out += f"; typo part ({self.char_weight:g}): character {self.char_ngram}-grams"
            out += " + pinyin syllables of Chinese characters (homophone typos)" if chinese else ""
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "bm25": asdict(self.bm25),
            "tokenizer": asdict(self.tokenizer),
            "char_ngram": self.char_ngram,
            "char_weight": self.char_weight,
            "title_weight": self.title_weight,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> LexicalConfig:
        bm25, tok = raw.get("bm25", {}), raw.get("tokenizer", {})
        if not isinstance(bm25, dict) or not isinstance(tok, dict):
            raise ValueError("LexicalConfig: 'bm25' and 'tokenizer' must be objects")
        return cls(
            BM25Config(**bm25),
            Tokenizer.from_saved(tok),
            int(raw.get("char_ngram", 3)),  # type: ignore[call-overload]
            float(raw.get("char_weight", 0.5)),  # type: ignore[arg-type]
            int(raw.get("title_weight", 1)),  # type: ignore[call-overload]  # saved before: one field
        )


def lexical_texts(catalog: Catalog, config: LexicalConfig) -> list[str]:
    """What the lexical index reads for each product: :meth:`Product.text` (title, brand, category,
    attributes, description), with the title ``config.title_weight`` times."""
    if config.title_weight == 1:
        return catalog.texts()
    extra = config.title_weight - 1
    return [". ".join([*([p.title] * extra), p.text()]) for p in catalog.products]


@dataclass(frozen=True)
class LexicalScores:
    """``words``: raw word-term BM25; ``mixed``: the lexical score search ranks by (see module doc)."""

    words: npt.NDArray[np.float32]
    mixed: npt.NDArray[np.float32]


def _max_scaled(s: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    top = float(s.max()) if s.size else 0.0
    return s / top if top > 0 else s


def _mix(
    words: npt.NDArray[np.float32], chars: npt.NDArray[np.float32], w: float, *, in_place: bool = False
) -> npt.NDArray[np.float32]:
    """``(1 - w) * words / max(words) + w * chars / max(chars)``, bit for bit, in two passes over the
    catalog instead of six: the character part for every row (in place), then the word part added
    on the rows a query word matched only (a few thousand of a million; elsewhere it is 0, and
    ``x + 0 == x`` exactly). Same float32 operations in the same order per row.

    ``in_place``: ``chars`` (float32, writable, the caller's own) becomes the result, instead of a
    new catalog-sized array."""
    top_c = float(chars.max()) if chars.size else 0.0
    if in_place:
        out = np.divide(chars, top_c, out=chars, dtype=np.float32) if top_c > 0 else chars
    else:
        out = np.divide(chars, top_c, dtype=np.float32) if top_c > 0 else np.array(chars, dtype=np.float32)
    np.multiply(out, w, out=out)
    top_w = float(words.max()) if words.size else 0.0
    if top_w > 0:
        hit = np.flatnonzero(words != 0)  # (a boolean array: ~8x faster to scan than the floats)
        out[hit] = (1.0 - w) * (words[hit] / top_w) + out[hit]
    return out


class LexicalIndex:
    """``fit`` on document texts; ``scores``/``retrieve`` for a query; ``save``/``load`` a folder.

    ``words`` is the word-term BM25 (its ``tokenizer`` is what field-match features use);
    ``chars`` the character n-gram BM25, absent when ``char_ngram`` is 0."""

    def __init__(
        self, config: LexicalConfig | None = None, words: BM25Index | None = None, chars: BM25Index | None = None
    ) -> None:
        self.config = config or LexicalConfig()
        self.words = words or BM25Index(self.config.bm25, self.config.tokenizer)
        self.chars = chars
        if chars is None and self.config.char_ngram:
            self.chars = BM25Index(self.config.bm25, CharNgrams(self.config.char_ngram))
        self._last: tuple[str, LexicalScores] | None = None

    @property
    def tokenizer(self) -> Tokenizer:
        tok = self.words.tokenizer
        assert isinstance(tok, Tokenizer)
        return tok

    @property
    def n_docs(self) -> int:
        return self.words.n_docs

    def fit(self, texts: list[str], *, progress: bool = False) -> LexicalIndex:
        self.words.fit(texts, progress=progress)
        if self.chars is not None:
            tok = self.chars.tokenizer
            if isinstance(tok, CharNgrams) and tok.pinyin and not any(map(has_cjk, texts)):
                # no document has syllables for a query's to match, so queries are not cut into them
                # (an English shelf's warm-up "热身" loaded pypinyin, ~55 MiB RSS a worker, for nothing)
                self.chars.tokenizer = replace(tok, pinyin=False)
            self.chars.fit(texts, progress=progress)
        self._last = None
        return self

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        """Mixed lexical score of every document in [0, 1] (1 = best for this query); read-only."""
        return self.score_parts(query).mixed

    def score_parts(self, query: str) -> LexicalScores:
        """The mixed score and the raw word BM25 it came from, for every document; read-only arrays.

        Memoised for the last query: fusion and the first-stage match features both read it."""
        last = self._last
        if last is not None and last[0] == query:
            return last[1]
        words = np.asarray(self.words.scores(query), dtype=np.float32)
        if self.chars is not None and self.config.char_weight > 0:  # (the n-gram scores: scaled where they lie)
            out = _mix(words, self.chars.fresh_scores(query), self.config.char_weight, in_place=True)
        else:
            out = np.asarray(_max_scaled(words), dtype=np.float32)
        for a in (words, out):
            a.flags.writeable = False
        parts = LexicalScores(words, out)
        self._last = (query, parts)
        return parts

    def retrieve(self, query: str, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results:
        return top_k(self.scores(query), k, mask)

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.words.save(p / "words")
        if self.chars is not None:
            self.chars.save(p / "chars")
        meta = {"format": FORMAT, "version": VERSION, "config": self.config.to_json(), "n_docs": self.n_docs}
        (p / "lexical.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | Path) -> LexicalIndex:
        p = Path(path)
        meta_file = p / "lexical.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{meta_file}: not a lexical index folder")
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != FORMAT or int(meta.get("version", 0)) > VERSION:
            raise ValueError(
                f"{meta_file}: format {meta.get('format')!r} version {meta.get('version')!r}; "
                f"this Shelfwise reads {FORMAT!r} up to version {VERSION}"
            )
        config = LexicalConfig.from_json(meta["config"])
        chars = BM25Index.load(p / "chars") if config.char_ngram else None
        return cls(config, BM25Index.load(p / "words"), chars)

    @classmethod
    def from_bm25(cls, words: BM25Index) -> LexicalIndex:
        """Wrap a word-only BM25 index (folders written before the character n-gram part)."""
        tok = words.tokenizer if isinstance(words.tokenizer, Tokenizer) else Tokenizer()
        return cls(LexicalConfig(words.config, tok, char_ngram=0), words, None)
