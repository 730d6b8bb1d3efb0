"""Facet counts for a query's results: category (drill-down), brand, price ranges, attributes.

A storefront shows, next to the results, how many of them fall in each category, brand, price
range and attribute value, and lets the shopper narrow the list. Counts here are *disjunctive*:
each facet group is counted over the results that pass every *other* group's selection, so a
shopper sees what picking another value of the same group would give (the usual e-commerce
behaviour). The result set is the top ``depth`` rows of the query with no facet selection
(``in_stock`` and attribute filters that are not facets still apply); price range edges come from
that same set, so they stay put while the shopper clicks around.

Counts follow :class:`~shelfwise.catalog.schema.Filters` exactly: categories by case-insensitive
path prefix, brands and attribute values case-insensitively, price ranges inclusive at both ends
(``price_min <= price <= price_max``), so a count is what picking that value returns among the
counted rows. Nothing here knows about HTTP.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog, Filters
from shelfwise.retrieve.hybrid import HybridSearcher

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


def _value_counts(labels: Sequence[str], selected: Iterable[str] = ()) -> tuple[FacetValue, ...]:
    """Case-insensitive counts of non-empty ``labels`` (shown as first seen), most frequent first;
    selected values (lower-case) are marked and always kept, with count 0 when absent."""
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for label in labels:
        if not label:
            continue
        key = label.lower()
        counts[key] = counts.get(key, 0) + 1
        shown.setdefault(key, label)
    chosen = {s.lower(): s for s in selected}
    top = sorted(counts, key=lambda k: (-counts[k], shown[k].lower()))
    keep = top[:MAX_VALUES] + [k for k in top[MAX_VALUES:] if k in chosen]
    out = [FacetValue(shown[k], counts[k], k in chosen) for k in keep]
    out += [FacetValue(label, 0, True) for key, label in chosen.items() if key not in counts]
    return tuple(out)


def facet_counts(
    catalog: Catalog, rows: npt.ArrayLike, selection: Filters, attribute_keys: Sequence[str] = ()
) -> Facets:
    """Disjunctive facet counts over catalog ``rows`` for the shopper's ``selection`` (category path,
    brands, price range, attribute values of ``attribute_keys``; other fields are ignored here)."""
    r = np.asarray(rows, dtype=np.int64)
    prods = [catalog.products[i] for i in r.tolist()]
    path = tuple(s.lower() for s in selection.category)
    d = len(path)
    in_cat = np.array([tuple(s.lower() for s in p.category[:d]) == path for p in prods], dtype=bool)
    brands = {b.lower() for b in selection.brands}
    in_brand = np.array([not brands or p.brand.lower() in brands for p in prods], dtype=bool)
    price = catalog.price[r] if r.size else np.zeros(0)
    in_price = np.ones(len(r), dtype=bool)
    if selection.price_min is not None:
        in_price &= price >= selection.price_min
    if selection.price_max is not None:
        in_price &= price <= selection.price_max
    chosen: dict[str, list[str]] = {}
    for k, v in selection.attributes:
        chosen.setdefault(k, []).append(v)
    groups: dict[str, BoolArray] = {"category": in_cat, "brand": in_brand, "price": in_price}
    for k in attribute_keys:
        groups[f"attr:{k}"] = np.array(
            [all(p.attributes.get(k, "").lower() == v.lower() for v in chosen.get(k, ())) for p in prods], dtype=bool
        )

    def others(name: str) -> BoolArray:
        """Rows passing every facet group's selection except ``name``'s."""
        m = np.ones(len(r), dtype=bool)
        for g, mask in groups.items():
            if g != name:
                m &= mask
        return m

    cat_rows = others("category") & in_cat
    category = _value_counts(
        [p.category[d] for p, ok in zip(prods, cat_rows, strict=True) if ok and len(p.category) > d]
    )
    brand = _value_counts([p.brand for p, ok in zip(prods, others("brand"), strict=True) if ok], selection.brands)
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
        k: _value_counts(
            [p.attributes.get(k, "") for p, ok in zip(prods, others(f"attr:{k}"), strict=True) if ok], chosen.get(k, ())
        )
        for k in attribute_keys
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
) -> Facets:
    """Facets of ``query``'s top ``depth`` results (``mode`` as the search itself). ``attribute_keys``:
    attribute facets (default :func:`default_attribute_keys`, plus any key the selection filters on).
    ``exclude``: rows the search never shows (a merchandising rule's hidden products), not counted."""
    if depth < 1:
        raise ValueError("depth must be >= 1")
    keys = list(default_attribute_keys(searcher.catalog) if attribute_keys is None else attribute_keys)
    keys += [k for k, _ in dict(selection.attributes).items() if k not in keys]  # a filtered key is a facet too
    rows = searcher.search(query, depth, Filters(in_stock=selection.in_stock), mode=mode, exclude=exclude).ids
    return facet_counts(searcher.catalog, rows, selection, keys)
