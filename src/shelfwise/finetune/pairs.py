"""Training pairs for contrastive fine-tuning, mined from the store's own data.

* query -> product: judged queries (e.g. attribute-derived judgments) or logged query events
  followed by a click/cart/purchase of a product;
* product -> product co-interaction: two different products bought (or clicked) by the same
  user or in the same session, the item-to-item signal of Item2Vec / Prod2Vec (Barkan &
  Koenigstein, 2016; Grbovic et al., 2015).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.eval.judgments import Judgments
from shelfwise.events.schema import EventLog, EventType


@dataclass(frozen=True)
class PairSet:
    """Parallel (anchor, positive) texts; ``source`` says where they came from.

    ``negatives``: empty, or one text per pair that is *known* not to match its anchor (a hard
    negative, e.g. a product the store's raters judged irrelevant for that query); ``""`` where a pair
    has none. Training adds them to the in-batch candidates (Karpukhin et al., 2020, "Dense Passage
    Retrieval for Open-Domain Question Answering": one hard negative per question helps most)."""

    anchors: tuple[str, ...]
    positives: tuple[str, ...]
    source: str = ""
    negatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.anchors) != len(self.positives):
            raise ValueError(f"PairSet: {len(self.anchors)} anchors but {len(self.positives)} positives")
        if self.negatives and len(self.negatives) != len(self.anchors):
            raise ValueError(f"PairSet: {len(self.anchors)} anchors but {len(self.negatives)} negatives")

    def __len__(self) -> int:
        return len(self.anchors)

    def negative(self, i: int) -> str:
        """Pair ``i``'s hard negative, ``""`` when it has none."""
        return self.negatives[i] if self.negatives else ""

    def __add__(self, other: PairSet) -> PairSet:
        src = "+".join(dict.fromkeys(x for s in (self.source, other.source) for x in s.split("+") if x))
        negs = (self._negs() + other._negs()) if (self.negatives or other.negatives) else ()
        return PairSet(self.anchors + other.anchors, self.positives + other.positives, src, negs)

    def _negs(self) -> tuple[str, ...]:
        return self.negatives or ("",) * len(self)

    def prefixed(self, anchor: str = "", positive: str = "") -> PairSet:
        """The same pairs with ``anchor`` / ``positive`` prepended (negatives get ``positive``): the
        role prefixes of an asymmetric encoder such as E5 (``"query: "`` / ``"passage: "``)."""
        if not anchor and not positive:
            return self
        return PairSet(
            tuple(anchor + a for a in self.anchors),
            tuple(positive + p for p in self.positives),
            self.source,
            tuple(positive + n if n else "" for n in self.negatives),
        )

    def sample(self, n: int, seed: int = 0) -> PairSet:
        """``n`` pairs drawn without replacement (all of them when ``n >= len``), order shuffled."""
        idx = list(range(len(self)))
        random.Random(seed).shuffle(idx)
        return self._take(idx[: max(n, 0)])

    def split(self, fraction: float, seed: int = 0) -> tuple[PairSet, PairSet]:
        """Random split by *anchor text*: all pairs of one anchor land on the same side."""
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        keys = sorted(set(self.anchors))
        random.Random(seed).shuffle(keys)
        first = set(keys[: round(fraction * len(keys))])
        a = [i for i, x in enumerate(self.anchors) if x in first]
        b = [i for i, x in enumerate(self.anchors) if x not in first]
        return self._take(a), self._take(b)

    def by_anchor(self, anchors: AbstractSet[str]) -> tuple[PairSet, PairSet]:
        """(the pairs whose anchor is in ``anchors``, the rest), each in order."""
        inside = [i for i, a in enumerate(self.anchors) if a in anchors]
        outside = [i for i, a in enumerate(self.anchors) if a not in anchors]
        return self._take(inside), self._take(outside)

    def reversing(self, other: PairSet) -> tuple[PairSet, PairSet]:
        """(the pairs whose reverse ``(positive, anchor)`` is a pair of ``other``, the rest), each in order.
        Item-to-item pairs run both ways: x -> y from one shopper and y -> x from another are one
        signal, so a model trained on one has seen the other."""
        back = set(zip(other.positives, other.anchors, strict=True))
        pairs = list(zip(self.anchors, self.positives, strict=True))
        return self._take([i for i, p in enumerate(pairs) if p in back]), self._take(
            [i for i, p in enumerate(pairs) if p not in back]
        )

    def _take(self, idx: list[int]) -> PairSet:
        negs = tuple(self.negatives[i] for i in idx) if self.negatives else ()
        return PairSet(tuple(self.anchors[i] for i in idx), tuple(self.positives[i] for i in idx), self.source, negs)


def pairs_from_judgments(
    judgments: Judgments,
    catalog: Catalog,
    *,
    min_grade: float = 2.0,
    max_per_query: int | None = None,
    hard_negatives: bool = True,
    ranked: Callable[[str], Sequence[str]] | None = None,
    seed: int = 0,
) -> PairSet:
    """(query text, product text) for every judged item with grade >= ``min_grade``.

    With ``hard_negatives`` (default), each pair also carries one hard negative for its query, drawn
    at random from the products judged irrelevant (grade <= 0: judged sets are usually pooled from a
    live system's results, so these are the near misses a retriever confuses) and, with ``ranked``
    (query text -> item ids, best first: the store's current search), its top results not judged
    relevant, as DPR takes BM25's top passages without the answer (Karpukhin et al., 2020)."""
    rng = random.Random(seed)
    anchors: list[str] = []
    positives: list[str] = []
    negatives: list[str] = []
    for qid in sorted(judgments.queries):
        rel = judgments.relevance.get(qid, {})
        items = sorted(i for i, g in rel.items() if g >= min_grade and i in catalog)
        wrong = sorted(i for i, g in rel.items() if g <= 0 and i in catalog) if hard_negatives else []
        if hard_negatives and ranked is not None and items:
            wrong += [i for i in ranked(judgments.queries[qid]) if rel.get(i, 0.0) <= 0 and i in catalog]
            wrong = list(dict.fromkeys(wrong))
        if max_per_query is not None and len(items) > max_per_query:
            items = rng.sample(items, max_per_query)
        for item in items:
            anchors.append(judgments.queries[qid])
            positives.append(catalog.products[catalog.row(item)].text())
            negatives.append(catalog.products[catalog.row(rng.choice(wrong))].text() if wrong else "")
    negs = tuple(negatives) if any(negatives) else ()
    return PairSet(tuple(anchors), tuple(positives), "judgments", negs)


def pairs_from_events(log: EventLog, catalog: Catalog, *, min_type: EventType = EventType.CLICK) -> PairSet:
    """(logged query, product text) for events that carry a query and an item of at least ``min_type``."""
    keep = (log.item >= 0) & (log.type >= int(min_type))
    idx = [i for i in np.flatnonzero(keep).tolist() if log.queries[i]]
    texts = catalog.texts()
    return PairSet(tuple(log.queries[i] for i in idx), tuple(texts[int(log.item[i])] for i in idx), "query-events")


def copurchase_pairs(
    log: EventLog,
    catalog: Catalog,
    *,
    by: str = "user",
    min_type: EventType = EventType.PURCHASE,
    max_per_group: int = 10,
    max_pairs: int | None = None,
    seed: int = 0,
) -> PairSet:
    """(product text, product text) for distinct items of the same user (``by="user"``) or session.

    Each group contributes at most ``max_per_group`` pairs, so heavy buyers do not dominate.
    """
    if by not in ("user", "session"):
        raise ValueError("by must be 'user' or 'session'")
    rng = random.Random(seed)
    key = log.user if by == "user" else log.session
    groups: dict[int, list[int]] = defaultdict(list)
    keep = (log.item >= 0) & (log.type >= int(min_type))
    for g, item in zip(key[keep].tolist(), log.item[keep].tolist(), strict=True):
        if item not in groups[g]:
            groups[g].append(item)
    texts = catalog.texts()
    pairs: list[tuple[int, int]] = []
    for g in sorted(groups):
        items = groups[g]
        cand = [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]
        if len(cand) > max_per_group:
            cand = rng.sample(cand, max_per_group)
        pairs.extend((a, b) if rng.random() < 0.5 else (b, a) for a, b in cand)
    rng.shuffle(pairs)
    if max_pairs is not None:
        pairs = pairs[:max_pairs]
    return PairSet(tuple(texts[a] for a, _ in pairs), tuple(texts[b] for _, b in pairs), f"co-{by}")
