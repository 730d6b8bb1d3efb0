"""Swatches: a listed product's colour / size variants (the other products named as it, which a list
showing one item per title leaves out), each with a short label and whether it passes the request's
filters.

What a storefront needs to draw swatches under a product card without a request per variant (as
Shopify's ``product.variants`` with their option values and ``available``): the variant's id, what
tells it apart (its colour, then size, ...), price, stock, and whether the request's filters admit
it. A variant the filters exclude (another colour than the one filtered on, out of stock under
``in_stock``, a price outside the range) is still listed, flagged ``matches=False``, so the client
greys it out instead of the product seeming to come in one colour; a product a merchandising rule
hides for the query is never listed (``hidden``).

Labels depend on the catalog alone, so each title's are chosen once per catalog object (a catalog is
never changed after it is built; a reload builds a new one, which starts a new cache) and a request
only picks, caps and flags its variants."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shelfwise.catalog.schema import BoolArray, Catalog, Product

LABEL_KEYS = 2  # attributes a label names at most ("Dark Grey · Solid")
# variants one listed product returns at most by default. H&M's largest title has 17 variants (6 colour
# groups; at most 9 in one title; 90th percentile of titles with variants: 4 variants), so 50 never
# cuts a real colour range there, while a title with thousands of rows (a size x colour x length grid,
# a feed's bad grouping) cannot make every card of a list carry thousands of swatch objects; the
# total is still given.
MAX_VARIANTS = 50
LABEL_SEP = " · "
_FIRST = ("colour", "color", "size")  # attribute keys holding these words lead a label, in this order


@dataclass(frozen=True, slots=True)
class Variant:
    """One swatch: catalog row ``row``, its ``label`` and whether it passes the request's filters."""

    row: int
    label: str
    matches: bool


@dataclass(frozen=True, slots=True)
class Swatches:
    """A listed product's own ``label``, its ``variants`` (the other products of its title, none
    hidden: those the filters admit first, each group in catalog order, at most the cap asked) and
    ``total``, how many it has (more than ``len(variants)`` when the cap cut them); ``label`` is ""
    when it has none."""

    label: str
    variants: tuple[Variant, ...]
    total: int


def _rank(key: str) -> int:
    low = key.lower()
    return next((i for i, word in enumerate(_FIRST) if word in low), len(_FIRST))


def label_keys(products: Sequence[Product]) -> tuple[str, ...]:
    """The attribute keys that tell ``products`` (one title's variants) apart: of the keys whose
    values differ among them, colour keys first, then size, then the rest in the order the products
    hold them; a key is taken only when it separates products the keys before it leave alike (H&M's
    perceived colour adds nothing to its colour group), at most :data:`LABEL_KEYS`."""
    keys = list(dict.fromkeys(k for p in products for k in p.attributes))
    differ = [k for k in keys if len({p.attributes.get(k, "") for p in products}) > 1]
    return _choose(products, sorted(differ, key=_rank))  # stable: catalog order within a rank


def _choose(products: Sequence[Product], differ: Sequence[str]) -> tuple[str, ...]:
    """:func:`label_keys`' pick from ``differ``, the keys whose values differ, in the order tried."""
    chosen: list[str] = []
    apart = 1
    for key in differ:
        n = len({tuple(p.attributes.get(k, "") for k in (*chosen, key)) for p in products})
        if n > apart:
            chosen.append(key)
            apart = n
        if apart == len(products) or len(chosen) == LABEL_KEYS:
            break
    return tuple(chosen)


def label(product: Product, keys: Sequence[str]) -> str:
    """``product``'s values of ``keys`` joined by :data:`LABEL_SEP` (those it has); its id when it has
    none of them (variants no attribute tells apart)."""
    said = [v for v in (product.attributes.get(k, "").strip() for k in keys) if v]
    return LABEL_SEP.join(said) or product.id


@dataclass(frozen=True, slots=True)
class TitleLabels:
    """One title's labels: the attribute ``keys`` chosen and each of its rows' ``labels``."""

    keys: tuple[str, ...]
    labels: dict[int, str]


@dataclass(frozen=True, slots=True)
class _Title:
    """One title's ``rows`` (catalog order) and ``differ``, its attribute keys whose values differ among
    them, in the order its rows first hold them."""

    rows: tuple[int, ...]
    differ: tuple[str, ...]

    def tried(self, product: Product) -> tuple[str, ...]:
        """The keys :func:`label_keys` tries, in order, over this title with ``product`` first (as
        :func:`swatches` asks it): ``product``'s own differing keys first, then the rest."""
        own = [k for k in product.attributes if k in self.differ]
        rest = [k for k in self.differ if k not in product.attributes]
        return tuple(sorted(own + rest, key=_rank))


class _LabelCache:
    """One catalog's :class:`TitleLabels`, per title and key order (one for a title whose rows all hold
    their attributes in one order), each built when first asked. Reads take no lock (a dict lookup);
    two requests missing at once may both build an entry, the first stored is kept (the two are equal)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._titles: dict[int, _Title] = {}
        self._labels: dict[tuple[int, tuple[str, ...]], TitleLabels] = {}

    def get(self, catalog: Catalog, row: int, others: Sequence[int]) -> TitleLabels:
        code = int(catalog.variant_codes[row])
        products = catalog.products
        title = self._titles.get(code)
        if title is None:
            rows = tuple(sorted((row, *others)))
            group = [products[r] for r in rows]
            held = dict.fromkeys(k for p in group for k in p.attributes)
            differ = tuple(k for k in held if len({p.attributes.get(k, "") for p in group}) > 1)
            with self._lock:
                title = self._titles.setdefault(code, _Title(rows, differ))
        tried = title.tried(products[row])
        got = self._labels.get((code, tried))
        if got is None:
            group = [products[r] for r in title.rows]
            keys = _choose(group, tried)
            built = TitleLabels(keys, {r: label(p, keys) for r, p in zip(title.rows, group, strict=True)})
            with self._lock:
                got = self._labels.setdefault((code, tried), built)
        return got


_CACHES: weakref.WeakKeyDictionary[Catalog, _LabelCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def title_labels(catalog: Catalog, row: int) -> TitleLabels:
    """Row ``row``'s title's labels as :func:`swatches` gives them (:func:`label_keys` over the title,
    ``row`` first), chosen once per catalog object and title; gone with the catalog."""
    return _title_labels(catalog, row, catalog.variant_rows(row))


def _title_labels(catalog: Catalog, row: int, others: Sequence[int]) -> TitleLabels:
    with _CACHES_LOCK:
        cache = _CACHES.get(catalog)
        if cache is None:
            cache = _CACHES[catalog] = _LabelCache()
    return cache.get(catalog, row, others)


def swatches(
    catalog: Catalog,
    row: int,
    allowed: BoolArray | None = None,
    hidden: Collection[int] = frozenset(),
    limit: int = MAX_VARIANTS,
) -> Swatches:
    """Row ``row``'s label and its variants (:meth:`Catalog.variant_rows`, less ``hidden``), flagged
    ``matches``: ``allowed[variant]`` (the request's filter mask; None: no filter, every variant
    matches); those that match first, then the rest, each in catalog order, the first ``limit`` kept
    and labelled (:func:`label_keys` over the whole title, ``row`` included, so every card of one
    product labels a variant alike: :func:`title_labels`, chosen once per catalog), with the count
    before the cut."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    every = catalog.variant_rows(row)
    rows = [r for r in every if r not in hidden] if hidden else list(every)
    if not rows:
        return Swatches("", (), 0)
    if allowed is not None:
        rows.sort(key=lambda r: not allowed[r])  # stable: catalog order within each group
    labels = _title_labels(catalog, row, every).labels
    out = tuple(Variant(r, labels[r], allowed is None or bool(allowed[r])) for r in rows[:limit])
    return Swatches(labels[row], out, len(rows))
