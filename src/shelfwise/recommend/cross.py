"""Cross-category complements: what goes *with* an item, from other categories, not look-alikes.

Candidates are the seed's basket partners (asymmetric-cosine co-occurrence, Aiolli 2013)
restricted to other categories, with a penalty on text similarity to the seed so
that near-duplicates ("another pasta") do not pass as complements (complementary vs
substitutable products, McAuley et al., 2015, "Inferring Networks of Substitutable and
Complementary Products"). "Other category" is, by default, any category but the seed's own
(its whole path: trousers -> a belt from "Men > Accessories"); ``category_depth`` widens it to
another department (1: another top-level category). With ``exclude_same_type`` (the default)
the seed's product type, its category path's last level, is left out under every department
too: a "Ladieswear > ... > Dress" gets no "Divided > ... > Dress" as its complement. An item
with no baskets yet (cold start) borrows the partners of its nearest text neighbours that do
have baskets, preferring those of its own category (its substitutes: what goes with them goes
with it); any category when none of its own has baskets.

A seed with baskets is scored by how often each item shares its baskets, shrunk towards its
category's (``prior_baskets`` = m pseudo-baskets): ``(c_ij + m * q_j) / (n_i + m)``, where ``n_i``
is the seed's basket count, ``c_ij`` the baskets it shares with item ``j`` and ``q_j`` the share of
the other baskets of the seed's category (its whole path) that hold ``j``: a Bayesian estimate of
P(j | i) with the category's rate as its prior. With one or two baskets the category's evidence
leads, so one basket's chance companions (a sausage "going with" feminine pads) do not fill the
rail; with many, the seed's own. Each reason names the evidence its item's score came from: the
seed ("bought together with X") or its category ("bought together with items in Y (e.g. Z)").
``prior_baskets`` None keeps the earlier asymmetric-cosine score of the seed's partners alone.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.catalog.schema import Catalog
from shelfwise.recommend.base import Context, Recommendation, minmax
from shelfwise.recommend.content import ContentRecommender
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.recommend.wording import named
from shelfwise.results import FloatArray, Results


@dataclass(frozen=True)
class Evidence:
    """A seed's complement scores before the text penalty, in two parts: ``own`` from its own
    baskets and ``borrowed`` from others' (its category's rates, or a cold seed's text stand-ins),
    ``source`` the items lent from (empty: none), ``category`` whether those are its category's."""

    own: FloatArray
    borrowed: FloatArray
    source: Context = field(default_factory=lambda: Context.of([]))
    category: bool = False

    @property
    def total(self) -> FloatArray:
        return (self.own + self.borrowed).astype(np.float32)


@dataclass(frozen=True)
class CrossConfig:
    # "other category" = a different category path prefix of this depth; None: the seed's whole path
    category_depth: int | None = None
    text_penalty: float = 1.0  # score *= 1 - text_penalty * max(0, cos(seed, candidate))
    proxies: int = 10  # text neighbours borrowed for a seed without baskets
    min_proxy_similarity: float = 0.3
    exclude_same_type: bool = True  # leave out the seed's category leaf (product type) in every department
    # m pseudo-baskets of the seed's category's rates behind every seed (None: its own partners'
    # asymmetric cosine alone, as before); bench/bench_cross.py: 5, 10 and 20 all beat that on 3 stores
    prior_baskets: float | None = 10.0

    def __post_init__(self) -> None:
        if (self.category_depth is not None and self.category_depth < 1) or self.proxies < 0:
            raise ValueError("CrossConfig: category_depth >= 1 (or None: the whole path) and proxies >= 0")
        if self.prior_baskets is not None and not self.prior_baskets >= 0.0:
            raise ValueError("CrossConfig.prior_baskets must be >= 0 (or None)")
        if not 0.0 <= self.text_penalty <= 1.0:
            raise ValueError("CrossConfig.text_penalty must be in [0, 1]")


class CrossCategoryRecommender:
    """Uses the fitted co-occurrence and content models of a hybrid (nothing of its own to fit)."""

    def __init__(
        self, cooccurrence: CooccurrenceRecommender, content: ContentRecommender, config: CrossConfig | None = None
    ) -> None:
        self.cooccurrence = cooccurrence
        self.content = content
        self.config = config or CrossConfig()
        # the leaf codes of one catalog, held weakly: an updated catalog does not keep the old one alive
        self._leaves: tuple[weakref.ref[Catalog], npt.NDArray[np.int32], dict[str, int]] | None = None
        # each category's basket rates (q), for the pair counts and basket total they were read from
        self._rates: tuple[weakref.ref[sp.csr_matrix], float, dict[tuple[str, ...], tuple[FloatArray, float]]] | None
        self._rates = None

    def same_type(self, item: int) -> npt.NDArray[np.bool_]:
        """Items whose category leaf (last level, case-insensitive) is ``item``'s: none when it
        has no category. The leaf codes are computed once per catalog."""
        catalog = self.cooccurrence.catalog
        got = self._leaves
        if got is None or got[0]() is not catalog:
            index: dict[str, int] = {}
            leaves = (p.category[-1].strip().lower() if p.category else None for p in catalog.products)
            codes = np.fromiter(
                (-1 if leaf is None else index.setdefault(leaf, len(index)) for leaf in leaves),
                dtype=np.int32,
                count=len(catalog),
            )
            got = self._leaves = (weakref.ref(catalog), codes, index)
        cat = catalog.products[item].category
        code = got[2].get(cat[-1].strip().lower()) if cat else None
        return got[1] == code if code is not None else np.zeros(len(catalog), dtype=bool)

    def _proxies(self, item: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The seed's stand-ins: its most text-similar items with baskets from its own category
        (:meth:`_similar_with_baskets` within it); from any category when none there qualifies
        (or the seed has no category). The seed's cosines to every item, when needed, are computed
        once for both."""
        catalog = self.cooccurrence.catalog
        path = catalog.top_category(item, None)
        every: list[FloatArray] = []
        if path:
            ids, sims = self._similar_with_baskets(item, catalog.category_mask(path), every)
            if len(ids):
                return ids, sims
        return self._similar_with_baskets(item, None, every)

    def _similar_with_baskets(
        self, item: int, allowed: npt.NDArray[np.bool_] | None, every: list[FloatArray] | None = None
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The ``proxies`` most text-similar items that have baskets (cosine >= ``min_proxy_similarity``)
        among ``allowed`` rows (None: all).

        Read from the seed's text neighbours when enough of them qualify (the catalog's most
        similar items, so the same top); else every item's cosine is computed (kept in ``every``,
        read from it when already there)."""
        cfg, indptr = self.config, self.cooccurrence.pairs.indptr
        rows, sims = self.content.neighbours(item)
        ok = (indptr[rows + 1] > indptr[rows]) & (sims >= cfg.min_proxy_similarity) & (rows != item)
        if allowed is not None:
            ok &= allowed[rows]
        if int(ok.sum()) >= cfg.proxies:
            res = Results.from_scores(sims[ok], cfg.proxies)
            return rows[ok][res.ids], res.scores
        every = [] if every is None else every
        if not every:
            every.append(self.content.cosines(item))
            every[0][item] = -np.inf
        sims = every[0]
        keep = (np.diff(indptr) > 0) & (sims >= cfg.min_proxy_similarity)
        if allowed is not None:
            keep &= allowed
        res = Results.from_scores(np.where(keep, sims, -np.inf).astype(np.float32), cfg.proxies)
        return res.ids, res.scores

    def category_rates(self, item: int) -> tuple[FloatArray, float, npt.NDArray[np.int64]]:
        """What ``item``'s category (its whole path; the whole store when it has none) is bought
        with: per item, the baskets it shares with the category's items (summed over them), the
        category's basket total, and its items with baskets. Computed once per category while the
        pair counts and basket total stay as they were."""
        co, catalog = self.cooccurrence, self.cooccurrence.catalog
        total = float(co.baskets.sum())
        got = self._rates
        if got is None or got[0]() is not co.pairs or got[1] != total:
            got = self._rates = (weakref.ref(co.pairs), total, {})
        path = catalog.top_category(item, None)
        rows = np.flatnonzero(catalog.category_mask(path) & (co.baskets > 0)).astype(np.int64)
        hit = got[2].get(path)
        if hit is None:
            if len(got[2]) >= 4096:
                got[2].clear()
            shared = np.asarray(co.pairs[rows].sum(axis=0), dtype=np.float32).ravel()
            hit = got[2][path] = (shared, float(co.baskets[rows].sum()))
        return hit[0], hit[1], rows

    def evidence(self, item: int) -> Evidence:
        """The seed's scores from its own baskets and from what it borrows (:class:`Evidence`):
        its category's rates leave its own baskets out (they are its own evidence already). A
        seed with no basket partner (none yet, or only ever bought alone) borrows its text
        stand-ins' instead."""
        co, m = self.cooccurrence, self.config.prior_baskets
        n = float(co.baskets[item])
        zero = np.zeros(co.n_items, dtype=np.float32)
        partners, counts = co.together(item)
        if len(partners) and m is None:
            return Evidence(minmax(co.score_item(item)), zero)
        if len(partners) and m is not None:  # a seed only ever bought alone borrows like a cold one
            own = zero.copy()
            own[partners] = counts / (n + m)
            if m <= 0:
                return Evidence(own, zero)
            shared, baskets, rows = self.category_rates(item)
            rest = shared.copy()
            rest[partners] -= counts  # the category's baskets but the seed's
            q = np.maximum(rest, 0.0) / max(baskets - n, 1.0)
            return Evidence(own, (m / (n + m) * q).astype(np.float32), Context.of(rows[rows != item]), True)
        ids, sims = self._proxies(item)
        if not len(ids):
            return Evidence(zero, zero)
        ctx = Context.of(ids, sims)
        return Evidence(zero, minmax(co.score(ctx)), ctx)

    def scores(self, item: int) -> tuple[FloatArray, Context]:
        """Complement scores over the catalog and the context that explains them (the seed when
        it has baskets, else its text stand-ins)."""
        ev = self.evidence(item)
        ctx = ev.source if not ev.own.any() and not ev.category else Context.of([item])
        return self._penalised(item, ev.total), ctx

    def _penalised(self, item: int, s: FloatArray) -> FloatArray:
        """``s`` less the text penalty, ``-inf`` outside the seed's other categories."""
        cand = np.flatnonzero(s > 0)  # basket partners: the only items with a score to penalise
        cos = np.maximum(self.content.cosines(item, cand), 0.0)
        cos[cand == item] = 1.0
        s[cand] = (s[cand] * (1.0 - self.config.text_penalty * cos)).astype(np.float32)
        catalog = self.cooccurrence.catalog
        other = ~catalog.category_mask(catalog.top_category(item, self.config.category_depth))
        if self.config.exclude_same_type:
            other &= ~self.same_type(item)
        return np.where(other & (s > 0), s, -np.inf).astype(np.float32)

    def recommend_for(self, item: int, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Recommendation:
        """Top ``k`` complements; a reason names the seed when the seed's own baskets give its
        item at least half its score, else the items it was borrowed from."""
        ev = self.evidence(item)
        res = Results.from_scores(self._penalised(item, ev.total), k, mask)
        return Recommendation(res.ids, res.scores, tuple(self._reason(item, int(r), ev) for r in res.ids))

    def _reason(self, item: int, r: int, ev: Evidence) -> str:
        co, catalog = self.cooccurrence, self.cooccurrence.catalog
        whole = catalog.products[item].title
        seed = named(whole)
        if ev.own[r] > 0 and ev.own[r] >= ev.borrowed[r]:
            return co.pair_wording(item, r).together_with(seed, float(co.pairs[item, r]))
        p = co.partner(ev.source, r)
        wording = co.wording if p is None else co.pair_wording(p, r)
        example = f" (e.g. {_example(catalog.products[p].title, whole)})" if p is not None else ""
        if not ev.category:
            return wording.together_with(f"items like {seed}") + example
        path = catalog.products[item].category
        if not path:  # the store's rates: no category to name
            return wording.frequently_together() + example
        return wording.together_with(f"items in {path[-1]}") + example


def _example(title: str, seed: str) -> str:
    """A stand-in's name in a reason: "another Nevada" when it shares the seed's (H&M's colour variants),
    not "items like Nevada (e.g. Nevada)"."""
    return f"another {named(title)}" if title.strip().casefold() == seed.strip().casefold() else named(title)
