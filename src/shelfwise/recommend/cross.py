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
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.recommend.base import Context, Recommendation, minmax
from shelfwise.recommend.content import ContentRecommender
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.results import FloatArray, Results


@dataclass(frozen=True)
class CrossConfig:
    # "other category" = a different category path prefix of this depth; None: the seed's whole path
    category_depth: int | None = None
    text_penalty: float = 1.0  # score *= 1 - text_penalty * max(0, cos(seed, candidate))
    proxies: int = 10  # text neighbours borrowed for a seed without baskets
    min_proxy_similarity: float = 0.3
    exclude_same_type: bool = True  # leave out the seed's category leaf (product type) in every department

    def __post_init__(self) -> None:
        if (self.category_depth is not None and self.category_depth < 1) or self.proxies < 0:
            raise ValueError("CrossConfig: category_depth >= 1 (or None: the whole path) and proxies >= 0")
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

    def scores(self, item: int) -> tuple[FloatArray, Context]:
        """Complement scores over the catalog and the context that explains them."""
        direct = self.cooccurrence.score_item(item)
        if np.isfinite(direct).any():
            ctx = Context.of([item])
            s = minmax(direct)
        else:
            ids, sims = self._proxies(item)
            ctx = Context.of(ids, sims)
            s = minmax(self.cooccurrence.score(ctx)) if len(ids) else np.zeros(len(direct), dtype=np.float32)
        cand = np.flatnonzero(s > 0)  # basket partners: the only items with a score to penalise
        cos = np.maximum(self.content.cosines(item, cand), 0.0)
        cos[cand == item] = 1.0
        s[cand] = (s[cand] * (1.0 - self.config.text_penalty * cos)).astype(np.float32)
        catalog = self.cooccurrence.catalog
        other = ~catalog.category_mask(catalog.top_category(item, self.config.category_depth))
        if self.config.exclude_same_type:
            other &= ~self.same_type(item)
        return np.where(other & (s > 0), s, -np.inf).astype(np.float32), ctx

    def recommend_for(self, item: int, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Recommendation:
        s, ctx = self.scores(item)
        res = Results.from_scores(s, k, mask)
        catalog = self.cooccurrence.catalog
        seed = catalog.products[item].title
        co = self.cooccurrence
        if len(ctx) == 1 and int(ctx.items[0]) == item:
            reasons = tuple(co.pair_wording(item, int(r)).together_with(seed) for r in res.ids)
        else:
            partners = [co.partner(ctx, int(r)) for r in res.ids]
            reasons = tuple(
                (co.wording if p is None else co.pair_wording(p, int(r))).together_with(f"items like {seed}")
                + (f" (e.g. {_example(catalog.products[p].title, seed)})" if p is not None else "")
                for r, p in zip(res.ids.tolist(), partners, strict=True)
            )
        return Recommendation(res.ids, res.scores, reasons)


def _example(title: str, seed: str) -> str:
    """A stand-in's name in a reason: "another Nevada" when it shares the seed's (H&M's colour variants),
    not "items like Nevada (e.g. Nevada)"."""
    return f"another {title}" if title.strip().casefold() == seed.strip().casefold() else title
