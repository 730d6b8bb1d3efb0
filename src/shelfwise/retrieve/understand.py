"""Query understanding: price phrases become filters; brand, category and attribute words found in
the catalog's own vocabulary become boosts.

"black dress under 50" -> price <= 50 (a filter: the shopper said so), and products whose colour
attribute is "black" or whose category path holds "dress" get a bonus on top of the fused score
(a boost, not a filter: a word that happens to name a category must not empty the result list).
Vocabulary comes from the catalog itself (brands, category path elements, attribute values seen
on at least ``min_products`` products). Latin words are matched on the lexical analyser's terms
(stems) and, word by word, on their surface forms up to an English plural ending (:func:`same_word`):
"dress" matches "Dress" and "Dresses" but not "Dressed", though all three stem to "dress" (the
stemmer conflates inflections a shopper does not mean as the same thing). Values written in
Chinese (CJK) characters are matched as substrings of the query's CJK runs, leftmost-longest over
the catalog's own values (the forward maximum matching of dictionary segmenters, Wong & Chan, 1996,
"Chinese word segmentation based on maximum matching and word binding force"), because shoppers
type Chinese without spaces: "黑色裤子" finds colour "黑色" and category "裤子"; a one-character
value matches only a run of its own. Price phrases: English
("under 50", "below $30", "less than 20", "over 100", "from 20", "20-50", "between 20 and 50",
"$30") and Chinese ("50元以下", "100以内", "低于50", "不超过50", "50以上", "20-50元", "100块钱以内"), the
numbers also in Chinese numerals ("五十元以下", "两百以内", "5千以内"); "10以内加减法" (sums up to 10, a
workbook) is no price.
The ``understood`` record travels with the results so an engineer can see why a list changed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters, price_range
from shelfwise.index.text import CJK_RANGES, Tokenizer, has_cjk, normalise, plural_forms, to_simplified
from shelfwise.memo import ArrayMemo
from shelfwise.notice import PRICE_UNUSABLE, Notice

COMPOUND_SHARE = 0.5  # of the titles holding a value word beside its neighbour that must carry the value
MASK_MEMO_BYTES = 256 << 20  # value masks kept (a byte per product each: 256 values at 1M products)
PAIR_MEMO_BYTES = 32 << 20  # compound readings kept (up to COMPOUND_SAMPLE row ids each)
COMPOUND_SAMPLE = 500  # products holding both words read for the side-by-side check
# side-by-side readings not memoised yet that one query may make (each reads postings and up to
# COMPOUND_SAMPLE titles: a 500-character query of value words made ~160 of them); past it a value
# word is taken as the value, as before the compound check
COMPOUND_LOOKUPS = 16
ABOUT = 0.2  # "about 100" / "100元左右": prices within 20% of it
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NUM = r"(\d+(?:\.\d+)?)(?![\d.])"
_CUR = r"(?:[$£€¥]\s*)?"
_UNIT = r"\s*(?:元|块钱|块|dollars?|usd|eur|euros?|gbp|rmb)?"
# a number followed by a measurement unit is a size, not a price ("over 100 watts", "under 5 ft")
_NOT_MEASURE = (
    r"(?!\s*(?:%|\"|'|x\b|(?:in|inch|inches|ft|feet|foot|cm|mm|m|km|w|watts?|v|volts?|amps?|a|lbs?|oz|gal|gallons?"
    r"|qt|l|ml|kg|g|pcs?|pieces?|pack|count|ct|sq|btu|psi|gb|tb|mah|hz|years?|yr|mph|寸|米|厘米|毫米|克|斤|公斤|升|瓦|伏|个|件|只|包|岁)\b))"
)
# "10以内加减法" (sums up to 10: a children's arithmetic workbook, a common Taobao title and query) is no price
_NOT_SUM = r"(?!\s*的?\s*(?:加减|加法|减法|乘法|除法|乘除|口算|连加|连减|混合运算))"
_PRICE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bbetween\s+{_CUR}{_NUM}{_UNIT}\s+and\s+{_CUR}{_NUM}{_UNIT}"), "range"),
    # a bare "12-2" is a wire gauge or a size: a range is a price only with a currency sign or unit
    (re.compile(rf"(?<![\w.])[$£€¥]\s*{_NUM}\s*(?:-|–|~|to)\s*[$£€¥]?\s*{_NUM}(?![\w.])"), "range"),
    (
        re.compile(
            rf"(?<![\w.]){_NUM}\s*(?:-|–|~|to|至|到)\s*{_NUM}\s*(?:(?:元|块钱|块)的?|dollars?|usd|eur|euros?|gbp|rmb)"
        ),
        "range",
    ),
    (
        re.compile(
            rf"\b(?:under|below|less\s+than|cheaper\s+than|up\s+to|max(?:imum)?|at\s+most|<=?)\s*{_CUR}{_NUM}{_UNIT}"
            + _NOT_MEASURE
        ),
        "max",
    ),
    (re.compile(rf"(?:低于|不超过|小于|不到){_CUR}{_NUM}{_UNIT}的?"), "max"),
    (re.compile(rf"{_CUR}{_NUM}{_UNIT}\s*(?:以下|以内|之内|内){_NOT_SUM}的?"), "max"),
    # "about 1000": a price range around it (ABOUT); English only with a currency sign or unit
    (
        re.compile(
            rf"\b(?:around|about|approx(?:imately)?|roughly)\s*(?:[$£€¥]\s*{_NUM}|{_NUM}\s*(?:dollars?|usd|eur|euros?|gbp|rmb)\b)"
        ),
        "about",
    ),
    (re.compile(rf"(?:大约|大概|约)?{_CUR}{_NUM}{_UNIT}\s*左右的?"), "about"),
    (
        re.compile(rf"\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|>=?)\s*{_CUR}{_NUM}{_UNIT}" + _NOT_MEASURE),
        "min",
    ),
    (re.compile(rf"\bfrom\s*[$£€¥]\s*{_NUM}"), "min"),
    (re.compile(rf"(?:高于|超过|大于){_CUR}{_NUM}{_UNIT}的?"), "min"),
    (re.compile(rf"{_CUR}{_NUM}{_UNIT}\s*(?:以上)的?"), "min"),
)

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN = "".join([*_CN_DIGITS, *_CN_UNITS])
# what a price needs: a digit (``\d`` as in _NUM: Unicode decimal digits) or a Chinese numeral
_DIGIT = re.compile(rf"[\d{_CN}]")
# a Chinese numeral ("五十", "两百"; a digit times 百 / 千 / 万: "5千") is read where a price stands: before
# 元 / 块 / 以下 / 以内 / 之内 / 以上 or a range's 到 / 至 / -, or after 低于 / 不超过 / 高于 ... or a range's 到
_CN_RUN = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)?([{_CN}]+)")
_CN_BEFORE = ("元", "块", "以下", "以内", "之内", "以上", "到", "至", "-", "~")
_CN_AFTER = ("低于", "小于", "不到", "不超过", "高于", "超过", "大于", "到", "至", "-", "~")


def chinese_number(text: str) -> int | None:
    """The value of a Chinese numeral: "五十" 50, "两百" 200, "一百零五" 105, "一百五" 150 (the spoken
    short form), "十五" 15, "三万" 30000; None when ``text`` is not one ("一二")."""
    total = section = last_unit = 0
    digit: int | None = None
    after_unit = False  # the pending digit came right after a unit: "一百五" is 150, not 105
    for c in text:
        if c in _CN_DIGITS:
            if digit:  # two digits in a row ("一二"); after 零 one may follow ("一百零五")
                return None
            digit, after_unit = _CN_DIGITS[c], last_unit > 0 and digit is None and not section % 10
        elif c == "万":
            total += ((section + (digit or 0)) or 1) * 10000
            section, digit, last_unit = 0, None, 10000
        else:
            unit = _CN_UNITS[c]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
    if digit is not None:
        section += digit * (last_unit // 10 if after_unit and last_unit >= 100 else 1)
    return total + section


def _arabic(q: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """``q`` with the Chinese numerals that stand where a price does written in digits ("五十元以下" ->
    "50元以下"), and each replacement's span (start and end in the new text, then in ``q``)."""
    out: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    at = shift = 0
    for m in _CN_RUN.finditer(q):
        lead, numeral = m.group(1), m.group(2)
        if not (q[m.end() :].lstrip().startswith(_CN_BEFORE) or q[: m.start()].rstrip().endswith(_CN_AFTER)):
            continue
        value = chinese_number(numeral)
        if value is None or (lead is not None and numeral not in ("百", "千", "万")):
            continue
        number = float(lead) * value if lead is not None else float(value)
        text = str(int(number)) if number == int(number) else f"{number:g}"
        out.append(q[at : m.start()] + text)
        spans.append((m.start() + shift, m.start() + shift + len(text), m.start(), m.end()))
        shift += len(text) - (m.end() - m.start())
        at = m.end()
    out.append(q[at:])
    return "".join(out), spans


def _in_query(pos: int, spans: list[tuple[int, int, int, int]], *, end: bool) -> int:
    """A position in :func:`_arabic`'s text mapped back to the query (a position inside a replaced
    numeral maps to the numeral's start, or with ``end`` its end)."""
    shift = 0
    for a, b, qa, qb in spans:
        if pos < a or (pos == a and not end):
            break
        if pos < b or (pos == b and end):
            return qb if end else qa
        shift = qb - b
    return pos + shift


def same_word(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` one word, allowing singular vs plural? "dress" ~ "dresses", "accessory" ~
    "accessories", "jean" ~ "jeans"; not "dress" ~ "dressed" nor "light" ~ "lighting"."""
    return a == b or b in plural_forms(a) or a in plural_forms(b)


@dataclass(frozen=True)
class FieldMatch:
    """A query phrase found in the catalog's vocabulary: ``field`` is brand, category or
    ``attribute:<key>``; ``value`` the catalog's own spelling; ``phrase`` the shopper's own words
    (lower-cased, unstemmed: "hoodies", not "hoodi"), or characters for a Chinese value."""

    field: str
    value: str
    phrase: str


@dataclass(frozen=True)
class QueryIntent:
    """What was understood: ``text`` is the query with price phrases removed (what retrieval sees)."""

    text: str
    price_min: float | None = None
    price_max: float | None = None
    matches: tuple[FieldMatch, ...] = ()

    def filters(self, base: Filters | None) -> Filters | None:
        """``base`` with the understood price range added (an explicit request's bounds win)."""
        if self.price_min is None and self.price_max is None:
            return base
        b = base or Filters()
        lo = b.price_min if b.price_min is not None else self.price_min
        hi = b.price_max if b.price_max is not None else self.price_max
        if lo is not None and hi is not None and lo > hi:
            return base  # contradictory: keep what the caller asked for
        return Filters(b.category, b.brands, lo, hi, b.in_stock, b.attributes)

    def is_empty(self) -> bool:
        return self.price_min is None and self.price_max is None and not self.matches

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "price_min": self.price_min,
            "price_max": self.price_max,
            "matches": [{"field": m.field, "value": m.value, "phrase": m.phrase} for m in self.matches],
        }


def parse_price(query: str) -> tuple[str, float | None, float | None]:
    """``(query without the price phrase, min, max)``; the first phrase found wins."""
    q = normalise(query)
    if _DIGIT.search(q) is None:  # every pattern holds a number (_NUM): most queries skip all ten
        return q, None, None
    scan, spans = _arabic(q)  # "五十元以下" read as "50元以下"
    for pattern, kind in _PRICE_PATTERNS:
        m = pattern.search(scan)
        if m is None:
            continue
        nums = [float(x) for x in m.groups() if x is not None]
        lo, hi = (min(nums), max(nums)) if kind == "range" else (None, None)
        if kind == "max":
            hi = nums[0]
        elif kind == "min":
            lo = nums[0]
        elif kind == "about":
            lo, hi = round(nums[0] * (1 - ABOUT), 2), round(nums[0] * (1 + ABOUT), 2)
        start, end = _in_query(m.start(), spans, end=False), _in_query(m.end(), spans, end=True)
        rest = " ".join((q[:start] + " " + q[end:]).split())
        return rest, lo, hi
    return q, None, None


_CJK_RUN = re.compile(rf"[{CJK_RANGES}]+")
_CJK_CHARS_PER_WORD = 4  # a Chinese value of up to 4 * max_words characters is matched
_WORD_CHAR = re.compile(r"[^\W_]")


def _fits(scan: str, i: int, j: int) -> bool:
    """May a match span ``scan[i:j]``? Not when it cuts a Latin/digit word ("t恤" does not match
    in "shirt恤"); a one-character CJK value only as a whole run of its own ("大" not in "大衣")."""

    def word(k: int) -> bool:
        return 0 <= k < len(scan) and _WORD_CHAR.match(scan[k]) is not None and not _CJK_RUN.match(scan[k])

    if word(i) and word(i - 1):
        return False
    if word(j - 1) and word(j):
        return False
    if j - i == 1 and _CJK_RUN.match(scan[i]):
        return not (i > 0 and _CJK_RUN.match(scan[i - 1])) and not (j < len(scan) and _CJK_RUN.match(scan[j]))
    return True


def _agree(query_words: list[str], value_words: tuple[str, ...]) -> bool:
    """Same stems already; do the surface words agree too, word by word (:func:`same_word`)?"""
    return len(query_words) == len(value_words) and all(map(same_word, query_words, value_words))


class QueryUnderstanding:
    """Built once per catalog; ``parse(query)`` -> :class:`QueryIntent`; ``boost(intent, rows)``."""

    def __init__(
        self,
        catalog: Catalog,
        tokenizer: Tokenizer | None = None,
        *,
        min_products: int = 2,
        max_words: int = 3,
        holding: Callable[[str], npt.NDArray[np.int64]] | None = None,
    ) -> None:
        """``holding``: the products (sorted rows) whose text holds an analysed term (the lexical
        index's postings), to tell a value word inside a compound (:meth:`_in_compound`)."""
        self.catalog = catalog
        self.holding = holding
        self.min_products = min_products
        self.tokenizer = tokenizer or Tokenizer()
        self.max_words = max_words
        self.has_prices = bool(np.isfinite(catalog.price).any())
        self._prepared = False  # category codes built at every depth (prepare)
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for p in catalog.products:
            if p.brand:
                counts[("brand", p.brand)] += 1
            for c in set(p.category):
                counts[("category", c)] += 1
            for k, v in p.attributes.items():
                if v:
                    counts[(f"attribute:{k}", v)] += 1
        # the analyser without its stemmer: the same tokens, one for one, in their surface form
        self._surface = replace(self.tokenizer, stem=False)
        # stems -> (field, value, the value's surface words)
        self._vocab: dict[tuple[str, ...], list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
        self._cjk_vocab: dict[str, list[tuple[str, str]]] = defaultdict(list)  # folded value -> fields
        for (fld, value), n in counts.items():
            if n < min_products:
                continue
            if has_cjk(value):
                key = self._fold(normalise(value))
                if len(key) <= _CJK_CHARS_PER_WORD * max_words:
                    self._cjk_vocab[key].append((fld, value))
                continue
            terms = tuple(self.tokenizer(value))
            if 0 < len(terms) <= max_words:
                self._vocab[terms].append((fld, value, tuple(self._surface(value))))
        self._cjk_lengths = sorted({len(k) for k in self._cjk_vocab}, reverse=True)
        # value masks (a byte per product each) and compound readings (side-by-side word pair -> titles),
        # bounded by bytes: a long-running server on a 1M-product catalog meets many values and pairs
        self._masks: ArrayMemo[np.bool_] = ArrayMemo(MASK_MEMO_BYTES)
        self._pairs: ArrayMemo[np.int64] = ArrayMemo(PAIR_MEMO_BYTES)
        self._last: tuple[str, QueryIntent] | None = None

    def notices(self, query: str) -> list[str]:
        """A price phrase in ``query`` that cannot filter, said plainly: in a store none of whose
        products has a price it is searched as words ("100元以下" found banknotes of 100元)."""
        if self.has_prices:
            return []
        _, lo, hi = parse_price(query)
        if lo is None and hi is None:
            return []
        asked = price_range(lo, hi)
        return [
            Notice(
                f"the query names a price ({asked}), but no product here has a price: it was searched as words",
                PRICE_UNUSABLE,
            )
        ]

    def names(self, phrase: str) -> bool:
        """Whether ``phrase`` is the name of a catalog value (a brand, category or attribute value,
        as the matcher reads it: "jacket" when some product's type is Jacket)."""
        return tuple(self.tokenizer(phrase)) in self._vocab

    def parse(self, query: str) -> QueryIntent:
        """Memoised for the last query: ``/search`` parses inside ``search`` and again to report it."""
        last = self._last
        if last is not None and last[0] == query:
            return last[1]
        intent = self._parse(query)
        self._last = (query, intent)  # one atomic assignment: safe across request threads
        return intent

    def _fold(self, text: str) -> str:
        """``text`` with its CJK runs folded to Simplified as the analyser does, one character
        for one (so positions in the result are positions in ``text``)."""
        if not self.tokenizer.fold_traditional or not has_cjk(text):
            return text

        def fold(m: re.Match[str]) -> str:
            run = m.group()
            out = to_simplified(run)
            return out if len(out) == len(run) else "".join(c if len(f := to_simplified(c)) != 1 else f for c in run)

        return _CJK_RUN.sub(fold, text)

    def _cjk_matches(self, text: str, budget: list[int]) -> tuple[list[FieldMatch], str]:
        """Leftmost-longest catalog values inside ``text``'s CJK runs (see the module notes), and
        ``text`` with the matched spans blanked for the Latin matcher. ``budget``: the compound
        readings left to this query (:data:`COMPOUND_LOOKUPS`)."""
        if not self._cjk_vocab or not has_cjk(text):
            return [], text
        shown = normalise(text)
        scan = self._fold(shown)
        matches: list[FieldMatch] = []
        rest = list(shown)
        i = 0
        while i < len(scan):
            for n in self._cjk_lengths:  # longest first
                j = i + n
                hits = self._cjk_vocab.get(scan[i:j]) if j <= len(scan) else None
                if hits and _fits(scan, i, j):  # the boundary checks only for a catalog value
                    hits = [(f, v) for f, v in hits if not self._in_cjk_compound(scan, i, j, f, v, budget)]
                else:
                    hits = None
                if hits:
                    matches.extend(FieldMatch(f, v, shown[i:j]) for f, v in hits)
                    rest[i:j] = " " * n
                    i = j
                    break
            else:
                i += 1
        return matches, "".join(rest)

    def _parse(self, query: str) -> QueryIntent:
        text, lo, hi = parse_price(query) if self.has_prices else (query, None, None)
        budget = [COMPOUND_LOOKUPS]  # per call: request threads parse concurrently
        matches, latin = self._cjk_matches(text, budget)
        rest = _CJK_RUN.sub(" ", latin)  # Chinese values were matched above
        terms = self.tokenizer(rest)
        words = self._surface(rest)  # one for one with ``terms`` (the stemmer maps word to word)
        i = 0
        while i < len(terms):
            for n in range(min(self.max_words, len(terms) - i), 0, -1):  # longest phrase first
                hits = [
                    (f, v) for f, v, w in self._vocab.get(tuple(terms[i : i + n]), ()) if _agree(words[i : i + n], w)
                ]
                if n == 1 and hits:
                    hits = [(f, v) for f, v in hits if not self._in_compound(terms, words, i, f, v, budget)]
                if hits:
                    phrase = " ".join(words[i : i + n])  # the shopper's words, not their stems ("hoodies")
                    matches.extend(FieldMatch(f, v, phrase) for f, v in hits)
                    i += n
                    break
            else:
                i += 1
        return QueryIntent(text if (lo is not None or hi is not None) else query, lo, hi, tuple(matches))

    def _in_compound(
        self, terms: list[str], words: list[str], i: int, field: str, value: str, budget: list[int]
    ) -> bool:
        """Whether the one-word value at ``terms[i]`` is part of a compound with a neighbouring word
        rather than a name of ``value``: most products whose title holds the two words side by side
        do not carry the value ("cream" in "ice cream" names no category Cream when most "... ice
        cream" titles are outside it; "peanut butter" is no Butter), while "black dress" keeps both
        (titles holding "black dress" are mostly black dresses). Needs ``min_products`` such titles."""
        if self.holding is None:
            return False
        mask = self.field_mask(FieldMatch(field, value, terms[i]))
        for j in (i - 1, i + 1):
            if not 0 <= j < len(terms):
                continue
            pair = (words[min(i, j)], words[max(i, j)])
            rows = self._side_by_side(pair, (terms[min(i, j)], terms[max(i, j)]), budget)
            if len(rows) >= self.min_products and mask[rows].mean() < COMPOUND_SHARE:
                return True
        return False

    def _in_cjk_compound(self, scan: str, i: int, j: int, field: str, value: str, budget: list[int]) -> bool:
        """:meth:`_in_compound` for a Chinese value at ``scan[i:j]``: the value with the query's next
        character on either side is a longer word most titles holding it do not carry the value of
        ("小米粥" and "黄小米" are millet, not the brand 小米; "红富士苹果" is a Fuji apple, not the
        brand 苹果; "苹果手机" keeps 苹果: titles holding "苹果手" are mostly the brand's)."""
        if self.holding is None:
            return False
        mask: npt.NDArray[np.bool_] | None = None
        for lo, hi, edge in ((i - 1, j, i - 1), (i, j + 1, j - 1)):
            if lo < 0 or hi > len(scan) or not has_cjk(scan[edge] if lo < i else scan[j]):
                continue
            longer = scan[lo:hi]
            rows = self._holding_text(longer, scan[edge : edge + 2], budget)
            if len(rows) >= self.min_products:
                mask = self.field_mask(FieldMatch(field, value, scan[i:j])) if mask is None else mask
                if mask[rows].mean() < COMPOUND_SHARE:
                    return True
        return False

    def _holding_text(self, text: str, bigram: str, budget: list[int]) -> npt.NDArray[np.int64]:
        """Products whose (folded) title holds the Chinese ``text``: candidates from the postings of
        its ``bigram`` (the analyser's character pair; none under an analyser without pairs)."""
        assert self.holding is not None
        holding = self.holding
        return self._titles((text, ""), lambda: holding(bigram), lambda t: text in self._fold(t), budget)

    def _side_by_side(self, pair: tuple[str, str], stems: tuple[str, str], budget: list[int]) -> npt.NDArray[np.int64]:
        """Products whose title holds the two words next to each other (candidates: the postings of both)."""
        assert self.holding is not None
        holding = self.holding
        near = re.compile(rf"(?<!\w){re.escape(pair[0])}\W+{re.escape(pair[1])}")
        return self._titles(
            pair,
            lambda: np.intersect1d(holding(stems[0]), holding(stems[1]), assume_unique=True),
            lambda t: near.search(t) is not None,
            budget,
        )

    def _titles(
        self,
        key: tuple[str, str],
        candidates: Callable[[], npt.NDArray[np.int64]],
        holds: Callable[[str], bool],
        budget: list[int],
    ) -> npt.NDArray[np.int64]:
        """The ``candidates`` rows whose normalised title ``holds`` (at most :data:`COMPOUND_SAMPLE`
        of them read, spread evenly), memoised under ``key``; none once the query's ``budget`` of
        new readings is spent."""
        hit = self._pairs.get(key)
        if hit is None:
            if budget[0] <= 0:
                return _NO_ROWS
            budget[0] -= 1
            rows = candidates()
            if len(rows) > COMPOUND_SAMPLE:
                rows = rows[np.linspace(0, len(rows) - 1, COMPOUND_SAMPLE).astype(np.int64)]
            products = self.catalog.products
            hit = np.array([r for r in rows.tolist() if holds(normalise(products[r].title))], dtype=np.int64)
            self._pairs.put(key, hit)
        return hit

    def field_mask(self, match: FieldMatch) -> npt.NDArray[np.bool_]:
        key = (match.field, match.value)
        m = self._masks.get(key)
        if m is None:
            v = match.value.lower()
            if match.field == "brand":
                m = np.asarray(self.catalog.brand_column() == v, dtype=bool)
            elif match.field == "category":
                m = self._category_level_mask(v)
            else:
                m = np.asarray(self.catalog.attribute_column(match.field.split(":", 1)[1]) == v, dtype=bool)
            self._masks.put(key, m)
        return m

    def prepare(self) -> None:
        """Build the catalog's category codes at every depth (a pass over the products per depth;
        facets share them), so that a category value's mask is a comparison per depth from then on
        (0.7 vs 85 ms at 294,180 products, ``store_controls.json``). Before it, each new value is
        a loop over the products, cheaper than building the codes (425 ms there) for a process that
        asks once. ``HybridSearcher.warmup`` calls it: a server pays it at start and reload."""
        for depth in range(1, self.catalog.category_depth + 1):
            self.catalog.category_codes(depth)
        self._prepared = True

    def _category_level_mask(self, value: str) -> npt.NDArray[np.bool_]:
        """Products with ``value`` (lower-cased) at any level of their category path: once prepared
        (:meth:`prepare`), from the catalog's per-depth prefix codes
        (:meth:`~shelfwise.catalog.schema.Catalog.category_codes`), a comparison per depth; before, a
        loop over the products."""
        if not self._prepared:
            return np.array([value in (c.lower() for c in p.category) for p in self.catalog.products], dtype=bool)
        out = np.zeros(len(self.catalog), dtype=bool)
        for depth in range(1, self.catalog.category_depth + 1):
            codes, index = self.catalog.category_codes(depth)
            hit = [c for prefix, c in index.items() if len(prefix) == depth and prefix[-1] == value]
            if hit:
                out |= np.isin(codes, hit)
        return out

    def type_mask(self, intent: QueryIntent, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_] | None:
        """Per row in ``rows``: is the product of the query's product type? That is the category its
        last category phrase names (None when it names none): noun compounds are head-final in
        English and Chinese (the right-hand head rule, Williams, 1981, "On the notions 'lexically
        related' and 'head of a word'"), so "summer dress" is a dress and "dress shoes" are shoes.
        Chinese values are matched before Latin ones: in a query mixing both, the last Latin one."""
        cats = [m for m in intent.matches if m.field == "category"]
        if not cats:
            return None
        head = cats[-1].phrase
        out = np.zeros(len(rows), dtype=bool)
        for m in cats:
            if m.phrase == head:  # one phrase may name several category values ("Dress", "Dresses")
                out |= self.field_mask(m)[rows]
        return out

    def boost(self, intent: QueryIntent, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Per row in ``rows``: the share of matched query phrases the product agrees with (0..1)."""
        out = np.zeros(len(rows), dtype=np.float32)
        phrases: dict[str, npt.NDArray[np.bool_]] = {}
        for m in intent.matches:  # one phrase may name several fields: any of them counts
            hit = self.field_mask(m)[rows]
            phrases[m.phrase] = hit if m.phrase not in phrases else (phrases[m.phrase] | hit)
        for hit in phrases.values():
            out += hit.astype(np.float32)
        return (out / np.float32(max(len(phrases), 1))).astype(np.float32)
