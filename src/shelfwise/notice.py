"""A shopper-facing notice with a stable code: the text for people, the code for programs.

A notice is still a ``str`` (its English text: what API clients, the CLI and the translation into
Chinese read), carrying a :attr:`Notice.code` that names what it says, so a client (the storefront)
styles or rewords it by its code, never by matching its text, which changes with the wording and
the language. ``GET /search`` answers the codes in ``notice_codes``, one per notice.
"""

from __future__ import annotations

# how the query was read (shown as information, not as a warning)
SYNONYMS = "synonyms"  # the store's synonyms added words
READ_AS = "read-as"  # pinyin, Taiwan / mainland wording, the catalog's other language
NOT_PERSONALISED = "not-personalised"  # a shopper with no history yet
# what limited the answer
PRICE_UNUSABLE = "price-unusable"  # a price phrase in a store without prices
PRICE_UNMATCHED = "price-unmatched"  # no product at the price the query names
UNMATCHED_FILTER = "unmatched-filter"  # a filter no product matches
SORT_WINDOW = "sort-window"  # a price-sorted page past the sorted window
SOLD_OUT_MATCHES = "sold-out-matches"  # every product holding the query's words is sold out
NO_WORD_MATCH = "no-word-match"  # no product (under the filters) holds a query word: the hits are by meaning
NO_RESULTS = "no-results"  # /recommend/*: nothing to recommend (no filter to blame)
SHORT_LIST = "short-list"  # /recommend/cross: fewer complements than asked for
TEXT_ONLY = "text-only"  # /recommend/item without a recommender: related by text similarity alone
UNKNOWN_ITEMS = "unknown-items"  # /recommend/session: item ids the catalog lacks were left out
OTHER = "other"  # a plain string: no code given


class Notice(str):
    """``Notice(text, code)``: ``text`` as a ``str``, with its :attr:`code` (one of this module's)."""

    code: str

    def __new__(cls, text: str, code: str) -> Notice:
        self = super().__new__(cls, text)
        self.code = code
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copy, deepcopy, pickle keep the code
        return (str(self), self.code)


def code_of(notice: str) -> str:
    """``notice``'s code (:data:`OTHER` for a plain string)."""
    return getattr(notice, "code", OTHER)
