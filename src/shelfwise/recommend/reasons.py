"""Which component's reason a fused list item carries (:class:`~shelfwise.recommend.hybrid.HybridRecommender`).

The component contributing most to the item's fused score explains it (weighted hybrid, Burke,
2002: each signal's share of the sum), with one exception: an item of the shopper's own history
(a list that may repeat seen items, ``exclude_seen=False``) says so ("you bought this before",
the repeat component's reason), whichever component scored it most: a shopper shown a product
they bought with "shoppers with sessions like yours bought this" reads a stranger's history.
Where the "baskets" component (:mod:`shelfwise.recommend.baskets`) contributes most, its reason
says it more exactly ("you bought this in 3 of your last 5 orders").
An item with no events that the text similarity explains says it is new (the "cold" component's
reason, :mod:`shelfwise.recommend.cold_items`), whichever of the two text terms weighed more, in
any fusion that names the cold component, its weight 0 included (between-sessions weights may
keep content and drop cold): the reason describes the item, not the weights. Related items'
fusion does not name it (no shopper's history: no "you bought").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from shelfwise.recommend.base import Context, ItemScorer
from shelfwise.recommend.cold_items import ColdItemRecommender
from shelfwise.results import FloatArray

REPEAT = "repeat"  # the component whose reason names the shopper's own history
BASKETS = "baskets"  # names it too, counting the shopper's recent baskets that hold the item
COLD, CONTENT = "cold", "content"  # an item with no events: "new, similar to X" rather than "similar to X"


def pick_reasons(
    components: Mapping[str, ItemScorer],
    ctx: Context,
    rows: Sequence[int],
    scores: Mapping[str, FloatArray],
    weights: Mapping[str, float],
) -> tuple[str, ...]:
    """The reason of each of ``rows``: that of the component of ``scores`` whose weighted scaled
    score is the largest; for an item of ``ctx``, :data:`REPEAT`'s (when ``components`` hold it)
    unless that component is :data:`BASKETS`; :data:`COLD`'s for an item with no events where it
    is :data:`CONTENT` and ``weights`` name :data:`COLD`."""
    own = set(ctx.items.tolist()) if REPEAT in components else set()
    cold = components.get(COLD) if COLD in weights else None
    warm: npt.NDArray[np.bool_] | None = None  # the cold component's mask, read once when needed
    out = []
    for row in rows:
        best = max(scores, key=lambda n: weights.get(n, 0.0) * float(scores[n][row]), default=REPEAT)
        if row in own:
            out.append(components[best if best == BASKETS else REPEAT].explain(ctx, row))
            continue
        if best == CONTENT and isinstance(cold, ColdItemRecommender):
            warm = cold.warm() if warm is None else warm
            best = CONTENT if warm[row] else COLD
        out.append(components[best].explain(ctx, row))
    return tuple(out)
