"""Hybrid recommender: weighted fusion of behaviour and language-model text signals.

Each component scores the whole catalog; scores are scaled to [0, 1] per component and summed
with weights tuned on a validation split (weighted hybrid, Burke, 2002, "Hybrid Recommender
Systems: Survey and Experiments"). An optional popularity penalty ``score / (1 + n_j)^beta``
trades head items for long-tail ones (Abdollahpouri et al., 2019). Cold start falls out of
the fusion: a shopper with no history gets popularity (plus query text when given); an item
with no behaviour gets its text similarity, twice: as content and as "cold", weighted on its own
(:mod:`shelfwise.recommend.cold_items`: else every behaviour term it lacks keeps it off lists).

Sequence-aware components read the latest clicks in order: sequential rules and STAN session kNN
(:mod:`.sequence`); the opt-in ones (``OPT_IN``, fitted only when weighted): session-graph walks
(:mod:`.walk`), SASRec (:mod:`.sasrec`) and, for next baskets, TIFU-KNN (:mod:`.tifu`).
Weights are learned per store at fit time on its latest sessions (:mod:`.autotune`), kept in
:attr:`HybridRecommender.tuning` and saved; they and the sub-model configs are :class:`HybridConfig`
(:mod:`.hybrid_config`, re-exported here).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.encode.base import Encoder, query_encoder
from shelfwise.events.schema import Event, EventLog
from shelfwise.index.backends import VectorStore
from shelfwise.index.text import is_blank
from shelfwise.recommend.autotune import TuneConfig, TuningReport, tune_folds, validation_folds, validation_split
from shelfwise.recommend.base import BaseRecommender, Context, ItemScorer, Recommendation, minmax
from shelfwise.recommend.baskets import BasketRecommender
from shelfwise.recommend.between import list_fusion
from shelfwise.recommend.cold_items import ColdItemRecommender, scores_many
from shelfwise.recommend.content import ContentRecommender
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.recommend.cross import CrossCategoryRecommender
from shelfwise.recommend.factor import ALSRecommender, _implicit_classes
from shelfwise.recommend.hybrid_config import COMPONENTS, DEFAULT_SIMILAR, DEFAULT_WEIGHTS, OPT_IN, HybridConfig
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.listing import ScoredList, evidence, query_led, top_distinct, top_first
from shelfwise.recommend.persist import (
    StateFileError,
    check_shape,
    config_from_json,
    config_to_json,
    read_json,
    read_npz,
    write_json,
)
from shelfwise.recommend.popularity import PopularityRecommender, RepeatRecommender
from shelfwise.recommend.profiles import UserProfiles
from shelfwise.recommend.reasons import pick_reasons
from shelfwise.recommend.retune import SavedTuning, reuse, reuse_verdict
from shelfwise.recommend.sasrec import SASRecRecommender
from shelfwise.recommend.sequence import RecentCooccurrence, SequentialRulesRecommender, SessionKNNRecommender
from shelfwise.recommend.side_search import SideSearches
from shelfwise.recommend.tifu import TifuRecommender
from shelfwise.recommend.vectors import ItemVectors
from shelfwise.recommend.walk import SessionWalkRecommender
from shelfwise.results import FloatArray, Results

if TYPE_CHECKING:
    from threadpoolctl import threadpool_limits

__all__ = [  # the config names live in hybrid_config; importable from here as before
    "COMPONENTS",
    "DEFAULT_SIMILAR",
    "DEFAULT_WEIGHTS",
    "FORMAT",
    "FORMAT_VERSION",
    "HybridConfig",
    "HybridRecommender",
    "build_recommender",
]

FORMAT = "shelfwise.hybrid-recommender"
FORMAT_VERSION = 6  # 2: sequence, sknn (and sasrec) state files and the tuning report; 3: compact ALS; 4: walk; 5: tifu
# factors (items with factors only) and text-graph rows for items with events above
# ContentConfig.all_rows_max_items (version 2 folders load: their full factor matrix is compacted);
# 6: baskets (no state file: its settings and chosen group size are in the config; weights may name it)


def _load_native() -> None:
    """Import the native libraries a fit loads (implicit; faiss, for the text graph, when
    installed) before ALS holds BLAS at one thread while the other components fit in a thread
    of their own: a library that thread loads during the limit escapes it (implicit warns)."""
    _implicit_classes()
    with contextlib.suppress(ImportError):
        import faiss  # noqa: F401


class HybridRecommender(BaseRecommender):
    """Fuses repeat-purchase, co-occurrence, ALS, LM-content, popularity and sequence-aware scores."""

    name = "hybrid"

    def __init__(
        self,
        item_vectors: npt.NDArray[np.float32] | VectorStore | ItemVectors,
        config: HybridConfig | None = None,
        encoder: Encoder | None = None,
        reuse: SavedTuning | None = None,
    ) -> None:
        """``item_vectors``: the catalog's item vectors, a float32 matrix or the shelf's vector
        index (``searcher.dense.index``), whose rows are then read from its codes, not copied.
        ``reuse``: the model this one replaces; its searched weights are kept by the next fit
        instead of a new search while :func:`~shelfwise.recommend.retune.reuse_verdict` allows."""
        super().__init__()
        self.config = config or HybridConfig()
        self.encoder = encoder
        self._reuse = reuse
        self.vectors = ItemVectors(item_vectors)
        self.popularity = PopularityRecommender(self.config.popularity)
        self.cooccurrence = CooccurrenceRecommender(self.config.cooccurrence)
        self.als = ALSRecommender(self.config.als)
        self.content = ContentRecommender(self.vectors, self.config.content)
        self.cold = ColdItemRecommender(self.content, lambda: self.counts)
        self.repeat = RepeatRecommender()
        self.recent = RecentCooccurrence(self.cooccurrence, self.config.recent)
        self.sequence = SequentialRulesRecommender(self.config.sequence)
        self.sknn = SessionKNNRecommender(self.config.sknn)
        self.walk = SessionWalkRecommender(self.config.walk, self.cooccurrence)
        self.sasrec = SASRecRecommender(self.config.sasrec)
        self.tifu = TifuRecommender(self.config.tifu, lambda: self.config.baskets.gap_minutes)  # cut as "baskets"
        self.baskets = BasketRecommender(lambda: self.config.basket_setting())  # the search's group size: in config
        parts: tuple[ItemScorer, ...] = (self.repeat, self.cooccurrence, self.als, self.content, self.cold)
        parts += (self.popularity, self.recent, self.sequence, self.sknn, self.walk, self.sasrec)
        parts += (self.tifu, self.baskets)
        self.components: dict[str, ItemScorer] = {c.name: c for c in parts}  # keyed by each one's name
        self.cross_model = CrossCategoryRecommender(self.cooccurrence, self.content, self.config.cross)
        self.counts: FloatArray = np.zeros(0, dtype=np.float32)
        self.fitted_interactions = 0  # interactions it was fitted on (saved with it; live updates not counted)
        self.tuning = TuningReport()

    @property
    def item_vectors(self) -> npt.NDArray[np.float32]:
        """Every item vector as one float32 matrix (from a vector index: a fresh decoded copy, for
        offline tools; serving reads rows through :attr:`vectors`)."""
        return self.vectors.matrix()

    def _uses(self, name: str) -> bool:
        return self.config.uses(name)

    def _fit_components(
        self, data: Interactions, warm: bool = False, als: Future[ALSRecommender] | None = None
    ) -> None:
        """Fit every component on ``data``; ``warm``: they were just fitted on its earlier rows
        (fit-time tuning), so ALS starts from those factors (``TuneConfig.refit_iterations``)
        and SASRec from those weights (``TuneConfig.refit_epochs``). SASRec is trained only
        while some weight set uses it: when tuning gives it weight 0 everywhere, it is not
        trained a second time. The other components fit in a thread of their own meanwhile
        (``implicit`` releases the GIL while ALS fits here, where its BLAS thread limit holds;
        the same models, their fit time hidden behind ALS's); ``als``: that fit already under
        way (:meth:`_als_early`, :meth:`_als_ahead`)."""
        tc = self.config.tune
        _ = data.profiles  # built once here, not raced for by the two threads
        if als is not None:
            self._fit_others(data, warm, tc)
            done = als.result()
        else:
            _load_native()
            with ThreadPoolExecutor(1) as pool:
                others = pool.submit(self._fit_others, data, warm, tc)
                done = self._fit_als(data, warm)
                others.result()
        if done is not self.als:  # fitted ahead on a copy
            self.als = self.components["als"] = done
        self.profiles = data.profiles
        self.profiles.item_vectors = self.vectors
        self.counts = data.item_counts()
        self.fitted_interactions = len(data.item)

    def _fit_als(self, data: Interactions, warm: bool, als: ALSRecommender | None = None) -> ALSRecommender:
        als = als or self.als
        n = self.config.tune.refit_iterations
        if warm and n:
            als.refit(data, n)
        else:
            als.fit(data)
        return als

    def _als_early(
        self, data: Interactions, train: Interactions, held: Interactions
    ) -> tuple[Future[ALSRecommender], threadpool_limits] | None:
        """Tuning's ALS fit on the latest validation slice's earlier rows ``train``, started in a
        thread on a copy as soon as the slice is cut, while this thread cuts the prefixes, builds
        the histories and fits the other components (the fit reassigns the copy's arrays: the
        same factors as fitting later), and the BLAS thread limit it needs, set here (a limit set
        in that thread does not reach scipy's OpenBLAS) until the caller restores it. None when the
        slice cannot be tuned on (no slice, or fewer prefixes, or surely fewer new-item prefixes,
        than ``TuneConfig.min_cases``, which :func:`tune_folds` needs of both): nothing is fitted
        in vain."""
        tc = self.config.tune
        sessions = len(np.unique(held.session))
        prefixes = len(held) - sessions  # sessions of n events hold n - 1
        # a prefix's next item is new only at the first time its session shows that item (the
        # history may hold it too: fewer), so new items number at most the distinct (session, item)
        # pairs less each session's first event; earlier slices (folds > 1) may add one per row
        pairs = len(np.unique(held.session.astype(np.int64) * max(held.n_items, 1) + held.item))
        new_most = pairs - sessions + (len(train) if tc.folds > 1 else 0)
        if not len(held) or len(train) == len(data) or min(prefixes, new_most) < tc.min_cases:
            return None
        _load_native()  # before the limit, so that it covers every BLAS these load (see _fit_components)
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1, "blas")
        pool = ThreadPoolExecutor(1)
        try:
            return pool.submit(self._fit_als, train, False, copy.copy(self.als)), limit
        finally:
            pool.shutdown(wait=False)  # the thread ends when the fit does

    def _als_ahead(self, data: Interactions) -> Future[ALSRecommender]:
        """The final fit's warm ALS refit on all of ``data``, started in a thread on a copy of
        the ALS tuning just fitted on the earlier rows, while tuning still scores with that one
        (the refit reassigns the copy's arrays, never writes into them): the same factors as
        refitting after tuning, its time hidden behind the scoring."""
        _ = data.profiles  # built here, not in the thread
        pool = ThreadPoolExecutor(1)
        try:
            return pool.submit(self._fit_als, data, True, copy.copy(self.als))
        finally:
            pool.shutdown(wait=False)  # the thread ends when the refit does

    def _fit_others(self, data: Interactions, warm: bool, tc: TuneConfig) -> None:
        """Every component but ALS (see :meth:`_fit_components`)."""
        for name, comp in self.components.items():
            if name == "als":
                continue
            if name in OPT_IN and not self._uses(name):  # not weighted: unfitted, it scores nothing
                if comp is self.sasrec:
                    self.sasrec.reset(data.catalog, data.profiles)  # no torch needed
                else:
                    comp.fit(Interactions.empty(data.catalog))
            elif comp is self.sasrec and warm and tc.refit_epochs:
                self.sasrec.refit(data, tc.refit_epochs)
            else:
                comp.fit(data)

    def _fit(self, data: Interactions) -> None:
        self.content.fit(data)  # text-graph rows for every item with events; tuning's folds (earlier rows) keep it
        ahead: list[Future[ALSRecommender]] = []
        saved, self._reuse = self._reuse, None  # good for one fit
        now = time.time()
        why = reuse_verdict(saved, self.config, len(data), now) if saved is not None else None
        if not self.config.tune.enabled:
            self.tuning = TuningReport(reason="tuning disabled")
        elif saved is not None and why is None:  # the weights the replaced model searched
            self.config, self.tuning = reuse(self.config, saved, now)
        else:
            self.tuning = self._tune(data, ahead)
            if why is not None:
                self.tuning.reason += f"; searched again: {why}"
        warm = self.tuning.status == "tuned"
        self._fit_components(data, warm=warm, als=ahead[0] if ahead and warm else None)

    def _tune(self, data: Interactions, ahead: list[Future[ALSRecommender]]) -> TuningReport:
        """Learn weights on the latest sessions (components fitted on the earlier rows), then keep them. The latest
        slice's ALS fit starts once it is cut (:meth:`_als_early`); once its components are fitted, the final ALS
        refit (:meth:`_als_ahead`, in ``ahead``) and the related-items and between-sessions searches
        (:class:`SideSearches`) start. The verdict is kept in :attr:`tuning`, said by whoever fits."""
        tc = self.config.tune
        first = validation_split(data, tc.fraction, tc.max_sessions)
        early, side = self._als_early(data, *first), SideSearches(self, first)
        try:
            folds = validation_folds(data, tc, first)

            def fit(rows: Interactions) -> None:
                if early is not None and rows is first[0]:
                    self._fit_components(rows, als=early[0])
                    early[1].restore_original_limits()  # that ALS fit is done: BLAS gets its threads back
                else:
                    self._fit_components(rows)
                side.fitted(rows)  # the latest slice's: the related and between searches start
                if tc.refit_iterations and rows is folds[0][0]:
                    ahead.append(self._als_ahead(data))

            rep = tune_folds(self, folds, tc, fit)
        finally:
            if early is not None:  # e.g. too few prefixes: that fit is not waited for
                early[1].restore_original_limits()
            side.wait()  # the components they read are refitted next
        if rep.status == "tuned":
            rep.tuned_at, rep.interactions = time.time(), len(data)
            self.set_weights(rep.weights, rep.penalty)
            self.set_weights(rep.new_weights, rep.new_penalty, new=True)
            side.finish(rep)  # related items, then a shopper with no live session (next baskets)
        return rep

    def update(self, events: Sequence[Event]) -> None:
        """Absorb committed events: histories, popularity and co-occurrence change at once;
        ALS and content fold the new history in at query time."""
        if self.profiles is not None:
            self.profiles.update(events)
        self.popularity.update(events)
        self.cooccurrence.update(events)
        for e in events:
            row = self.catalog.get_row(e.item_id) if e.item_id else None
            if row is not None:
                self.counts[row] += 1.0

    def set_weights(self, weights: Mapping[str, float], penalty: float | None = None, *, new: bool = False) -> None:
        self.config = self.config.with_weights(weights, penalty, new=new)

    # --- scoring ------------------------------------------------------------------------------
    def component_scores(
        self, ctx: Context, weights: Mapping[str, float] | None = None, exclude_seen: bool = False
    ) -> dict[str, FloatArray]:
        """Scores for ``ctx``, scaled to [0, 1] (0 = no evidence), of the components ``weights`` uses
        (default: every component either weight set uses); with ``exclude_seen`` and
        ``HybridConfig.scale_unseen``, scaled over the items not in ``ctx`` (seen ones score 0)."""
        pairs = weights.items() if weights is not None else self.config.weight_pairs()
        used = [n for n, w in pairs if w > 0]
        out = {}
        for name in dict.fromkeys(used):
            s = self.components[name].score(ctx)
            if exclude_seen and self.config.scale_unseen and len(ctx):
                s[ctx.items] = -np.inf  # score() returns a new array (ItemScorer)
            out[name] = minmax(s)
        return out

    def raw_scores_many(self, contexts: Sequence[Context], names: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        """Each named component's unscaled ``score_many`` of ``contexts`` (cold items' from content's)."""
        return scores_many(self.components, contexts, names)

    def fuse(self, scores: Mapping[str, FloatArray], weights: Mapping[str, float], penalty: float) -> FloatArray:
        total = np.zeros(self.n_items, dtype=np.float32)
        for name, s in scores.items():
            w = weights.get(name, 0.0)
            if w > 0:
                total += np.float32(w) * s
        if penalty > 0:
            total /= np.power(1.0 + self.counts, penalty).astype(np.float32)
        return total

    def score(self, ctx: Context, exclude_seen: bool = False) -> FloatArray:
        """Fused scores (``-inf`` where no component has evidence) in the fusion :meth:`recommend` ranks
        ``ctx`` by (:func:`~shelfwise.recommend.between.list_fusion`; seen items are not masked here)."""
        weights, penalty = list_fusion(self, ctx, ctx, exclude_seen)
        return evidence(self.fuse(self.component_scores(ctx, weights, exclude_seen), weights, penalty))

    def score_item(self, item: int) -> FloatArray:
        total = np.zeros(self.n_items, dtype=np.float32)
        for name, w in self.config.similar_weights:
            if w > 0:
                total += np.float32(w) * minmax(self.components[name].score_item(item))
        return evidence(total)

    def _pick_reasons(
        self, ctx: Context, rows: Sequence[int], scores: Mapping[str, FloatArray], weights: Mapping[str, float]
    ) -> tuple[str, ...]:
        """:func:`~shelfwise.recommend.reasons.pick_reasons` over this hybrid's components."""
        return pick_reasons(self.components, ctx, rows, scores, weights)

    def explain(self, ctx: Context | None, item: int) -> str:
        c = ctx if ctx is not None else Context.empty()
        return self._pick_reasons(c, [item], self.component_scores(c), dict(self.config.weights))[0]

    def recommend(
        self, user: str | Context, k: int = 10, filters: Filters | None = None, *, exclude_seen: bool = True
    ) -> Recommendation:
        return self.recommend_scored(user, k, filters, exclude_seen=exclude_seen).recommendation

    def recommend_scored(
        self, user: str | Context, k: int = 10, filters: Filters | None = None, *, exclude_seen: bool = True
    ) -> ScoredList:
        """:meth:`recommend`'s list, every item's fused score it was ranked by (:meth:`score`'s, one
        scoring pass for both: an explored slot reads its own item's score there) and the items it
        could show (:meth:`allowed`, read once: the explored slots draw from it)."""
        ctx = self.context(user)
        weights, penalty = list_fusion(self, user, ctx, exclude_seen)
        scores = self.component_scores(ctx, weights, exclude_seen)  # only the set this list fuses
        fused = evidence(self.fuse(scores, weights, penalty))
        mask = self.allowed(filters, ctx, exclude_seen)
        matches = self.content.query_matches(ctx)  # a typed query's matches lead the list
        if matches is None:
            res = self._top(fused, k, mask)
        else:
            res = top_first(self.catalog, fused, k, mask, matches.mask(len(mask)), self.config.collapse_variants)
        reasons = self._pick_reasons(ctx, res.ids.tolist(), scores, weights)
        if matches is not None:  # they lead because they match: say so
            reasons = query_led(self.content, ctx, res.ids.tolist(), reasons, matches)
        return ScoredList(Recommendation(res.ids, res.scores, reasons), fused, mask)

    def _top(self, fused: FloatArray, k: int, mask: npt.NDArray[np.bool_]) -> Results:
        """:func:`~shelfwise.recommend.listing.top_distinct` (one item per title under ``collapse_variants``)."""
        return top_distinct(self.catalog, fused, k, mask, self.config.collapse_variants)

    def similar(self, item: int, k: int = 10, filters: Filters | None = None) -> Recommendation:
        """Related items: co-occurrence, ALS item factors and text similarity fused."""
        weights = dict(self.config.similar_weights)
        scores = {n: minmax(self.components[n].score_item(item)) for n, w in weights.items() if w > 0}
        fused = self.fuse(scores, weights, 0.0)
        mask = self.allowed(filters)
        mask[item] = False
        res = self._top(evidence(fused), k, mask)
        return Recommendation(
            res.ids, res.scores, self._pick_reasons(Context.of([item]), res.ids.tolist(), scores, weights)
        )

    def cross(self, item: int, k: int = 10, filters: Filters | None = None) -> Recommendation:
        """Complements from other categories (see :class:`CrossCategoryRecommender`)."""
        return self.cross_model.recommend_for(item, k, self.allowed(filters))

    def recommend_session(
        self,
        items: Sequence[int],
        k: int = 10,
        filters: Filters | None = None,
        *,
        query: str = "",
        exclude_seen: bool = True,
    ) -> Recommendation:
        """Cold-start shopper: score the current session's items and/or query text; the query's
        matches (:meth:`ContentRecommender.query_matches`) come first, ranked by the fused score,
        other items only when fewer matches pass the filters."""
        query = "" if is_blank(query) else query.strip()  # a blank query (zero-width ones too) is none
        # the query side of the item encoder: E5's "query: " prefix; a student shelf's teacher, not its static table
        qv = query_encoder(self.encoder).encode([query])[0] if (query and self.encoder is not None) else None
        if query and self.encoder is None:
            raise ValueError("recommend_session(query=...) needs the hybrid to be built with an encoder")
        ctx = Context.of(items, query_vector=qv, query=query)
        if qv is not None and "content" not in self.config.fusion(exclude_seen)[0]:
            raise ValueError("query-based recommendations need a positive 'content' weight")
        return self.recommend(ctx, k, filters, exclude_seen=exclude_seen)

    # --- persistence (npz + JSON, no pickle) -------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write every fitted component's state to folder ``path``.

        ``popularity.npz``, ``cooccurrence.npz/.json``, ``als.npz/.json``, ``content.npz`` (the
        text kNN graph), ``profiles.npz/.json`` (histories), ``hybrid.npz`` (interaction counts)
        ``sequence.npz`` (sequential rules), ``sknn.npz`` (past sessions), ``walk.npz`` (item-to-item
        steps of the session graph), ``sasrec.npz/.json`` (only
        when SASRec is used) and, last, ``hybrid.json`` (format version, config, sizes, and
        ``tuning``: what fit-time weight tuning did). Item vectors are not written:
        they belong to the search index and are passed back to :meth:`load`. The repeat and
        cross-category models have no state beyond the histories, co-occurrence and content.
        """
        if self.profiles is None:
            raise RuntimeError("HybridRecommender is not fitted: call fit(interactions) first")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.popularity.save(p)
        self.cooccurrence.save(p)
        self.als.save(p)
        self.content.save(p)
        self.profiles.save(p)
        self.sequence.save(p)
        self.sknn.save(p)
        self.walk.save(p)
        self.tifu.save(p)
        self.sasrec.save(p)
        np.savez(p / "hybrid.npz", counts=self.counts)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "n_items": self.n_items,
            "vector_shape": list(self.vectors.shape),
            "encoder": self.encoder.name if self.encoder is not None else None,
            "config": config_to_json(self.config),
            "tuning": self.tuning.as_dict(),
            "fitted_interactions": self.fitted_interactions,  # live updates after the fit are not in it
        }
        write_json(p / "hybrid.json", meta)

    @classmethod
    def load(
        cls,
        path: str | Path,
        catalog: Catalog,
        item_vectors: npt.NDArray[np.float32] | VectorStore | ItemVectors,
        encoder: Encoder | None = None,
    ) -> HybridRecommender:
        """A recommender saved by :meth:`save`, ready to serve without refitting.

        ``item_vectors`` must be the (n_items, dim) vectors it was fitted with (the search
        index's: pass ``searcher.dense.index`` to read them from the index without a float32
        copy); a different shape, catalog, encoder or a newer format raises ``ValueError``,
        a missing or corrupt file :class:`StateFileError` naming it.
        """
        p = Path(path)
        f = p / "hybrid.json"
        meta = read_json(f)
        if meta.get("format") != FORMAT:
            raise StateFileError(f, f"not a saved hybrid recommender (format {meta.get('format')!r})")
        version = meta.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StateFileError(f, f"bad format_version {version!r}")
        if version > FORMAT_VERSION:
            raise StateFileError(
                f, f"format version {version} is newer than this shelfwise reads ({FORMAT_VERSION}); upgrade shelfwise"
            )
        try:
            cfg = config_from_json(HybridConfig, meta.get("config"), "config")
            saved_shape = tuple(int(x) for x in meta["vector_shape"])
            n_items = int(meta["n_items"])
        except (KeyError, TypeError, ValueError) as e:
            raise StateFileError(f, f"bad metadata ({e})") from e
        if n_items != len(catalog):
            raise ValueError(f"{f}: saved for {n_items} items, catalog has {len(catalog)}")
        vectors = ItemVectors(item_vectors)
        if vectors.shape != saved_shape:
            raise ValueError(
                f"{f}: the recommender was fitted on {saved_shape[1]}-wide item vectors of {saved_shape[0]} products, "
                f"the shelf's index has {vectors.shape[1]}-wide vectors of {vectors.shape[0]}: it was built with "
                f"another encoder or catalog; build the shelf with the --encoder the recommender was fitted with "
                f"(Python: pass the vectors of the index it was fitted on)"
            )
        saved_enc = meta.get("encoder")
        if encoder is not None and saved_enc is not None and encoder.name != saved_enc:
            raise ValueError(
                f"{f}: saved with encoder {saved_enc!r}, not {encoder.name!r}: build the shelf with the same --encoder"
            )
        rec = cls(vectors, cfg, encoder)
        profiles = UserProfiles.load(p, catalog, rec.vectors)
        for model in (rec, rec.popularity, rec.cooccurrence, rec.als, rec.content, rec.cold, rec.repeat):
            model.attach(catalog, profiles)
        for seq in (rec.recent, rec.sequence, rec.sknn, rec.walk, rec.sasrec, rec.tifu, rec.baskets):
            seq.attach(catalog, profiles)
        rec.popularity.load_state(p)
        rec.cooccurrence.load_state(p)
        rec.als.load_state(p)
        rec.content.load_state(p)
        if version >= 2:
            rec.sequence.load_state(p)
            rec.sknn.load_state(p)
            rec.sasrec.load_state(p)
        else:  # saved before sequence components existed: they score nothing
            rec.sequence.fit(Interactions.empty(catalog))
            rec.sknn.fit(Interactions.empty(catalog))
            rec.sasrec.reset(catalog, profiles)
        for part, since in ((rec.walk, 4), (rec.tifu, 5)):  # a folder saved before a part existed: it scores nothing
            part.load_state(p) if version >= since else part.fit(Interactions.empty(catalog))
        tuning = meta.get("tuning")
        rec.tuning = TuningReport.from_dict(tuning) if isinstance(tuning, dict) else TuningReport()
        h = p / "hybrid.npz"
        rec.counts = check_shape(h, "counts", read_npz(h, ("counts",))["counts"].astype(np.float32), (n_items,))
        saved_fit = meta.get("fitted_interactions")  # absent before it was saved: what the counts hold
        rec.fitted_interactions = (
            int(saved_fit) if isinstance(saved_fit, int) else int(rec.counts.sum(dtype=np.float64))
        )  # (a float32 sum rounds past 2**24)
        return rec


def build_recommender(
    catalog: Catalog,
    log: EventLog,
    item_vectors: npt.NDArray[np.float32] | VectorStore | ItemVectors,
    config: HybridConfig | None = None,
    *,
    encoder: Encoder | None = None,
    reuse: SavedTuning | None = None,
) -> HybridRecommender:
    """Fit a :class:`HybridRecommender` on ``log`` (``reuse``: see its constructor); registers nothing.

    The caller sets it as ``shelf.recommender`` and its ``profiles`` as ``shelf.user_profiles``.
    """
    vectors = ItemVectors(item_vectors)
    if vectors.shape[0] != len(catalog):
        raise ValueError(f"item_vectors has {vectors.shape[0]} rows, catalog has {len(catalog)}")
    cfg = config or HybridConfig()
    rec = HybridRecommender(vectors, cfg, encoder, reuse)
    rec.fit(Interactions.from_log(log, catalog, half_life_days=cfg.half_life_days))
    rec.tuning.announce()
    return rec
