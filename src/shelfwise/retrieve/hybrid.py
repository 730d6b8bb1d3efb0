"""Hybrid lexical + semantic product search with filters and an optional reranker."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.encode.base import Encoder
from shelfwise.encode.student import StudentEncoder
from shelfwise.index.backends import VectorStore, load_vector_store, open_vector_store
from shelfwise.index.bm25 import BM25Index
from shelfwise.index.language import ENGLISH_ONLY_ENCODERS, LanguageProfile, detect_language
from shelfwise.index.lexical import LexicalConfig, LexicalIndex, LexicalScores, lexical_texts
from shelfwise.index.rows import union_rows
from shelfwise.index.text import has_cjk
from shelfwise.index.topk import top_k
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.jsonfile import read_manifest_json
from shelfwise.memo import ArrayMemo
from shelfwise.results import Results
from shelfwise.retrieve import query_words, translate
from shelfwise.retrieve.dense import DenseRetriever
from shelfwise.retrieve.feedback import Feedback
from shelfwise.retrieve.fusion import minmax, rrf, weighted
from shelfwise.retrieve.pinyin import PinyinReader
from shelfwise.retrieve.search_config import MODES, SearchConfig, SearchTrace
from shelfwise.retrieve.shortcut import TitleTerms
from shelfwise.retrieve.synonyms import Synonyms
from shelfwise.retrieve.understand import QueryIntent, QueryUnderstanding

FORMAT = "shelfwise-searcher"
VERSION = 2  # 2: lexical/ (word + character n-gram BM25) replaces bm25/
SYNONYMS = "synonyms.json"
# Per-hit first-stage signals (``Results.features``): raw word BM25, the mixed lexical score in
# [0, 1] (words + character n-grams), and the bi-encoder cosine of the query and the product.
MATCH_FEATURES = ("bm25", "lexical", "cosine")
MASK_CACHE_BYTES = 64 << 20  # memoised filter masks kept up to this many bytes (each mask is n_items bytes)


@dataclass(frozen=True)
class _FirstStage:
    """Signals the first stage computed anyway, handed to :meth:`HybridSearcher.match_features` so
    the reranker's head and ``match_features`` read them instead of scoring again: the lexical
    score arrays of the query, and (convex fusion) the raw cosines of its candidate union."""

    parts: LexicalScores | None = None
    ids: npt.NDArray[np.int64] | None = None  # sorted, unique: rows whose cosine is below
    cosine: npt.NDArray[np.float32] | None = None


class Reranker(Protocol):
    """Re-scores the head of a result list for a query (see ``shelfwise.rank``)."""

    def rerank(self, query: str, results: Results) -> Results: ...


class HybridSearcher:
    """``build`` makes the indexes over a catalog; ``search`` answers a query.

    ``multilingual``: an optional second dense retriever (e.g. multilingual-e5 over the same
    products) used for queries written in Chinese (CJK) when the main encoder is English-only, so
    a Chinese shopper can search an English catalog.
    """

    def __init__(
        self,
        catalog: Catalog,
        encoder: Encoder,
        config: SearchConfig | None = None,
        lexical: LexicalIndex | None = None,
        vectors: VectorStore | None = None,
        reranker: Reranker | None = None,
        multilingual: DenseRetriever | None = None,
        language: LanguageProfile | None = None,
        encoder_spec: str | None = None,
        multilingual_spec: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.encoder_spec = encoder_spec  # registry spec ("minilm", "e5", a folder) that serve reloads
        self.multilingual_spec = multilingual_spec
        self.encoder = encoder
        self.config = config or SearchConfig()
        # pseudo-relevance feedback (SearchConfig.feedback_*) measured neutral over student-embedded
        # products (bench/results/search_feedback_student.json): not applied there
        self.use_feedback = not isinstance(encoder, StudentEncoder)
        self.lexical = lexical or LexicalIndex()
        self.language = language
        self.dense = DenseRetriever(encoder, vectors or VectorIndex())
        self.reranker = reranker
        if multilingual is not None and len(multilingual.index) != len(catalog):
            raise ValueError("multilingual index size differs from the catalog")
        self.multilingual = multilingual
        self._understanding: QueryUnderstanding | None = None
        self._bilingual: translate.Bilingual | None = None
        self.synonyms: Synonyms | None = None  # the store's own (``shelfwise index --synonyms``)
        self._masks: ArrayMemo[np.bool_] = ArrayMemo(MASK_CACHE_BYTES)  # the newest is always kept

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        encoder: Encoder,
        config: SearchConfig | None = None,
        *,
        lexical: LexicalConfig | None = None,
        vector: VectorIndexConfig | None = None,
        progress: bool = False,
        batch_size: int = 64,
        multilingual: Encoder | None = None,
        language: LanguageProfile | None = None,
        encoder_spec: str | None = None,
        multilingual_spec: str | None = None,
        item_vectors: npt.NDArray[np.floating[Any]] | None = None,
        vector_store: str | None = None,
    ) -> HybridSearcher:
        """``item_vectors``: precomputed document vectors, one row per catalog row in catalog order
        (see :func:`shelfwise.index.vectors_file.load_vectors`); the encoder then only embeds queries.
        Student embedding (:mod:`shelfwise.encode.student`): pass ``fit.encoder`` and
        ``item_vectors=fit.vectors`` of :func:`~shelfwise.encode.student.fit_student`.
        ``vector_store``: where the item vectors go (:func:`shelfwise.index.backends.open_vector_store`:
        embedded by default, or ``milvus://host:port?collection=NAME``, which replicas then share)."""
        texts = catalog.texts()
        language = language or detect_language(texts)
        lex = LexicalIndex(lexical).fit(lexical_texts(catalog, lexical or LexicalConfig()), progress=progress)
        if item_vectors is not None and item_vectors.shape != (len(catalog), encoder.dim):
            raise ValueError(
                f"item_vectors has shape {item_vectors.shape}, expected ({len(catalog)}, {encoder.dim}) "
                f"(one row per product, the query encoder's width)"
            )
        docs = encoder.encode(texts, batch_size=batch_size, progress=progress) if item_vectors is None else item_vectors
        vecs = open_vector_store(vector_store, vector).fit(docs)
        del docs
        alt = None
        if multilingual is not None:
            alt_vecs = VectorIndex(vector).fit(multilingual.encode(texts, batch_size=batch_size, progress=progress))
            alt = DenseRetriever(multilingual, alt_vecs)
        return cls(
            catalog,
            encoder,
            config,
            lex,
            vecs,
            multilingual=alt,
            language=language,
            encoder_spec=encoder_spec,
            multilingual_spec=multilingual_spec if multilingual is not None else None,
        )

    def dense_for(self, query: str) -> DenseRetriever:
        """The dense retriever for ``query``: the multilingual one for CJK text when present."""
        if self.multilingual is not None and has_cjk(query):
            return self.multilingual
        return self.dense

    @property
    def understanding(self) -> QueryUnderstanding:
        """The catalog's query-understanding vocabulary, built on first use."""
        if self._understanding is None:
            self._understanding = QueryUnderstanding(
                self.catalog, self.lexical.tokenizer, holding=self.lexical.words.holding
            )
        return self._understanding

    def understand(self, query: str, config: SearchConfig | None = None) -> QueryIntent | None:
        """What ``search`` will read from ``query`` (None when it finds nothing; with understanding
        off, only the words added in the catalog's language).

        A query in the catalog's other language is read in the catalog's language too (``bilingual``):
        the intent's ``text`` is the query plus those words, and the catalog's values are matched in
        them ("黑色裤子" on an English catalog -> colour Black, type Trousers). The store's synonyms
        (:mod:`shelfwise.retrieve.synonyms`) add their words the same way."""
        added = " ".join(
            w for w in (self.synonyms.added(query) if self.synonyms else "", self.bilingual.added(query)) if w
        )
        if not (config or self.config).understand:  # only the added words, nothing understood
            return QueryIntent(f"{query} {added}") if added else None
        intent = self.understanding.parse(query)
        if added:
            more = tuple(m for m in self.understanding.parse(added).matches if m not in intent.matches)
            return QueryIntent(f"{intent.text} {added}", intent.price_min, intent.price_max, intent.matches + more)
        return None if intent.is_empty() else intent

    @property
    def bilingual(self) -> translate.Bilingual:
        """How a query is also read in the catalog's other language (:mod:`shelfwise.retrieve.translate`);
        a searcher saved before the language profile was recorded profiles its catalog here, once."""
        if self._bilingual is None:
            profile = self.language or detect_language(self.catalog.texts())
            words = self.lexical.words
            pinyin = PinyinReader(words.terms, words.term_doc_freq) if profile.language == "zh" else None
            titles = self.catalog.products[:: max(1, len(self.catalog) // 500)]  # to tell the catalog's script
            self._bilingual = translate.Bilingual(
                profile.language, self.understanding.names, words.doc_freq, pinyin, lambda: [p.title for p in titles]
            )
        return self._bilingual

    def mask(self, filters: Filters | None) -> npt.NDArray[np.bool_] | None:
        """``catalog.mask(filters)``, memoised per filter value (read-only): the vector index keys its
        per-filter row ids / bitmaps on the mask object, so a repeated filter costs no catalog scan."""
        if filters is None or filters.is_empty():
            return None
        hit = self._masks.get(filters)
        if hit is not None:
            return hit
        m = self.catalog.mask(filters)
        if m is None:
            return None
        m = m.copy()
        m.flags.writeable = False
        return self._masks.add(filters, m)  # another request's, if it made one meanwhile: one object

    @property
    def mask_cache_bytes(self) -> int:
        """Byte budget of the mask memo (the newest mask is always kept)."""
        return self._masks.max_bytes

    @mask_cache_bytes.setter
    def mask_cache_bytes(self, value: int) -> None:
        self._masks.max_bytes = value

    def notices(self, query: str) -> list[str]:
        """What a shopper should know of how ``query`` was read (words added, a price that cannot filter)."""
        out = self.bilingual.notices(query) + (self.understanding.notices(query) if self.config.understand else [])
        return out + (self.synonyms.notices(query) if self.synonyms else [])

    def setup_notices(self, query: str) -> list[str]:
        """What the store's operator could change for ``query`` to be served better (not for shoppers)."""
        out = self.bilingual.setup_notices(query)
        english_only = self.encoder_spec in ENGLISH_ONLY_ENCODERS or "minilm" in self.encoder.name.lower()
        if has_cjk(query) and self.multilingual is None and english_only:
            out.insert(
                0,
                "Chinese query on an index whose language model is English-only: matched by characters "
                "only (rebuild with `shelfwise index --multilingual e5` to add multilingual vectors)",
            )
        return out

    @property
    def item_vectors(self) -> npt.NDArray[np.float32]:
        return self.dense.index.vectors

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        *,
        mode: str | None = None,
        user_vector: npt.NDArray[np.float32] | None = None,
        exclude: Sequence[int] = (),
        config: SearchConfig | None = None,
        match_features: bool = False,
        trace: SearchTrace | None = None,
    ) -> Results:
        """Top-``k`` rows for ``query``; ``config`` overrides the searcher's own for this call;
        ``trace`` receives what it decided (:class:`SearchTrace`).

        With ``match_features`` the returned hits carry their first-stage signals as
        ``Results.features`` (see :data:`MATCH_FEATURES`): what a reranker learns from. An attached
        reranker with ``reads_match_features`` gets them for the head it re-scores only.

        ``exclude``: rows never returned (e.g. already seen). The filter's memoised mask is used as
        it is (a per-call copy would miss the vector index's per-mask cache): the lexical side
        drops them from its candidate rows (:func:`~shelfwise.index.topk.top_k`), the dense side
        fetches ``len(exclude)`` more and drops them, so an exact index gives what a mask without
        those rows would."""
        cfg = config or self.config
        mode = mode or cfg.mode
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if k < 1:
            raise ValueError("k must be >= 1")
        intent = self.understand(query, cfg)
        if intent is not None:
            query, filters = intent.text, intent.filters(filters)
        mask = self.mask(filters)  # the memoised (shared, read-only) mask: never copied or written
        drop = self._excluded(exclude)
        n = max(cfg.candidates, k, cfg.rerank_depth if self.reranker else 0)
        first = _FirstStage()
        if mode == "dense":
            res = self._dense(self.dense_for(query), query, n, mask, drop)
        else:
            parts = self.lexical.score_parts(query)
            first = _FirstStage(parts)
            lex = top_k(parts.mixed, n, mask, drop)  # partitions the rows above a sampled threshold only
            if mode == "hybrid" and self._words_suffice(query, lex, cfg):
                mode = "bm25"  # the words answer it: no query encoder (retrieve.shortcut)
        if trace is not None:
            trace.ranked_by = {"bm25": "words", "dense": "meaning"}.get(mode, "fusion")
            if first.parts is not None:
                trace.words_matched = self._words_matched(query, first.parts, lex.ids)
        if mode == "bm25":
            res = lex
        elif mode == "hybrid":
            dense = self.dense_for(query)
            sem = self._dense(dense, query, n, mask, drop)
            w = cfg.dense_weight
            if cfg.fusion == "convex":
                fb = cfg.feedback if self.use_feedback else None
                res, first = self._convex(query, dense, first, lex, sem, n, w, fb)
            elif cfg.fusion == "rrf":
                res = rrf([lex, sem], n, rrf_k=cfg.rrf_k, weights=[2 * (1 - w), 2 * w])
            else:
                res = weighted([lex, sem], n, [1 - w, w])
        if intent is not None and intent.matches and cfg.boost_weight > 0 and len(res):
            bonus = cfg.boost_weight * max(abs(float(res.scores[0])), 1e-6) * self.understanding.boost(intent, res.ids)
            res = _resorted(res, res.scores + bonus.astype(np.float32))
        if user_vector is not None and cfg.personal_weight > 0 and len(res):
            boost = self.dense.index.rows(res.ids) @ np.asarray(user_vector, dtype=np.float32)
            res = _resorted(res, res.scores + cfg.personal_weight * boost.astype(np.float32))
        if self.reranker is not None and cfg.rerank_depth > 0 and len(res):
            head = res.top(cfg.rerank_depth)
            if getattr(self.reranker, "reads_match_features", False):
                head = self.match_features(query, head, first)
            head = self.reranker.rerank(query, head)
            tail = res.take(slice(cfg.rerank_depth, None))
            res = Results(np.concatenate([head.ids, tail.ids]), np.concatenate([head.scores, tail.scores]))
        if intent is not None and cfg.type_boost > 0 and len(res):
            kind = self.understanding.type_mask(intent, res.ids)
            if kind is not None:  # after the reranker, which would otherwise re-score it away
                lift = cfg.type_boost * float(res.scores.max() - res.scores.min())
                res = _resorted(res, (res.scores + lift * kind).astype(np.float32))
        res = res.top(k)
        return self.match_features(query, res, first) if match_features else res

    def _words_matched(self, query: str, parts: LexicalScores, rows: npt.NDArray[np.int64]) -> bool | None:
        """Whether one of ``rows`` (the lexical candidates) holds a word of ``query``: one with Chinese
        by its words, not one shared character (:mod:`~shelfwise.retrieve.query_words`); any other by
        its word BM25 (some query term held). None for a query of no words (a price, stop words or
        particles alone). Reads postings only: no score changes."""
        tok = self.lexical.tokenizer
        if not tok(query):
            return None
        if query_words.applies(tok, query):
            index = self.lexical.words
            words = query_words.query_words(query, tok, index)
            return query_words.words_held(words, index, rows) if words else None
        return bool((parts.words[rows] > 0).any())

    def _words_suffice(self, query: str, lex: Results, cfg: SearchConfig) -> bool:
        """Whether the top ``cfg.lexical_shortcut`` lexical hits' titles hold every word of ``query``
        (:mod:`~shelfwise.retrieve.shortcut`). Never with a reranker attached: one reading the hits'
        cosines runs the encoder for them anyway, and any reranker was trained on fused candidates."""
        depth = min(cfg.lexical_shortcut, cfg.candidates)  # page 1 reads `candidates` hits: every page decides alike
        if depth == 0 or len(lex) < depth or self.reranker is not None:
            return False
        return self.title_terms.hold_all(query, lex.ids[:depth])

    @cached_property
    def title_terms(self) -> TitleTerms:
        """The titles' word terms, analysed on first use (the lexical shortcut's memo)."""
        return TitleTerms([p.title for p in self.catalog.products], self.lexical.tokenizer)

    def _excluded(self, exclude: Sequence[int]) -> npt.NDArray[np.int64] | None:
        """``exclude`` as sorted unique row ids (negative ids count from the end, as numpy indexing
        does); None when empty. Out-of-range ids raise ``IndexError``."""
        if len(exclude) == 0:
            return None
        ids = np.asarray(exclude, dtype=np.int64).reshape(-1)
        n_items = len(self.catalog)
        bad = ids[(ids < -n_items) | (ids >= n_items)]
        if bad.size:
            raise IndexError(f"exclude: row {int(bad[0])} is out of range for a catalog of {n_items} products")
        return np.unique(np.where(ids < 0, ids + n_items, ids))

    @staticmethod
    def _dense(
        dense: DenseRetriever,
        query: str,
        n: int,
        mask: npt.NDArray[np.bool_] | None,
        drop: npt.NDArray[np.int64] | None,
    ) -> Results:
        """Dense top-``n`` under ``mask`` without the ``drop`` rows: asks the index for ``n + len(drop)``
        under the memoised mask (its per-mask row ids / selector stay cached) and drops them after."""
        if drop is None:
            return dense.retrieve(query, n, mask)
        res = dense.retrieve(query, n + len(drop), mask)
        return res.take(~np.isin(res.ids, drop, assume_unique=True)).top(n)

    def match_features(self, query: str, res: Results, first: _FirstStage | None = None) -> Results:
        """The first stage's signals for its own hits: read from ``first`` where it computed them
        (lexical arrays; convex fusion's cosines), computed here for the rest, never for more rows
        than ``res`` holds."""
        if not len(res):
            return res.with_features(**{name: np.zeros(0, dtype=np.float32) for name in MATCH_FEATURES})
        first = first or _FirstStage()
        parts = first.parts if first.parts is not None else self.lexical.score_parts(query)
        cosine = np.empty(len(res), dtype=np.float32)
        todo = np.ones(len(res), dtype=bool)
        if first.ids is not None and first.cosine is not None and len(first.ids):
            pos = np.minimum(np.searchsorted(first.ids, res.ids), len(first.ids) - 1)
            known = first.ids[pos] == res.ids
            cosine[known] = first.cosine[pos[known]]
            todo = ~known
        if todo.any():
            dense = self.dense_for(query)
            cosine[todo] = dense.index.rows(res.ids[todo]) @ dense.embed(query)
        return res.with_features(bm25=parts.words[res.ids], lexical=parts.mixed[res.ids], cosine=cosine)

    def warmup(self) -> None:
        """Pay one-off costs before traffic arrives: the query encoders' first call and the Chinese
        analysers' tables. Every shelf gets the Chinese query: shoppers type Chinese into English
        stores too, and the first one would otherwise load OpenCC's Traditional-to-Simplified tables
        in the request (~0.1 s and ~30 MiB a process: the word analyser and query understanding fold
        every Chinese query). pypinyin loads only where the character analyser cuts syllables, which
        an English shelf's does not (:meth:`~shelfwise.index.lexical.LexicalIndex.fit`). The warm-up
        queries' embeddings are not kept. The cross-language dictionary (a Chinese query on an English
        shelf, an English one on a Chinese shelf: :mod:`shelfwise.retrieve.translate`) and the catalog
        mean that explanations compare cosines with (:meth:`DenseRetriever.mean_cosine`) are made here too,
        and the category codes query understanding's value masks read (:meth:`QueryUnderstanding.prepare`);
        on a Chinese shelf jieba's dictionary (:func:`~shelfwise.retrieve.query_words.prepare`)."""
        self.bilingual.warm()
        if self.bilingual.language == "zh":  # the no-word-match check cuts Chinese queries into words
            query_words.prepare()
        if self.config.understand:
            self.understanding.prepare()
        for q in ("warm up", "热身"):
            self.search(q, 1)
        for dense in (self.dense, self.multilingual):
            if dense is not None:
                prepare = getattr(dense.query_encoder, "prepare", None)  # an ONNX encoder's lone-call session
                if callable(prepare):
                    prepare()
                dense.mean_cosine("warm up")
                dense._cache.clear()

    def adopt_query_vectors(self, other: HybridSearcher) -> int:
        """The query vectors ``other`` memoised (:meth:`DenseRetriever.adopt`, main and multilingual
        retrievers), for a searcher that replaces it (a reload); how many were taken."""
        n = self.dense.adopt(other.dense)
        if self.multilingual is not None and other.multilingual is not None:
            n += self.multilingual.adopt(other.multilingual)
        return n

    def _convex(
        self,
        query: str,
        dense: DenseRetriever,
        first: _FirstStage,
        lex: Results,
        sem: Results,
        n: int,
        w: float,
        feedback: Feedback | None = None,
    ) -> tuple[Results, _FirstStage]:
        """Convex combination of *exact* lexical and dense scores over the union of both candidate lists.

        Unlike list-based fusion, an item found by one retriever is scored by the other too,
        so agreement is rewarded without dropping items outside the other's top-n (Bruch et al.,
        2023, "An Analysis of Fusion Functions for Hybrid Retrieval"). Lexical scores are divided
        by their maximum, dense cosines min-max scaled over the union.

        With ``feedback`` the dense half is scored again with the feedback query vector (the fused
        top products' mean added: :class:`~shelfwise.retrieve.feedback.Feedback`), over the same
        union. Also returns ``first`` with the union's raw cosines (the query's own, before any
        feedback): the match features of any hit.
        """
        assert first.parts is not None
        ids = union_rows(lex.ids, sem.ids)  # in score order, not sorted: no runs to merge
        if ids.size == 0:
            return Results.empty(), first
        b = first.parts.mixed[ids]
        top_b = b.max()
        b = b / top_b if top_b > 0 else b
        rows = dense.index.rows(ids)
        q = dense.embed(query)
        cosine = np.asarray(rows @ q, dtype=np.float32)
        fused = _convex_mix(b, cosine, w)
        v = feedback.query(q, rows, fused) if feedback is not None else q
        if v is not q:  # feedback applied (enabled, enough candidates)
            fused = _convex_mix(b, np.asarray(rows @ v, dtype=np.float32), w)
        top = Results.from_scores(fused, n)
        return Results(ids[top.ids], top.scores), _FirstStage(first.parts, ids, cosine)

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.lexical.save(p / "lexical")
        self.dense.index.save(p / "vectors")
        meta: dict[str, object] = {
            "format": FORMAT,
            "version": VERSION,
            "config": asdict(self.config),
            "encoder": self.encoder.name,
            "n_items": len(self.catalog),
        }
        if self.language is not None:
            meta["language"] = self.language.to_json()
        if self.encoder_spec is not None:
            meta["encoder_spec"] = self.encoder_spec
        if isinstance(self.encoder, StudentEncoder):
            self.encoder.save(p / "student")
            meta["student"] = "student"
        if self.multilingual is not None:
            self.multilingual.index.save(p / "vectors_multilingual")
            meta["multilingual_encoder"] = self.multilingual.encoder.name
            if self.multilingual_spec is not None:
                meta["multilingual_spec"] = self.multilingual_spec
        if self.synonyms is not None:
            self.synonyms.save(p / SYNONYMS)
            meta["synonyms"] = SYNONYMS
        (p / "searcher.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(
        cls, path: str | Path, catalog: Catalog, encoder: Encoder, multilingual: Encoder | None = None
    ) -> HybridSearcher:
        """Load an index; pass ``multilingual`` to use the CJK retriever saved with it (if any)."""
        p = Path(path)
        meta = read_meta(p)
        alt = None
        if multilingual is not None and "multilingual_encoder" in meta:
            if meta["multilingual_encoder"] != multilingual.name:
                raise ValueError(f"{p}: multilingual vectors were built with {meta['multilingual_encoder']!r}")
            alt = DenseRetriever(multilingual, VectorIndex.load(p / "vectors_multilingual"))
        if "student" in meta and not isinstance(encoder, StudentEncoder):
            encoder = StudentEncoder.load(p / str(meta["student"]), encoder)  # products: the table; queries: encoder
        if meta["encoder"] != encoder.name:
            raise ValueError(f"{p}: index was built with encoder {meta['encoder']!r}, not {encoder.name!r}")
        if meta["n_items"] != len(catalog):
            raise ValueError(f"{p}: index has {meta['n_items']} items, catalog has {len(catalog)}")
        searcher = cls(
            catalog,
            encoder,
            SearchConfig(**meta["config"]),
            LexicalIndex.load(p / "lexical")
            if (p / "lexical").exists()
            else LexicalIndex.from_bm25(BM25Index.load(p / "bm25")),  # folders from before version 2
            load_vector_store(p / "vectors"),  # files here, or vector_store.json naming a Milvus collection
            multilingual=alt,
            language=_language(meta.get("language")),
            encoder_spec=meta.get("encoder_spec"),
            multilingual_spec=meta.get("multilingual_spec") if alt is not None else None,
        )
        searcher.synonyms = Synonyms.load(p / str(meta["synonyms"])) if "synonyms" in meta else None
        return searcher


def read_meta(path: Path) -> dict[str, Any]:
    """``searcher.json`` of an index folder, checked for format and version."""
    return read_manifest_json(
        path / "searcher.json",
        fmt=FORMAT,
        max_version=VERSION,
        missing="not an index folder (build one with `shelfwise index`)",
        default_format=FORMAT,
    )


def _language(raw: object) -> LanguageProfile | None:
    if not isinstance(raw, dict):
        return None
    return LanguageProfile(
        str(raw["language"]), float(raw["cjk_share"]), float(raw["products_with_cjk"]), int(raw["sampled"])
    )


def _convex_mix(b: npt.NDArray[np.float32], cosine: npt.NDArray[np.float32], w: float) -> npt.NDArray[np.float32]:
    """``(1 - w) * b + w * d``: ``b`` the lexical scores already divided by their maximum, ``d`` the
    cosines min-max scaled over the union (:func:`~shelfwise.retrieve.fusion.minmax`; all equal: 1)."""
    return np.asarray((1 - w) * b + w * minmax(cosine), dtype=np.float32)


def _resorted(res: Results, scores: npt.NDArray[np.float32]) -> Results:
    """``res`` with new ``scores``, re-sorted best first (ties keep their order)."""
    order = np.argsort(-scores, kind="stable")
    return res.take(order, scores[order])
