"""Building a shelf from a catalog and a behaviour history: what ``shelfwise index``, the demo
and the Python API share (``Shelf.build``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.base import Encoder
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.onnx_encoder import OnnxEncoder
from shelfwise.encode.registry import load_encoder
from shelfwise.encode.student import StudentConfig, fit_student
from shelfwise.events.schema import EventLog
from shelfwise.index.language import ENGLISH_ONLY_ENCODERS, choose_encoder, detect_language
from shelfwise.index.lexical import LexicalConfig
from shelfwise.index.text import CharNgrams
from shelfwise.index.vectors_file import load_vectors
from shelfwise.rank.cross import fit_cross_reranker
from shelfwise.rank.ltr import fit_reranker
from shelfwise.recommend.retune import SEARCHED, SavedTuning
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.rules import read_rules
from shelfwise.retrieve.synonyms import read_synonyms

if TYPE_CHECKING:
    from shelfwise.eval.judgments import Judgments
    from shelfwise.recommend.hybrid import HybridConfig
    from shelfwise.shelf import Shelf

Log = Callable[[str], None]
RERANKERS = ("ltr", "cross")
EMBED_MODES = ("auto", "full", "student")
# ``embed="auto"``: above this many tokens left to embed (the embedding cache lacks them), the encoder
# embeds a sample and a student the rest. ~3.5 min of e5-onnx on 2 cores (18-19k tokens/s, 741 Home Depot
# titles/s, ``student_s16.json``): the student costs -1.9% hybrid NDCG there, which falls below the
# lexical side alone, so a catalog the encoder can embed in minutes is embedded whole (Home Depot's
# 54,667 titles: 1.35M tokens); a million titles (~25M) or long descriptions take the student.
EMBED_BUDGET_TOKENS = 4_000_000
BUDGET_SAMPLE = 2_000  # texts tokenised to estimate the catalog's tokens (seeded)
FEW_JUDGED = 50  # fewer judged queries than this: the trained reranker comes with a warning
MIN_FIDELITY = 0.95  # ``auto`` keeps the student only when it reproduces the encoder this well (held out)


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class ShelfConfig:
    """How :func:`build_shelf` builds. ``encoder``: spec or ``auto`` (by the catalog's language);
        ``multilingual``: a second encoder for Chinese queries (``auto_multilingual``: only when the main
        encoder is English-only, as the demo does; otherwise as given, unless the main one already
        serves Chinese); ``personal_weight``: the shopper's taste in ``/search?user=``; ``judgments`` +
        ``reranker``: train that reranker kind on them; ``recommender``: the hybrid's config (None:
        defaults); ``progress``: progress bars while embedding; ``vector_store``: where the product vectors live
    (:func:`shelfwise.index.backends.open_vector_store`); ``embed``: ``full`` (the encoder embeds every
    product), ``student`` (it embeds a sample and a static student fitted to it embeds them all:
    :mod:`shelfwise.encode.student`; 2.8x faster at 55k products for -1.9% hybrid NDCG on full Home
    Depot: 0.415 vs 0.423 with every product embedded, ``student_s16.json``)
    or ``auto`` (student with an ONNX encoder when more than :data:`EMBED_BUDGET_TOKENS` tokens are
    left to embed (:func:`tokens_to_embed`), kept only when its mean cosine to the encoder on held-out
    products reaches :data:`MIN_FIDELITY`; otherwise every product is embedded). Step timings go to
    ``shelf.timings``."""

    encoder: str = "auto"
    multilingual: str | None = None
    auto_multilingual: bool = False
    cache: Path | None = None
    personal_weight: float = 0.1
    judgments: Judgments | None = None
    reranker: str = "ltr"
    recommender: HybridConfig | None = None
    progress: bool = True
    vectors: Path | None = None  # precomputed product vectors (.npy / .parquet id+vector): skip embedding
    vector_store: str | None = None  # None / "embedded": faiss in the shelf; milvus-lite:///dir or milvus://host:port
    embed: str = "auto"
    student: StudentConfig = field(default_factory=StudentConfig)
    lexical: LexicalConfig | None = None  # None: the defaults (e.g. LexicalConfig(title_weight=2))
    synonyms: Path | None = None  # the store's synonym file (Solr format: shelfwise.retrieve.synonyms)
    rules: Path | None = None  # the store's merchandising rules (JSON: shelfwise.retrieve.rules)
    lexical_shortcut: int | None = None  # SearchConfig.lexical_shortcut (None: its default)
    reuse_tuning: SavedTuning | None = None  # the replaced recommender's searched weights (recommend.retune)

    def __post_init__(self) -> None:
        if self.embed not in EMBED_MODES:
            raise ValueError(f"embed must be one of {EMBED_MODES}, got {self.embed!r}")
        if not self.personal_weight >= 0:
            raise ValueError(f"personal weight must be >= 0, got {self.personal_weight}")
        if self.reranker not in RERANKERS:
            raise ValueError(f"reranker must be one of {RERANKERS}, got {self.reranker!r}")


def build_search(catalog: Catalog, config: ShelfConfig, log: Log = _quiet) -> Shelf:
    """A shelf that searches ``catalog``: encoder picked by language, BM25 + vector indexes."""
    from shelfwise.shelf import Shelf

    synonyms = read_synonyms(config.synonyms) if config.synonyms is not None else None  # fails before embedding
    rules = read_rules(config.rules, catalog.ids) if config.rules is not None else None
    t0 = time.perf_counter()
    profile = detect_language(catalog.texts())
    choice = choose_encoder(profile, config.encoder)
    log(f"encoder {choice.spec!r} ({choice.reason})")
    if choice.warning:
        log(f"warning: {choice.warning}")
    encoder = load_encoder(choice.spec, config.cache)
    multi_spec = config.multilingual
    if config.auto_multilingual and choice.spec not in ENGLISH_ONLY_ENCODERS:
        multi_spec = None
    elif multi_spec is not None and (profile.needs_multilingual or multi_spec == choice.spec):
        log(f"--multilingual {multi_spec}: not needed, the main encoder {choice.spec!r} already serves Chinese queries")
        multi_spec = None
    multi = load_encoder(multi_spec, config.cache) if multi_spec else None
    encoder_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = None if config.vectors is None else load_vectors(config.vectors, catalog.ids, encoder.dim)
    if vectors is None:
        encoder, vectors = _vectors_by_student(catalog, encoder, config, log)
    log(f"building indexes with encoder {encoder.name} ...")
    searcher = HybridSearcher.build(
        catalog,
        encoder,
        lexical=config.lexical,
        progress=config.progress,
        language=profile,
        encoder_spec=choice.spec,
        multilingual=multi,
        multilingual_spec=multi_spec,
        item_vectors=vectors,
        vector_store=config.vector_store,
    )
    chars = searcher.lexical.chars  # syllables are cut when any product text has CJK (the profile samples)
    syllables = chars is not None and isinstance(chars.tokenizer, CharNgrams) and chars.tokenizer.pinyin
    log(searcher.lexical.config.describe(chinese=syllables or profile.cjk_share > 0))
    searcher.config = replace(searcher.config, personal_weight=config.personal_weight)
    if config.lexical_shortcut is not None:
        searcher.config = replace(searcher.config, lexical_shortcut=config.lexical_shortcut)
    if synonyms is not None:  # before any reranker is trained: it learns from the expanded searches
        searcher.synonyms = synonyms
        for problem in synonyms.problems:
            log(f"warning: {problem} (line skipped)")
        log(f"synonyms: {len(synonyms)} rule{'s' if len(synonyms) != 1 else ''} from {config.synonyms}")
    shelf = Shelf(catalog=catalog, searcher=searcher, rules=rules)
    for problem in rules.problems if rules is not None else ():
        log(f"warning: {problem} (skipped)")
    if rules is not None:
        log(f"merchandising rules: {len(rules)} from {config.rules}")
    shelf.timings.update(encoder_load_s=encoder_s, index_build_s=time.perf_counter() - t0)
    return shelf


def _vectors_by_student(
    catalog: Catalog, encoder: Encoder, config: ShelfConfig, log: Log
) -> tuple[Encoder, npt.NDArray[np.float32] | None]:
    """``(encoder, product vectors)`` from student embedding when ``config.embed`` asks for it
    (``auto``: large catalogs, ONNX encoders, fidelity checked); ``(encoder, None)``: embed them all."""
    if config.embed == "full":
        return encoder, None
    if config.embed == "auto":
        if not isinstance(getattr(encoder, "encoder", encoder), OnnxEncoder):
            return encoder, None  # the student path needs an ONNX encoder: every product is embedded
        tokens = tokens_to_embed(encoder, catalog.texts())
        left = f"{len(catalog):,} products, ~{tokens / 1e6:.2g}M tokens left to embed"
        if tokens <= EMBED_BUDGET_TOKENS:
            if tokens > EMBED_BUDGET_TOKENS / 4:  # worth a line: a minute or more of embedding
                log(f"{left}: embedding every product (--embed student: ~3x faster, -2% NDCG on Home Depot)")
            return encoder, None
        log(f"{left} (> {EMBED_BUDGET_TOKENS / 1e6:.0f}M): student embedding (--embed full: embed every product)")
    fit = fit_student(encoder, catalog.texts(), config.student, progress=config.progress)
    log(fit.stats.describe())
    fidelity = fit.stats.holdout_cosine_mean
    if config.embed == "auto" and not fidelity >= MIN_FIDELITY:  # NaN: nothing held out, not checked
        measured = (
            f"{fidelity:.3f} < {MIN_FIDELITY}" if fit.stats.holdout_products else "not measured (no held-out products)"
        )
        log(f"student fidelity {measured}: embedding every product with the encoder instead")
        return encoder, None
    return fit.encoder, fit.vectors


def tokens_to_embed(encoder: Encoder, texts: Sequence[str], *, sample: int = BUDGET_SAMPLE, seed: int = 0) -> int:
    """About how many tokens ``encoder`` (an ONNX encoder, maybe behind the embedding cache) would run
    to embed ``texts``: the mean token count of a seeded sample of them, times the texts the cache
    lacks (the sample's share), truncation and prefix included."""
    inner = getattr(encoder, "encoder", encoder)
    if not isinstance(inner, OnnxEncoder):
        raise TypeError(f"tokens_to_embed needs an ONNX encoder, got {encoder.name!r}")
    if not texts:
        return 0
    rows = np.random.default_rng(seed).choice(len(texts), size=min(sample, len(texts)), replace=False)
    picked = [texts[i] for i in rows]
    cached = encoder.cached(picked) if isinstance(encoder, CachedEncoder) else np.zeros(len(picked), dtype=bool)
    counts = inner.token_counts(picked)
    return round(float(np.where(cached, 0, counts).mean()) * len(texts))


def item_counts(events: EventLog | None, n_items: int) -> npt.NDArray[np.float64] | None:
    """Interactions per catalog row (the rerankers' popularity feature); None without events."""
    if events is None:
        return None
    return np.bincount(events.item[events.item >= 0], minlength=n_items).astype(np.float64)


def train_reranker(shelf: Shelf, config: ShelfConfig, log: Log = _quiet) -> None:
    """Train ``config.reranker`` on ``config.judgments`` and set it on the shelf's searcher."""
    judged = config.judgments
    if judged is None:
        return
    t0 = time.perf_counter()
    if config.reranker == "cross":
        if shelf.events is not None:
            log("  events: the cross-encoder does not use popularity (only the ltr reranker does)")
        cross = fit_cross_reranker(shelf.searcher, judged.queries, judged.relevance)
        shelf.searcher.reranker = cross
        log(
            f"trained the cross-encoder reranker on {cross.log.n_pairs} pairs from {cross.log.n_queries} judged"
            f" queries in {cross.log.seconds:.0f} s; blend ({cross.blend.kind}) fitted on"
            f" {cross.log.blend_queries} held-out queries"
        )
    else:
        popularity = item_counts(shelf.events, len(shelf.catalog))
        shelf.searcher.reranker = fit_reranker(shelf.searcher, judged.queries, judged.relevance, popularity=popularity)
        n = len(judged.judged())
        log(f"trained the reranker on {n} judged queries")
        if n < FEW_JUDGED:
            log(
                f"warning: {n} judged queries are few to learn a ranking from: the reranker's weights may fit"
                " their quirks more than the store's (it reorders every search); judge more queries, or build"
                " without --judgments"
            )
    shelf.timings["reranker_fit_s"] = time.perf_counter() - t0


def fit_recommendations(shelf: Shelf, events: EventLog, config: ShelfConfig, log: Log = _quiet) -> None:
    """Fit the hybrid recommender on ``events``; it also supplies the shoppers' profiles."""
    from shelfwise.recommend.hybrid import build_recommender

    t0 = time.perf_counter()
    log("fitting recommenders (popularity, co-occurrence, ALS, content, cross-category) ...")
    rec = build_recommender(
        shelf.catalog,
        events,
        shelf.searcher.dense.index,
        config.recommender,
        encoder=shelf.searcher.encoder,
        reuse=config.reuse_tuning,
    )
    shelf.events, shelf.recommender, shelf.user_profiles = events, rec, rec.profiles
    shelf.timings["recommender_fit_s"] = time.perf_counter() - t0
    log(f"recommendations from {len(events)} events")
    if rec.tuning.status in SEARCHED:  # the weights every list is fused with: say what they became
        used = ", ".join(f"{name} {w:g}" for name, w in rec.config.weights if w > 0)
        log(f"hybrid weights ({rec.tuning.reason}): {used}")
    stale = rec.popularity.stale_note(time.time())
    if stale:
        log(f"warning: {stale}")


def build_shelf(catalog: Catalog, events: EventLog | None, config: ShelfConfig, log: Log = _quiet) -> Shelf:
    """Search indexes, then (with ``events``) the recommender, then (with judgments) the reranker."""
    shelf = build_search(catalog, config, log)
    if events is not None:
        fit_recommendations(shelf, events, config, log)
    train_reranker(shelf, config, log)
    t0 = time.perf_counter()
    suggester = shelf.suggestions()
    shelf.timings["suggestions_s"] = time.perf_counter() - t0
    log(f"type-ahead suggestions: {suggester.describe()}")
    return shelf
