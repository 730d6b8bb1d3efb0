"""Type-ahead query suggestions: what a shopper is probably typing, from the store's own words.

Two sources, as Algolia's Query Suggestions uses them (its search analytics first, the index's
facet values and record words when there are no analytics yet):

* **shoppers' queries** in the behaviour log (any event that carries a query), counted; a query is
  suggested once ``min_users`` different shoppers typed it (one shopper's query, a name or an
  order number, is never shown to others; shoppers are remembered by a digest of their id, so the
  saved suggester holds no shopper id), ordered by how often it was typed; the event consumer
  keeps counting live (:meth:`Suggester.update`);
* **the catalog's phrases**: brands, category names and attribute values, and the phrases of
  product titles (1-3 words, Chinese cut into words by jieba; never across punctuation, never
  starting or ending with a stop word, one letter or a number) that ``min_products`` products or
  more hold, each scored by the products holding it. A phrase nearly every product of which also holds a longer phrase
  ("连衣" inside "连衣裙", "stainless" inside "stainless steel") gives way to the longer one
  (substring reduction, as in collocation extraction: Frantzi, Ananiadou & Mima, 2000, C-value).

A suggestion starts with what was typed (normalised: case, full-width forms, Traditional Chinese
folded to Simplified); shoppers' queries come first, then catalog phrases by how many products hold
them. When that gives fewer than ``k``, the typed text's end is completed alone and its beginning
kept ("long black dr" -> "long black dress": no catalog phrase starts with "long black dr").

On a Chinese catalog (half its phrases Chinese or more), Latin letters that start no phrase are read
as toneless pinyin, as a shopper types before picking characters: "baow" and "bao wen" complete to
the Chinese phrases whose pinyin starts with them (保温杯, 保温), most held first. Each all-Chinese
phrase is spelled as pypinyin reads it in context (银行 yinhang) and, where that differs, character
by character (不粘锅 bunianguo, buzhanguo), once at fit / load; shoppers' queries are not spelled.

:meth:`Suggester.examples` gives a few searches typical of the store, for a search box's hint, in the
catalog's own words and language: the shoppers' queries typed most; then the catalog's product types
(the last level of its category paths, most held first) or, with no categories, its most held title
phrases (not listing boilerplate such as "包邮" free shipping, nor sizes or model numbers); the last
with a price ("sweater under 30", "水果50元以下") when products have prices.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import json
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.errors import MissingExtraError
from shelfwise.events.schema import Event, EventLog
from shelfwise.index.text import STOPWORDS_EN, _jieba, _lazy_pinyin, has_cjk, normalise, syllable, to_simplified
from shelfwise.jsonfile import read_manifest_json
from shelfwise.retrieve.understand import parse_price

FORMAT = "shelfwise.suggest"
VERSION = 1
FILE = "suggest.json"
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKEN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", re.UNICODE
)
_CHUNK = re.compile(r"[^\w\s'-]+|\s-\s", re.UNICODE)  # punctuation: where phrases stop
MAX_TITLES = 200_000  # titles read for phrases (a sample beyond that; counts scaled)
MAX_PENDING = 500_000  # queries remembered before they are suggestible
MAX_QUERIES = 1_000_000  # suggestible queries kept (the least typed forgotten first)
FRESH_SHARE = 64  # newly suggestible queries sit in a small list until 1/64 of the main one (or 1,024)
MAX_EXAMPLES = 10  # example searches (Suggester.examples)
PINYIN_SHARE = 0.5  # typed letters are also read as pinyin where at least this share of the phrases is Chinese
_PINYIN_TYPED = re.compile(r"[a-z][a-z' ]+")  # two letters or more, spaces and syllable marks (xi'an) allowed
# words sellers put in titles about the listing, not the product: never an example search
LISTING_WORDS = frozenset(
    (  # noqa: SIM905 (a word list reads better as one string)
        "包邮 正品 新款 现货 正版 官方 旗舰店 官方旗舰店 同款 特价 热销 爆款 专用 通用 适用 定制 原装 神器 "
        "new sale genuine original official"
    ).split()
)


def shopper_key(user: str) -> str:
    """What a not-yet-suggestible query remembers of a shopper who typed it: 8 bytes of BLAKE2b of
    the id (enough to count distinct shoppers; the saved suggester holds no shopper id)."""
    return hashlib.blake2b(user.encode("utf-8"), digest_size=8, person=b"shelfwise-sug").hexdigest()


def key(text: str) -> str:
    """How suggestions and typed text are compared: normalised, Chinese folded to Simplified."""
    return _CJK_RUN.sub(lambda m: to_simplified(m.group(0)), normalise(text))


@dataclass(frozen=True)
class SuggestConfig:
    """``min_users``: shoppers who must have typed a query before it is suggested; ``min_products``:
    products that must hold a catalog phrase; ``max_phrases``: catalog phrases kept (most held first);
    ``keep_ratio``: a phrase is dropped when a one-word (one-character) longer phrase is held by at
    least this share of its products."""

    min_users: int = 2
    min_products: int = 2
    max_phrases: int = 100_000
    keep_ratio: float = 0.9

    def __post_init__(self) -> None:
        if self.min_users < 1 or self.min_products < 1 or self.max_phrases < 1:
            raise ValueError("SuggestConfig: min_users, min_products and max_phrases must be >= 1")
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ValueError(f"SuggestConfig.keep_ratio must be in (0, 1], got {self.keep_ratio}")


@dataclass(frozen=True)
class Suggestion:
    """``source``: ``queries`` (``count``: shoppers who typed it) or ``catalog`` (``count``: products
    holding it)."""

    text: str
    source: str
    count: int


class _Sorted:
    """Texts in sorted order with a count each: the ``k`` highest counts among those starting with a
    prefix, by two binary searches and one partial sort."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.texts = sorted(counts)
        self.counts = np.array([counts[t] for t in self.texts], dtype=np.int64)

    def top(self, prefix: str, k: int) -> list[tuple[str, int]]:
        lo = bisect.bisect_left(self.texts, prefix)
        hi = bisect.bisect_left(self.texts, prefix + "\U0010ffff")
        if hi <= lo:
            return []
        c = self.counts[lo:hi]
        idx = np.argsort(-c, kind="stable")[:k] if len(c) <= k else _top_k(c, k)
        return [(self.texts[lo + int(i)], int(c[i])) for i in idx]

    def bump(self, text: str, count: int) -> None:
        """Set the count of ``text`` (already listed) in place."""
        i = bisect.bisect_left(self.texts, text)
        if i < len(self.texts) and self.texts[i] == text:
            self.counts[i] = count

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.texts, self.counts.tolist(), strict=True))


def _top_k(c: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
    """Positions of the ``k`` highest counts, ties in text order (the range is sorted): those above
    the k-th highest count and the first of those equal to it (argpartition picks ties arbitrarily)."""
    kth = np.partition(c, len(c) - k)[len(c) - k]
    above = np.flatnonzero(c > kth)
    part = np.concatenate([above, np.flatnonzero(c == kth)[: k - len(above)]])
    return part[np.lexsort((part, -c[part]))]


class Suggester:
    """:meth:`fit` from a catalog and logged queries; :meth:`suggest` completes typed text;
    :meth:`update` counts live queries (an :class:`~shelfwise.events.Updatable`)."""

    def __init__(
        self,
        phrases: dict[str, int],
        queries: dict[str, int] | None = None,
        pending: dict[str, tuple[set[str], int]] | None = None,
        config: SuggestConfig | None = None,
    ) -> None:
        self.config = config or SuggestConfig()
        self._phrases = _Sorted(phrases)
        self._counts: dict[str, int] = dict(queries or {})  # suggestible queries: times typed
        # not yet suggestible: (shoppers, times), oldest first (popitem: deleting a plain dict's first
        # key leaves a hole the next first-key lookup walks, O(evictions so far) an eviction)
        self._pending: OrderedDict[str, tuple[set[str], int]] = OrderedDict(pending or {})
        self._lock = threading.Lock()
        # (every suggestible query but the newest, the newest): one tuple swapped whole, so a reader
        # sees both lists of one moment; a query turning suggestible re-sorts only the small one
        self._shown: tuple[_Sorted, _Sorted] = (_Sorted(self._counts), _Sorted({}))
        self._kinds: tuple[list[str], float | None] | None = None  # examples' catalog part, made once
        self._pinyin = _Sorted(pinyin_keys(phrases))  # "{pinyin}\t{phrase}": empty but on a Chinese catalog

    @classmethod
    def fit(
        cls, catalog: Catalog, queries: Iterable[tuple[str, str]] = (), config: SuggestConfig | None = None
    ) -> Suggester:
        """``queries``: ``(shopper id, query text)`` pairs from the behaviour log."""
        cfg = config or SuggestConfig()
        s = cls(catalog_phrases(catalog, cfg), config=cfg)
        s.add(queries)
        return s

    def add(self, queries: Iterable[tuple[str, str]]) -> None:
        """Count ``(shopper, query)`` pairs; a query typed by ``min_users`` shoppers becomes
        suggestible. Queries not yet suggestible are remembered up to :data:`MAX_PENDING` (the
        oldest forgotten first)."""
        with self._lock:
            ripe: list[str] = []
            for user, text in queries:
                q = key(text)
                if not q:
                    continue
                if q in self._counts:
                    self._counts[q] += 1
                    for shown in self._shown:
                        shown.bump(q, self._counts[q])
                    continue
                users, times = self._pending.pop(q, (set(), 0))
                users.add(shopper_key(user))  # a digest, never the id: the shelf's file holds no shopper ids
                if len(users) >= self.config.min_users:
                    self._counts[q] = times + 1
                    ripe.append(q)
                else:
                    self._pending[q] = (users, times + 1)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            if ripe:
                self._show(ripe)

    def _show(self, ripe: list[str]) -> None:
        """Make the ``ripe`` queries suggestible (the lock held): into the small list of the newest,
        or, once that outgrows :data:`FRESH_SHARE`, everything re-sorted into the main list (at most
        :data:`MAX_QUERIES`, the most typed)."""
        main, fresh = self._shown
        if len(fresh.texts) + len(ripe) <= max(1024, len(main.texts) // FRESH_SHARE):
            self._shown = (main, _Sorted({t: self._counts[t] for t in (*fresh.texts, *ripe)}))
            return
        if len(self._counts) > MAX_QUERIES:
            kept = heapq.nlargest(MAX_QUERIES, self._counts.items(), key=lambda kv: kv[1])
            self._counts = dict(kept)
        self._shown = (_Sorted(self._counts), _Sorted({}))  # one swap: readers see the old or the new lists

    def describe(self) -> str:
        return (
            f"{len(self._phrases.texts):,} catalog phrases, {len(self._counts):,} shoppers' queries "
            f"(typed by {self.config.min_users}+ shoppers), {len(self._pending):,} not yet"
        )

    def update(self, events: Sequence[Event]) -> None:
        """Live: the queries of committed events (a batch delivered twice counts twice: counts only
        order the suggestions)."""
        self.add((e.user_id, e.query) for e in events if e.query)

    def suggest(self, typed: str, k: int = 8) -> list[Suggestion]:
        """Up to ``k`` completions of ``typed`` (module doc); none for empty text."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        prefix = key(typed)
        if not prefix:
            return []
        out: dict[str, Suggestion] = {}
        main, fresh = self._shown
        asked = sorted((*main.top(prefix, k), *fresh.top(prefix, k)), key=lambda tc: (-tc[1], tc[0]))
        for text, n in asked[:k]:
            out.setdefault(text, Suggestion(text, "queries", n))
        for text, n in self._phrases.top(prefix, k):
            out.setdefault(text, Suggestion(text, "catalog", n))
        if len(out) < k and self._pinyin.texts and _PINYIN_TYPED.fullmatch(prefix):
            for text, n in self._pinyin.top(prefix.replace(" ", "").replace("'", ""), 2 * k):  # a phrase: 1-2 keys
                phrase = text.partition("\t")[2]
                out.setdefault(phrase, Suggestion(phrase, "catalog", n))
        for cut in _cuts(prefix) if len(out) < k else ():
            head, rest = prefix[:cut], prefix[cut:]
            for text, n in self._phrases.top(rest, k):
                out.setdefault(head + text, Suggestion(head + text, "catalog", n))
        return list(out.values())[:k]

    def examples(self, catalog: Catalog, k: int = 3) -> list[str]:
        """Up to ``k`` example searches typical of this store (module doc); ``catalog``: the one
        this suggester was fitted on (its product types and prices are read once)."""
        if not 1 <= k <= MAX_EXAMPLES:
            raise ValueError(f"k must be 1-{MAX_EXAMPLES}, got {k}")
        if self._kinds is None:
            self._kinds = (product_kinds(catalog, self._phrases.as_dict(), MAX_EXAMPLES), _typical_price(catalog))
        kinds, price = self._kinds
        with self._lock:
            typed = heapq.nsmallest(k, self._counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out = list(dict.fromkeys([q for q, _ in typed] + kinds))[:k]
        if out and price is not None and parse_price(out[-1])[1:] == (None, None):  # none named yet
            out[-1] = price_phrase(out[-1], price)
        return out

    def save(self, path: str | Path) -> None:
        body = {
            "format": FORMAT,
            "version": VERSION,
            "config": asdict(self.config),
            "phrases": self._phrases.as_dict(),
            "queries": dict(self._counts),
            "pending": {q: [sorted(u), n] for q, (u, n) in self._pending.items()},
        }
        Path(path).write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Suggester:
        raw = read_manifest_json(
            Path(path),
            fmt=FORMAT,
            max_version=VERSION,
            missing="suggestions file",
            required=("phrases", "queries", "pending"),
        )
        pending = {q: (set(u), int(n)) for q, (u, n) in raw["pending"].items()}
        if any(has_cjk(t) for t in raw["phrases"]):  # its type-ahead cuts Chinese words: jieba loads now
            _jieba()  # (0.84 s in a review probe), not on a shopper's first keystroke
        return cls(raw["phrases"], raw["queries"], pending, SuggestConfig(**raw.get("config", {})))


def pinyin_keys(phrases: dict[str, int]) -> dict[str, int]:
    """``"{pinyin}\t{phrase}" -> count`` for each all-Chinese phrase of a Chinese catalog (at least
    :data:`PINYIN_SHARE` of ``phrases`` Chinese; else none): its toneless pinyin in context and, where
    that differs, character by character (module doc). None without pypinyin. Keys of ~11
    characters (36,993 for the Taobao catalog's 3,336, ``suggest_s16.json``): an estimated ~10 MB
    for the 100,000 phrases a suggester keeps at most (not measured)."""
    chinese = [t for t in phrases if _CJK_RUN.fullmatch(t)]
    if not chinese or len(chinese) < PINYIN_SHARE * len(phrases):
        return {}
    try:
        spell = _lazy_pinyin()
    except MissingExtraError:
        return {}
    out: dict[str, int] = {}
    for t in chinese:
        for reading in {"".join(spell(t)), "".join(map(syllable, t))}:
            out[f"{reading}\t{t}"] = phrases[t]
    return out


def _cuts(prefix: str) -> list[int]:
    """Where the typed text may be cut so that its end starts a catalog phrase, longest end first:
    after each space, leaving two letters or more (one letter completes to anything), and inside a
    Chinese last word where its words meet (jieba's dictionary cut, no guessing of unknown words):
    "long black dr" -> "black dr", "dr"; "海尔洗" -> "洗" (-> "海尔洗碗机"), "红色连衣" -> "连衣"
    (-> "红色连衣裙"); never inside a word: "连衣" is not 连 + 衣柜 ("连衣柜"), "保温" not 保 + 温州.
    Without jieba, before each character."""
    cuts = [i + 1 for i, ch in enumerate(prefix) if ch == " " and len(prefix) - i - 1 >= 2]
    last = prefix.rfind(" ") + 1
    if has_cjk(prefix[last:]):
        cuts += _word_ends(prefix[last:], last)
    return sorted(set(cuts))


def _word_ends(text: str, start: int) -> list[int]:
    """Positions (offset by ``start``) inside ``text`` where one of its words ends and another begins."""
    jieba = _jieba()
    if jieba is None:
        return list(range(start + 1, start + len(text)))
    ends = list(itertools.accumulate(len(w) for w in jieba.cut(text, HMM=False)))
    return [start + e for e in ends[:-1]]


def catalog_phrases(catalog: Catalog, config: SuggestConfig) -> dict[str, int]:
    """Catalog phrases with the products holding each (module doc)."""
    counts: Counter[tuple[str, ...]] = Counter()
    products = catalog.products
    step = max(1, len(products) // MAX_TITLES)
    for p in products[::step]:
        title = key(p.title)
        grams: set[tuple[str, ...]] = set()
        for chunk in _CHUNK.split(title):  # phrases never span punctuation
            toks = _tokens(chunk)
            for n in range(1, 4):
                for i in range(len(toks) - n + 1):
                    g = tuple(toks[i : i + n])
                    if _wordlike(g[0]) and _wordlike(g[-1]):
                        grams.add(g)
        counts.update(grams)
    often = {g: c * step for g, c in counts.items() if c * step >= config.min_products}
    kept = {_join(g): c for g, c in _reduced(often, config.keep_ratio).items()}
    named: Counter[str] = Counter()  # the catalog's named values: always suggestible
    for p in products:
        named.update({key(v) for v in (p.brand, *p.category, *p.attributes.values()) if v and key(v)})
    for v, c in named.items():
        kept[v] = max(kept.get(v, 0), c)
    if len(kept) > config.max_phrases:
        kept = dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))[: config.max_phrases])
    return kept


def _tokens(chunk: str) -> list[str]:
    """Words of a normalised text: Latin / digit words as written, Chinese runs cut into words by
    jieba (the search extra's segmenter; without it, the run as one word)."""
    out: list[str] = []
    for tok in _TOKEN.findall(chunk):
        if has_cjk(tok):
            jb = _jieba()
            out += [w for w in jb.lcut(tok) if w.strip()] if jb is not None else [tok]
        else:
            out.append(tok)
    return out


def _wordlike(tok: str) -> bool:
    """Whether a phrase may start or end with ``tok``: not a stop word, not one Latin letter, not
    only digits (sizes and model numbers complete poorly), not one Chinese particle-like character."""
    if has_cjk(tok):
        return len(tok) > 1
    return len(tok) > 1 and not tok.isdigit() and tok not in STOPWORDS_EN


def _join(toks: Sequence[str]) -> str:
    """Words joined as they read: Chinese words without a space between them."""
    out = toks[0]
    for prev, tok in itertools.pairwise(toks):
        out += tok if has_cjk(prev[-1]) and has_cjk(tok[0]) else f" {tok}"
    return out


def _reduced(counts: dict[tuple[str, ...], int], ratio: float) -> dict[tuple[str, ...], int]:
    """``counts`` without the phrases that a one-word longer phrase (a word more on either side)
    extends in at least ``ratio`` of their products."""
    longest: dict[tuple[str, ...], int] = {}
    for g, c in counts.items():
        if len(g) > 1:
            for parent in (g[:-1], g[1:]):
                longest[parent] = max(longest.get(parent, 0), c)
    return {g: c for g, c in counts.items() if longest.get(g, 0) < ratio * c}


def logged_queries(events: EventLog | None) -> list[tuple[str, str]]:
    """``(shopper id, query)`` of every event in ``events`` that carries a query."""
    if events is None:
        return []
    return [(events.users[int(u)], q) for u, q in zip(events.user.tolist(), events.queries, strict=True) if q]


# category leaves that name no kind of product ("其他" was offered as a typical search)
CATCH_ALL = frozenset(
    {"other", "others", "misc", "miscellaneous", "unknown", "undefined", "uncategorized", "uncategorised", "n/a"}
    | {"none", "其他", "其它", "未分类"}
)


def product_kinds(catalog: Catalog, phrases: dict[str, int], k: int) -> list[str]:
    """The ``k`` product types most held: the last level of the category paths, or without
    categories the title phrases in ``phrases`` (:func:`catalog_phrases`) that name no listing
    boilerplate (:data:`LISTING_WORDS`), size or model number (no digits)."""
    leaves: Counter[str] = Counter()
    for leaf, n in Counter(p.category[-1] for p in catalog.products if p.category).items():
        leaves[key(leaf)] += n  # each distinct leaf normalised once, not once a product
    for name in ("", *CATCH_ALL):  # a catch-all bucket names no kind of product to search for
        leaves.pop(name, None)
    if leaves:
        return [t for t, _ in sorted(leaves.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]
    ok = ((t, c) for t, c in phrases.items() if t not in LISTING_WORDS and not any(ch.isdigit() for ch in t))
    return [t for t, _ in heapq.nsmallest(k, ok, key=lambda kv: (-kv[1], kv[0]))]


def _typical_price(catalog: Catalog) -> float | None:
    """A round price at or above the median of the priced products (1, 2, 3 or 5 times a power of
    ten: 3.99 -> 5, 0.0254 -> 0.03); None when no product has a price."""
    prices = catalog.price[np.isfinite(catalog.price) & (catalog.price > 0)]
    if not len(prices):
        return None
    median = float(np.median(prices))
    unit = 10.0 ** math.floor(math.log10(median))
    step = next(m for m in (1, 2, 3, 5, 10) if m * unit >= median * (1 - 1e-9))
    return round(step * unit, max(0, 2 - math.floor(math.log10(median))))


def price_phrase(text: str, price: float) -> str:
    """``text`` with a price cap the query understanding reads, in the text's language."""
    n = f"{price:g}" if price < 1e6 else str(round(price))
    return f"{text}{n}元以下" if has_cjk(text) else f"{text} under {n}"
