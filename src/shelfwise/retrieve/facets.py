"""Facet counts for a query's results: category (drill-down), brand, price ranges, attributes.

A storefront shows, next to the results, how many of them fall in each category, brand, price
range and attribute value, and lets the shopper narrow the list. Counts here are *disjunctive*:
each facet group is counted over the results that pass every *other* group's selection, so a
shopper sees what picking another value of the same group would give (the usual e-commerce
behaviour). The counted set is every product holding all the query's words (a word also held as the
store's synonym of it: :func:`holding_synonyms`; as Algolia counts the records a query matches)
together with the query's top ``depth`` results with no facet selection (what meaning alone
reaches; everything counted when no product holds the words); ``in_stock``
and attribute filters that are not facets still apply. Price range edges come from that same set,
so they stay put while the shopper clicks around. Counting is vectorised over the catalog's value
codes (:mod:`shelfwise.retrieve.facet_codes`): 100,000 counted rows of a 294,180-product catalog in
1.9 ms against 68 ms for a loop over the rows (``bench/bench_store_controls.py``).

Counts follow :class:`~shelfwise.catalog.schema.Filters` exactly: categories by case-insensitive
path prefix, brands and attribute values case-insensitively, price ranges inclusive at both ends
(``price_min <= price <= price_max``), so a count is what picking that value returns among the
counted rows. Nothing here knows about HTTP.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.index.rows import union_sorted
from shelfwise.retrieve.facet_codes import Field, facet_codes
from shelfwise.retrieve.hybrid import HybridSearcher
from shelfwise.retrieve.understand import parse_price

DEPTH = 100  # results counted by default
MAX_VALUES = 20  # values returned per facet (most frequent first; selected ones always kept)
PRICE_RANGES = 5
_NICE = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 10.0)
_AUTO_KEYS: weakref.WeakKeyDictionary[Catalog, tuple[str, ...]] = weakref.WeakKeyDictionary()
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class PriceRange:
    """``min`` / ``max``: inclusive bounds, None = open-ended."""

    min: float | None
    max: float | None
    count: int
    selected: bool = False


@dataclass(frozen=True)
class Facets:
    """``depth``: rows counted; ``category_path``: the selected category path, whose next level
    ``category`` counts (the top level when nothing is selected); ``priced``: counted rows that
    have a price; ``attributes``: attribute key -> value counts."""

    depth: int
    category_path: tuple[str, ...] = ()
    category: tuple[FacetValue, ...] = ()
    brand: tuple[FacetValue, ...] = ()
    price: tuple[PriceRange, ...] = ()
    priced: int = 0
    attributes: dict[str, tuple[FacetValue, ...]] = field(default_factory=dict)
    matched: int = 0  # of the counted rows, the products holding every word of the query


def nice_number(v: float) -> float:
    """``v`` snapped to the nearest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 times a power of ten."""
    if v <= 0 or not math.isfinite(v):
        return 0.0
    mag = 10.0 ** math.floor(math.log10(v))
    best = min(_NICE, key=lambda m: abs(m * mag - v))
    return float(f"{best * mag:.12g}")


def price_edges(prices: npt.ArrayLike, n_ranges: int = PRICE_RANGES) -> list[float]:
    """Up to ``n_ranges - 1`` increasing, rounded cut points at the quantiles of ``prices`` (NaN ignored),
    each strictly inside the price span; fewer when the prices are few or alike."""
    p = np.asarray(prices, dtype=np.float64)
    p = p[np.isfinite(p)]
    if p.size < 2 or n_ranges < 2:
        return []
    lo, hi = float(p.min()), float(p.max())
    edges: list[float] = []
    for q in np.linspace(0, 1, n_ranges + 1)[1:-1]:
        e = nice_number(float(np.quantile(p, q)))
        if lo < e < hi and (not edges or e > edges[-1]):
            edges.append(e)
    return edges


def default_attribute_keys(catalog: Catalog, max_keys: int = 2, max_values: int = 30) -> tuple[str, ...]:
    """Attribute keys worth a facet: on at least half the products, with 2..``max_values`` distinct
    values (case-insensitive); the ones with the fewest values first. Computed once per catalog."""
    hit = _AUTO_KEYS.get(catalog)
    if hit is not None:
        return hit[:max_keys]
    n = len(catalog)
    values: dict[str, set[str]] = {}
    present: dict[str, int] = {}
    for p in catalog.products:
        for k, v in p.attributes.items():
            present[k] = present.get(k, 0) + 1
            s = values.setdefault(k, set())
            if len(s) <= max_values:
                s.add(v.lower())
    keys = [k for k in values if present[k] * 2 >= n and 2 <= len(values[k]) <= max_values]
    keys.sort(key=lambda k: (len(values[k]), list(values).index(k)))
    _AUTO_KEYS[catalog] = tuple(keys)
    return tuple(keys[:max_keys])


def _code_counts(field: Field, codes: npt.NDArray[np.int32], selected: Iterable[str] = ()) -> tuple[FacetValue, ...]:
    """Counts of the field's value ``codes`` (-1: none, not counted), most frequent first (ties by
    the value, case-insensitive), at most :data:`MAX_VALUES`; selected values (any case) are marked
    and always kept, with count 0 when absent."""
    counts = np.bincount(codes[codes >= 0], minlength=len(field.labels)) if len(field.labels) else np.zeros(0, np.int64)
    found = np.flatnonzero(counts)
    chosen = {s.lower(): s for s in selected}
    top = sorted(found.tolist(), key=lambda c: (-int(counts[c]), field.labels[c].lower()))
    keep = top[:MAX_VALUES] + [c for c in top[MAX_VALUES:] if field.labels[c].lower() in chosen]
    out = [FacetValue(field.labels[c], int(counts[c]), field.labels[c].lower() in chosen) for c in keep]
    shown = {field.labels[c].lower() for c in found.tolist()}
    out += [FacetValue(label, 0, True) for key, label in chosen.items() if key not in shown]
    return tuple(out)


def _is(field: Field, codes: npt.NDArray[np.int32], values: Sequence[str]) -> BoolArray:
    """Rows whose value is one of ``values`` (any case; alternatives, as in Filters): all rows for none."""
    if not values:
        return np.ones(len(codes), dtype=bool)
    return np.isin(codes, [c for c in (field.code(v.lower()) for v in values) if c is not None])


def facet_counts(
    catalog: Catalog, rows: npt.ArrayLike, selection: Filters, attribute_keys: Sequence[str] = ()
) -> Facets:
    """Disjunctive facet counts over catalog ``rows`` for the shopper's ``selection`` (category path,
    brands, price range, attribute values of ``attribute_keys``; other fields are ignored here),
    counted on the catalog's integer codes (:mod:`shelfwise.retrieve.facet_codes`)."""
    r = np.asarray(rows, dtype=np.int64)
    fc = facet_codes(catalog)
    d = len(selection.category)
    if d == 0:
        in_cat = np.ones(len(r), dtype=bool)
    else:
        code = fc.levels[d - 1].code(tuple(s.lower() for s in selection.category)) if d <= len(fc.levels) else None
        in_cat = fc.levels[d - 1].codes[r] == code if code is not None else np.zeros(len(r), dtype=bool)
    brand_codes = fc.brand.codes[r]
    wanted = [c for c in (fc.brand.code(b.lower()) for b in selection.brands) if c is not None]
    in_brand = np.isin(brand_codes, wanted) if selection.brands else np.ones(len(r), dtype=bool)
    price = catalog.price[r] if r.size else np.zeros(0)
    in_price = np.ones(len(r), dtype=bool)
    if selection.price_min is not None:
        in_price &= price >= selection.price_min
    if selection.price_max is not None:
        in_price &= price <= selection.price_max
    chosen = selection.attribute_values()
    groups: dict[str, BoolArray] = {"category": in_cat, "brand": in_brand, "price": in_price}
    attr_codes = {k: fc.attribute(k).codes[r] for k in attribute_keys}
    for k in attribute_keys:
        groups[f"attr:{k}"] = _is(fc.attribute(k), attr_codes[k], chosen.get(k, ()))

    def others(name: str) -> BoolArray:
        """Rows passing every facet group's selection except ``name``'s."""
        m = np.ones(len(r), dtype=bool)
        for g, mask in groups.items():
            if g != name:
                m &= mask
        return m

    if d < len(fc.levels):
        next_level = fc.levels[d]
        category = _code_counts(next_level, next_level.codes[r][others("category") & in_cat])
    else:
        category = ()
    brand = _code_counts(fc.brand, brand_codes[others("brand")], selection.brands)
    base_price = price[others("price")]
    edges = price_edges(price)  # from every counted row, so ranges stay put while selections change
    bounds = list(zip([None, *edges], [*edges, None], strict=True)) if edges else []
    ranges: list[PriceRange] = []
    for lo, hi in bounds:
        m = np.isfinite(base_price)
        if lo is not None:
            m &= base_price >= lo
        if hi is not None:
            m &= base_price <= hi
        sel = (lo, hi) == (selection.price_min, selection.price_max)
        ranges.append(PriceRange(lo, hi, int(m.sum()), sel))
    attrs = {
        k: _code_counts(fc.attribute(k), attr_codes[k][others(f"attr:{k}")], chosen.get(k, ())) for k in attribute_keys
    }
    return Facets(
        depth=len(r),
        category_path=tuple(selection.category),
        category=category,
        brand=brand,
        price=tuple(ranges),
        priced=int(np.isfinite(price).sum()),
        attributes=attrs,
    )


def facet_search(
    searcher: HybridSearcher,
    query: str,
    selection: Filters,
    *,
    mode: str | None = None,
    depth: int = DEPTH,
    attribute_keys: Sequence[str] | None = None,
    exclude: Sequence[int] = (),
    held: Held | None = None,
) -> Facets:
    """Facets of every product holding all of ``query``'s words (as Algolia counts the records a
    query matches; the price a query names applies) together with its top ``depth`` results
    (``mode`` as the search itself: what meaning alone reaches, and everything when no product holds
    the words). ``attribute_keys``: attribute facets (default :func:`default_attribute_keys`, plus
    any key the selection filters on). ``exclude``: rows the search never shows (a merchandising
    rule's hidden products), not counted. ``held``: :func:`held_by` of ``query``, when the request
    has it already (the search's total read it: ``SearchAnswer.held``)."""
    if depth < 1:
        raise ValueError("depth must be >= 1")
    keys = list(default_attribute_keys(searcher.catalog) if attribute_keys is None else attribute_keys)
    keys += [k for k, _ in dict(selection.attributes).items() if k not in keys]  # a filtered key is a facet too
    top = searcher.search(query, depth, Filters(in_stock=selection.in_stock), mode=mode, exclude=exclude).ids
    holding = (
        holding_all(searcher, query, in_stock=selection.in_stock, exclude=exclude, held=held)
        if (mode or searcher.config.mode) != "dense"
        else top[:0]
    )
    rows = np.union1d(top, holding)
    return dataclasses.replace(facet_counts(searcher.catalog, rows, selection, keys), matched=len(holding))


def holding_all(
    searcher: HybridSearcher,
    query: str,
    *,
    in_stock: bool = False,
    exclude: Sequence[int] = (),
    held: Held | None = None,
) -> npt.NDArray[np.int64]:
    """The products whose text holds every analysed word of ``query`` or of its reading in the
    catalog's language (:func:`holding_query`; its price phrase left out and applied as a filter, as
    the search applies it), from the word index's postings; sorted rows. ``held``: as
    :func:`facet_search` takes it."""
    catalog = searcher.catalog
    _, lo, hi = parse_price(query) if searcher.understanding.has_prices else (query, None, None)
    found = Held.of(searcher, query, held).rows
    rows = found if found is not None else np.zeros(0, dtype=np.int64)
    keep = np.ones(len(rows), dtype=bool)
    if lo is not None:
        keep &= catalog.price[rows] >= lo
    if hi is not None:
        keep &= catalog.price[rows] <= hi
    if in_stock:
        keep &= catalog.in_stock[rows]  # the rows' own flags: no catalog-sized mask per request
    if len(exclude):
        keep &= ~np.isin(rows, np.asarray(exclude, dtype=np.int64))
    return rows[keep]


def holding_words(
    searcher: HybridSearcher, text: str, read: dict[str, npt.NDArray[np.int64]] | None = None
) -> npt.NDArray[np.int64] | None:
    """The products (sorted rows) whose text holds every analysed word of ``text``, from the word
    index's postings, rarest word first (the intersection shrinks soonest); None when ``text`` has
    no word (a price alone, stop words). ``read``: postings already read, by word (those read here
    are added: a caller reading several texts of the same words reads each word's postings once)."""
    terms = list(dict.fromkeys(searcher.lexical.tokenizer(text)))
    if not terms:
        return None
    got = read if read is not None else {}
    for t in terms:
        if t not in got:
            got[t] = searcher.lexical.words.holding(t)
    return holding_all_of([got[t] for t in terms])


def holding_all_of(postings: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """The rows in every one of ``postings`` (sorted, unique rows each), rarest first."""
    postings = sorted(postings, key=len)
    rows = postings[0]
    for found in postings[1:]:
        if not len(rows):
            break
        rows = np.intersect1d(rows, found, assume_unique=True)
    return rows


def holding_synonyms(searcher: HybridSearcher, text: str) -> npt.NDArray[np.int64] | None:
    """:func:`holding_words` of ``text`` or of one of its rewritings by the store's rules, the ones the
    search expands the query with (:meth:`Synonyms.readings <shelfwise.retrieve.synonyms.Synonyms.readings>`):
    a product holds every word of the query as typed, or every word of the query with some places of
    the rules' phrases read as another phrase of the rule ("tv stand" with "tv => television":
    "television stand"; a Chinese pair across the phrase's edge too, 苹果电话 for 苹果手机 with 手机,
    电话), as Algolia's synonyms stand in for the words they replace. A target of stop words alone
    stands for nothing. Postings only: an intersection per rewriting, a union of those."""
    read: dict[str, npt.NDArray[np.int64]] = {}  # each word's postings read once, the query's and its rewritings'
    rows = holding_words(searcher, text, read)
    if rows is None or searcher.synonyms is None:
        return rows
    tok = searcher.lexical.tokenizer
    for reading in searcher.synonyms.readings(text, keep=lambda t: bool(tok(t))):
        got = holding_words(searcher, reading, read)
        if got is not None:
            rows = union_sorted(rows, got, len(searcher.catalog))
    return rows


def holding_query(searcher: HybridSearcher, text: str) -> npt.NDArray[np.int64] | None:
    """:func:`holding_synonyms` of ``text`` (its words, or the store's synonyms in their place), joined
    by the products holding every word of its reading in the catalog's language when the search reads
    it so (``HybridSearcher.bilingual``: a Chinese query on an English catalog, Taiwan words on a
    mainland one, toneless pinyin): such a query's own words are in no product, while the hits come
    from its reading (which, as in the search, no synonym expands). None when ``text`` has no word."""
    rows = holding_synonyms(searcher, text)
    reading = searcher.bilingual.added(text) if rows is not None else ""
    alt = holding_words(searcher, reading) if reading else None
    return rows if alt is None or rows is None else union_sorted(rows, alt, len(searcher.catalog))


@dataclass(frozen=True)
class Held:
    """:func:`holding_query` of ``query``'s text (its price phrase out where the catalog has prices):
    the rows the total (:func:`count_matches`) and the facets (:func:`holding_all`) both start from,
    read once per request (:func:`held_by`) and handed to both."""

    query: str
    rows: npt.NDArray[np.int64] | None  # None: the text has no word
    text: str  # the text read: ``query`` less its price phrase where the catalog has prices

    @staticmethod
    def of(searcher: HybridSearcher, query: str, held: Held | None) -> Held:
        """``held`` when given (it must be of ``query``), else :func:`held_by` now."""
        if held is None:
            return held_by(searcher, query)
        if held.query != query:
            raise ValueError(f"held rows are of the query {held.query!r}, not {query!r}")
        return held


def held_by(searcher: HybridSearcher, query: str) -> Held:
    """:class:`Held` of ``query``."""
    text = parse_price(query)[0] if searcher.understanding.has_prices else query
    return Held(query, holding_query(searcher, text), text)


def count_matches(
    searcher: HybridSearcher,
    query: str,
    filters: Filters | None,
    exclude: Sequence[int] = (),
    *,
    distinct: bool = False,
    held: Held | None = None,
) -> int:
    """How many products hold every analysed word of ``query`` (its price phrase out, as
    :func:`holding_all` reads it: the same words as ``Facets.matched``), a word also held as one of
    the store's synonyms (:func:`holding_synonyms`), or every word of its reading in the catalog's
    language (:func:`holding_query`), and pass ``filters`` (the search's own, the price the query
    names in them), less ``exclude`` (rows a merchandising rule hides): Algolia's ``nbHits``, every
    query word required. With ``distinct``, the titles among them (colour / size variants named alike
    once, :attr:`FacetCodes.variants <shelfwise.retrieve.facet_codes.FacetCodes.variants>`: as
    Algolia's nbHits counts distinct groups). A query of no word matches every product the filters
    allow. Postings and the memoised filter mask only: no catalog-sized pass but the mask's count
    (and with ``distinct`` its rows' titles) for a query of no word. ``held``: :func:`held_by` of
    ``query`` when the caller has it (the facets of the same request read it too)."""
    mask = searcher.mask(filters)
    rows = Held.of(searcher, query, held).rows
    hidden = np.unique(np.asarray(exclude, dtype=np.int64))
    variants = facet_codes(searcher.catalog).variants if distinct else None
    if rows is None:  # a query of no word: every product the filters allow
        if variants is None:
            total = len(searcher.catalog) if mask is None else int(np.count_nonzero(mask))
            return total - (len(hidden) if mask is None else int(np.count_nonzero(mask[hidden])))
        if not len(hidden):
            return variants.groups if mask is None else variants.count(mask)
        rows = np.arange(len(searcher.catalog), dtype=np.int64) if mask is None else np.flatnonzero(mask)
    keep = mask[rows] if mask is not None else np.ones(len(rows), dtype=bool)
    if len(hidden):
        keep &= ~np.isin(rows, hidden)
    return int(np.count_nonzero(keep)) if variants is None else variants.count(rows[keep])
