"""Cross-category complements: what goes *with* an item, from other categories, not look-alikes.

Candidates are the seed's basket partners (asymmetric-cosine co-occurrence, Aiolli 2013)
restricted to other top-level categories, with a penalty on text similarity to the seed so
that near-duplicates ("another pasta") do not pass as complements (complementary vs
substitutable products, McAuley et al., 2015, "Inferring Networks of Substitutable and
Complementary Products"). An item with no baskets yet (cold start) borrows the partners of
its nearest text neighbours that do have baskets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import Context, Recommendation, minmax
from shelfwise.recommend.content import ContentRecommender
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.results import FloatArray, Results


@dataclass(frozen=True)
class CrossConfig:
    category_depth: int = 1  # "other category" = different category path prefix of this depth
    text_penalty: float = 1.0  # score *= 1 - text_penalty * max(0, cos(seed, candidate))
    proxies: int = 10  # text neighbours borrowed for a seed without baskets
    min_proxy_similarity: float = 0.3

    def __post_init__(self) -> None:
        if self.category_depth < 1 or self.proxies < 0:
            raise ValueError("CrossConfig: category_depth >= 1 and proxies >= 0")
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

    def _proxies(self, item: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """The ``proxies`` most text-similar items that have baskets (cosine >= ``min_proxy_similarity``).

        Read from the seed's text neighbours when enough of them qualify (the catalog's most
        similar items, so the same top); else every item's cosine is computed."""
        cfg, indptr = self.config, self.cooccurrence.pairs.indptr
        rows, sims = self.content.neighbours(item)
        ok = (indptr[rows + 1] > indptr[rows]) & (sims >= cfg.min_proxy_similarity) & (rows != item)
        if int(ok.sum()) >= cfg.proxies:
            res = Results.from_scores(sims[ok], cfg.proxies)
            return rows[ok][res.ids], res.scores
        sims = self.content.cosines(item)
        sims[item] = -np.inf
        has_baskets = np.diff(indptr) > 0
        sims = np.where(has_baskets & (sims >= cfg.min_proxy_similarity), sims, -np.inf).astype(np.float32)
        res = Results.from_scores(sims, cfg.proxies)
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
        return np.where(other & (s > 0), s, -np.inf).astype(np.float32), ctx

    def recommend_for(self, item: int, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Recommendation:
        s, ctx = self.scores(item)
        res = Results.from_scores(s, k, mask)
        catalog = self.cooccurrence.catalog
        seed = catalog.products[item].title
        if len(ctx) == 1 and int(ctx.items[0]) == item:
            reasons = tuple(f"bought together with {seed}" for _ in range(len(res)))
        else:
            partners = [self.cooccurrence.partner(ctx, int(r)) for r in res.ids]
            reasons = tuple(
                f"bought together with items like {seed}"
                + (f" (e.g. {catalog.products[p].title})" if p is not None else "")
                for p in partners
            )
        return Recommendation(res.ids, res.scores, reasons)
