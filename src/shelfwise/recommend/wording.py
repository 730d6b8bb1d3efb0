"""Reasons that name the evidence behind them: bought, viewed or added to cart.

Behaviour components count whatever events a store logs; a reason that says "bought together"
over pairs that were only viewed, or "viewed" on a store whose events are all purchases,
misstates it. :class:`Wording` words reasons from the event types the models actually counted
(:attr:`~shelfwise.recommend.profiles.UserProfiles.event_types`): one kind of evidence is named
("bought together with X"); a mix, or evidence of unknown kind (a model saved before the types
were kept), gets neutral wording ("often chosen together with X"). Co-occurrence pairs are
worded pair by pair where a store logs several kinds (:meth:`Wording.of_pair`): a pair bought
together in every basket that holds it is "bought together" though the store also logs views,
and still is after a store of purchases logs its first live view or click (the counts so far are
then split by level: :meth:`CooccurrenceRecommender.update <shelfwise.recommend.cooccurrence.
CooccurrenceRecommender.update>`), on every rail that words pairs (related items, cross-category complements).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from shelfwise.events.schema import EventType


@dataclass(frozen=True)
class Wording:
    """Phrases for one kind of evidence (purchases: ``did_this`` "bought this", ``do_this`` "buy
    this", ``done`` "bought", ``together`` "bought together", ``before`` "you bought this before")."""

    did_this: str
    do_this: str
    done: str
    together: str
    before: str
    named: bool  # one kind of event is named (False: neutral wording for a mix or the unknown)

    @classmethod
    def of(cls, types: Iterable[EventType]) -> Wording:
        kinds = evidence_levels(types)
        return _WORDS[kinds.pop()] if len(kinds) == 1 else NEUTRAL

    @classmethod
    def of_pair(cls, baskets: float, carted: float, bought: float) -> Wording:
        """For a pair of items found together in ``baskets`` sessions, ``carted`` of them with
        both at least added to cart, ``bought`` with both bought: one kind when every session
        shows it, neutral otherwise."""
        if baskets <= 0:
            return NEUTRAL
        if bought >= baskets:
            return _WORDS[2]
        if carted >= baskets and bought <= 0:
            return _WORDS[1]
        return _WORDS[0] if carted <= 0 else NEUTRAL

    def together_with(self, title: str, times: float | None = None) -> str:
        """ "bought together with X" (neutral: "often chosen together with X"); with ``times``, the
        sessions that held both, counted: "bought together with X (3 times)", "chosen together with
        X (once)" (no "often" beside a count)."""
        if times is None or times < 1:
            return f"{self.together} with {title}"
        n = round(times)
        return f"{self.together.removeprefix('often ')} with {title} ({'once' if n == 1 else f'{n:,} times'})"

    def frequently_together(self) -> str:
        return f"frequently {self.together}" if self.named else self.together

    def shoppers_like_you(self) -> str:
        return f"shoppers with sessions like yours {self.did_this}"

    def next_after(self, title: str | None) -> str:
        return f"shoppers often {self.do_this} " + (f"after {title}" if title else "next")

    def next_in_sessions(self) -> str:
        return f"often {self.done} next in sessions like yours"

    def similar_shoppers(self) -> str:
        return f"shoppers with similar histories {self.did_this}"

    def in_recent(self, times: int, of: int) -> str:
        """ "you bought this in 3 of your last 5 orders" (a store of purchases; "visits" else: "you
        viewed this in each of your last 2 visits", "you viewed this in your last visit")."""
        did, unit = self.before.removesuffix(" before"), "order" if self.done == "bought" else "visit"
        if of == 1:
            return f"{did} in your last {unit}"
        return f"{did} in {'each' if times >= of else times} of your last {of} {unit}s"


REASON_WIDTH = 40  # a title in a reason is cut past this many columns (a CJK character takes two)


def named(title: str, width: int = REASON_WIDTH) -> str:
    """``title`` as a reason names it: whole when it fits ``width`` columns, else cut with "…"
    (a Taobao title runs 30-40 characters: pasted whole, a reason read like a product listing)."""
    cols = 0
    for i, ch in enumerate(title):
        cols += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if cols > width:
            head = title[:i]
            space = head.rfind(" ")  # a Latin word is not cut in two, unless that would drop half the title
            if not ch.isspace() and head[-1].isascii() and space >= len(head) // 2:
                head = head[:space]
            return head.rstrip() + "…"
    return title


def level(kind: EventType) -> int:
    """How far an event of ``kind`` (one of :data:`KINDS`) took its item: 0 viewed, 1 added to
    cart, 2 bought."""
    return sum(kind >= lv for lv in LEVELS)


def evidence_levels(types: Iterable[EventType]) -> set[int]:
    """The kinds of evidence (:func:`level`) ``types`` hold."""
    return {level(t) for t in types if t in KINDS}


LEVELS = (EventType.CART, EventType.PURCHASE)  # a pair's evidence levels above "viewed"
KINDS = frozenset({EventType.VIEW, EventType.CLICK, EventType.CART, EventType.PURCHASE})  # evidence (a query is not)
_WORDS = (  # by level: viewed, added to cart, bought
    Wording("viewed this", "view this", "viewed", "viewed together", "you viewed this before", True),
    Wording(
        "added this to their carts",
        "add this to their carts",
        "added to carts",
        "added to carts together",
        "you added this to your cart before",
        True,
    ),
    Wording("bought this", "buy this", "bought", "bought together", "you bought this before", True),
)
NEUTRAL = Wording(
    "chose this", "choose this", "chosen", "often chosen together", "you showed interest in this before", False
)
