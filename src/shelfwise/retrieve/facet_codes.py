"""A catalog's facet fields as integer codes, so facets are counted with ``np.bincount`` over any
number of products (every product a query's words reach, not only the top hundred).

Each field value is compared case-insensitively, as :class:`~shelfwise.catalog.schema.Filters`
compares them, and shown as the catalog first writes it. Built once per catalog (held weakly) and,
for attributes, once per key asked for that some product has (a key a request makes up gets a shared
empty field, not a catalog-sized array kept for good). Builds run outside the locks, so building one
catalog's codes (seconds at 1M products, on a reload) never holds up counting on another.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog

Codes = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Field:
    """One facet field: ``codes`` per catalog row (-1: no value), ``keys`` (lower-cased value ->
    code) and ``labels`` (code -> the value as first written)."""

    codes: Codes
    keys: dict[object, int]
    labels: list[str]

    def code(self, value: object) -> int | None:
        return self.keys.get(value)


def _from_column(column: npt.NDArray[np.object_], shown: Callable[[int], str]) -> Field:
    """A field from a lower-cased value column ("" = none, code -1), each value shown as the row
    that first holds it writes it (``shown(row)``)."""
    uniq, first, inverse = np.unique(column.astype(str), return_index=True, return_inverse=True)
    keep = uniq != ""
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    codes = remap[inverse.reshape(-1)].astype(np.int32)
    keys: dict[object, int] = {str(v): int(remap[i]) for i, v in enumerate(uniq.tolist()) if keep[i]}
    return Field(codes, keys, [shown(int(first[i])) for i in range(len(uniq)) if keep[i]])


def _level(catalog: Catalog, depth: int) -> Field:
    """The category prefixes of ``depth`` levels, from the catalog's own codes
    (:meth:`Catalog.category_codes`): a product whose path is shorter has none (-1)."""
    codes, index = catalog.category_codes(depth)
    names = catalog.category_names(depth)
    full = np.array([len(key) == depth for key in index], dtype=bool)  # index: key -> 0, 1, 2 ... in order
    labels = [names.get(key, "") for key in index]
    return Field(
        np.where(full[codes], codes, -1).astype(np.int32), {k: c for k, c in index.items() if len(k) == depth}, labels
    )


@dataclass(frozen=True)
class Variants:
    """``codes``: per catalog row, the number of its title as :attr:`Product.variant_key
    <shelfwise.catalog.schema.Product.variant_key>` reads it (colour / size variants named alike
    share one), numbered 0 .. ``groups - 1``."""

    codes: Codes
    groups: int

    def count(self, rows: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> int:
        """How many titles ``rows`` (row numbers, or a flag per catalog row) hold, variants named
        alike once: the rows' codes sorted when they are few beside the titles, else marked on a
        flag per title (no sort of many rows)."""
        got = self.codes[rows]
        if len(got) * SORT_SHARE < self.groups:
            return len(np.unique(got))
        seen = np.zeros(self.groups, dtype=bool)
        seen[got] = True
        return int(np.count_nonzero(seen))


SORT_SHARE = 16  # Variants.count sorts the rows' codes when they number under 1/16 of the titles


def variant_codes(catalog: Catalog) -> Variants:
    """The catalog's :class:`Variants` (:attr:`Catalog.variant_codes`, numbered in the order titles first occur)."""
    codes = catalog.variant_codes
    return Variants(codes, int(codes.max()) + 1 if len(codes) else 0)


class FacetCodes:
    """``levels[d]``: the category path prefix of ``d + 1`` levels (a tuple of lower-cased names),
    ``brand``, and :meth:`attribute` per key: the catalog's own columns and codes, with the labels
    to show; ``variants``: each row's title (:class:`Variants`, what ``distinct`` counts once)."""

    def __init__(self, catalog: Catalog) -> None:
        products = catalog.products
        self.levels = [_level(catalog, d + 1) for d in range(catalog.category_depth)]
        self.brand = _from_column(catalog.brand_column(), lambda r: products[r].brand)
        self.variants = variant_codes(catalog)  # what ``distinct`` shows once, per row
        self._catalog = weakref.ref(catalog)  # this is the value of a dict weakly keyed by the catalog
        self._n = len(products)
        self._attrs: dict[str, Field] = {}
        self._none: Field | None = None  # every row without a value: keys no product has
        self._lock = threading.Lock()

    def attribute(self, key: str) -> Field:
        got = self._attrs.get(key)
        if got is not None:
            return got
        catalog = self._catalog()
        if catalog is None or key not in catalog.attribute_keys:
            if self._none is None:
                self._none = Field(np.full(self._n, -1, dtype=np.int32), {}, [])
            return self._none
        products = catalog.products
        made = _from_column(catalog.attribute_column(key), lambda r: products[r].attributes.get(key, ""))
        with self._lock:  # two requests may build the same key at once: both get the one kept
            return self._attrs.setdefault(key, made)


_CODES: weakref.WeakKeyDictionary[Catalog, FacetCodes] = weakref.WeakKeyDictionary()
_CODES_LOCK = threading.Lock()


def facet_codes(catalog: Catalog) -> FacetCodes:
    """The catalog's :class:`FacetCodes`, built on first use (outside the lock: other catalogs'
    lookups do not wait; two first uses at once may both build, and share the one kept)."""
    with _CODES_LOCK:
        got = _CODES.get(catalog)
    if got is not None:
        return got
    made = FacetCodes(catalog)
    with _CODES_LOCK:
        got = _CODES.get(catalog)
        if got is None:
            got = _CODES[catalog] = made
        return got
