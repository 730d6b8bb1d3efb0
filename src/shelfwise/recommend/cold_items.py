"""Cold items on personal lists: products with no events yet, reached through their text.

The hybrid sums component scores scaled to [0, 1] (a weighted hybrid, Burke, 2002). An item nobody
has had an event on gets 0 ("no evidence") from every behaviour component: it competes on its text
term alone against items that add repeat, co-occurrence, ALS, popularity and session terms to
theirs, and with any store's weights it never reaches a personal list (0 of 552 Instacart lists in
``bench/bench_cold_start.py`` before this component). Its text score is therefore a feature of its own
here, ``"cold"``: the content component's score (text similarity to the shopper's history, the
cold-start remedy of content-based filtering: Schein et al., 2002, "Methods and Metrics for
Cold-Start Recommendations") kept for the items without events only, scaled among them (the best
such match for this shopper scores 1), with its own weight in the fusion. That weight is learned
with the others at fit time on the store's latest sessions (:mod:`shelfwise.recommend.autotune`),
where the items first chosen in the validation slice are exactly such items: a blend whose weight
on a model depends on a property of the item, here "has it any events" (Sill et al., 2009,
"Feature-Weighted Linear Stacking"). A store whose shoppers do buy what resembles their history
among its unsold items gets them on its lists; one whose validation sessions say they displace
better items gets a low weight.

Which items are cold is read from the hybrid's interaction counts when scoring (``counts``: the
fitted log's, raised by live events), so an item stops being cold with its first event. Related
items need none of this: the text graph already reaches cold items there (``score_item`` scores none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import BaseRecommender, Context, ItemScorer, no_evidence
from shelfwise.recommend.content import ContentRecommender
from shelfwise.recommend.entries import EntryScores
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.wording import named
from shelfwise.results import FloatArray

# the shopper's side of a cold item's reason, by the evidence the history holds (Wording.done)
_YOURS = {
    "bought": "you bought",
    "viewed": "you viewed",
    "added to carts": "you added to your cart",
    "chosen": "you showed interest in",
}


def cold_reason(title: str, done: str) -> str:
    """ "new, similar to X you bought" (``done``: :attr:`Wording.done <shelfwise.recommend.wording.Wording.done>`)."""
    return f"new, similar to {named(title)} {_YOURS.get(done, _YOURS['chosen'])}"


class ColdItemRecommender(BaseRecommender):
    """The content component's scores of the items with no events (``-inf`` elsewhere)."""

    name = "cold"

    def __init__(self, content: ContentRecommender, counts: Callable[[], FloatArray]) -> None:
        """``content``: the hybrid's text component (its graph and vectors, not copied); ``counts``:
        the hybrid's interaction count per item, read at each call."""
        super().__init__()
        self.content = content
        self._counts = counts

    def _fit(self, data: Interactions) -> None:
        """Nothing of its own: the text graph is the content component's, the counts the hybrid's."""

    def warm(self) -> npt.NDArray[np.bool_]:
        """Items with at least one event (every item while the counts are not this catalog's)."""
        counts = self._counts()
        return counts > 0 if len(counts) == self.n_items else np.ones(self.n_items, dtype=bool)

    def score(self, ctx: Context) -> FloatArray:
        s = self.content.score(ctx)
        s[self.warm()] = -np.inf
        return s

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        return self.of_content(self.content.score_many(contexts))

    def score_entries_many(self, contexts: Sequence[Context]) -> EntryScores:
        return self.entries_of_content(self.content.score_many(contexts))

    def of_content(self, content: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """:meth:`score_many` from the content component's ``score_many`` of the same contexts (read,
        not written): its columns of the items with no events, ``-inf`` elsewhere."""
        cold = np.flatnonzero(~self.warm())
        out = np.full(content.shape, -np.inf, dtype=content.dtype)
        out[:, cold] = content[:, cold]
        return out

    def entries_of_content(self, content: npt.NDArray[np.float32]) -> EntryScores:
        """:meth:`of_content` as its finite entries (:mod:`.entries`): the cold items' columns only."""
        cold = np.flatnonzero(~self.warm())
        part = content[:, cold]
        at = np.flatnonzero(part.reshape(-1) != -np.inf)  # row-major: rows, then items, ascending
        keys = at // max(len(cold), 1) * content.shape[1] + cold[at % max(len(cold), 1)]
        return EntryScores(keys, part.reshape(-1)[at].astype(np.float32), (content.shape[0], content.shape[1]))

    def score_item(self, item: int) -> FloatArray:
        return no_evidence(self.n_items)

    def explain(self, ctx: Context | None, item: int) -> str:
        """Names the history item whose text scored ``item`` most; a typed query's match, or a
        context without items, gets the content component's reason."""
        source = self.content.source(ctx, item) if ctx is not None and len(ctx) else None
        if source is None or ctx is None:
            return self.content.explain(ctx, item)
        return cold_reason(self.catalog.products[source].title, self.wording.done)


@overload
def scores_many(
    components: Mapping[str, ItemScorer],
    contexts: Sequence[Context],
    names: Sequence[str],
    entries: Literal[False] = ...,
) -> dict[str, npt.NDArray[np.float32]]: ...


@overload
def scores_many(
    components: Mapping[str, ItemScorer], contexts: Sequence[Context], names: Sequence[str], entries: Literal[True]
) -> dict[str, npt.NDArray[np.float32] | EntryScores]: ...


def scores_many(
    components: Mapping[str, ItemScorer], contexts: Sequence[Context], names: Sequence[str], entries: bool = False
) -> Mapping[str, npt.NDArray[np.float32] | EntryScores]:
    """Each named component's ``score_many`` of ``contexts``; the cold-items term, when the content
    component it reads is named too, from that one's matrix (:meth:`ColdItemRecommender.of_content`:
    the text graph's product taken once for both, the same scores). With ``entries``, a component
    that offers them (``score_entries_many``; the cold items) gives its finite entries instead
    (:mod:`.entries`: the same scores, without a matrix of mostly ``-inf``)."""
    out: dict[str, npt.NDArray[np.float32] | EntryScores] = {}
    content: list[npt.NDArray[np.float32]] = []  # the content component's matrix, once taken
    for name in dict.fromkeys(names):
        comp = components[name]
        cold = comp if isinstance(comp, ColdItemRecommender) and "content" in names else None
        if name == "content" or (cold is not None and components["content"] is cold.content):
            if not content:
                content.append(components["content"].score_many(contexts))
                out["content"] = content[0]
            if cold is not None:
                out[name] = cold.entries_of_content(content[0]) if entries else cold.of_content(content[0])
        elif entries and callable(many := getattr(comp, "score_entries_many", None)):
            out[name] = many(contexts)
        else:
            out[name] = comp.score_many(contexts)
    return out
