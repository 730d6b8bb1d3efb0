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
from collections.abc import Iterable
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


def _field(values: Iterable[object | None], label: Iterable[str]) -> Field:
    keys: dict[object, int] = {}
    labels: list[str] = []
    codes: list[int] = []
    for v, shown in zip(values, label, strict=True):
        if v is None:
            codes.append(-1)
            continue
        c = keys.get(v)
        if c is None:
            c = keys[v] = len(labels)
            labels.append(shown)
        codes.append(c)
    return Field(np.asarray(codes, dtype=np.int32), keys, labels)


class FacetCodes:
    """``levels[d]``: the category path prefix of ``d + 1`` levels (a tuple of lower-cased names),
    ``brand``, and :meth:`attribute` per key."""

    def __init__(self, catalog: Catalog) -> None:
        products = catalog.products
        depth = max((len(p.category) for p in products), default=0)
        self.levels = [
            _field(
                (tuple(c.lower() for c in p.category[: d + 1]) if len(p.category) > d else None for p in products),
                (p.category[d] if len(p.category) > d else "" for p in products),
            )
            for d in range(depth)
        ]
        self.brand = _field((p.brand.lower() if p.brand else None for p in products), (p.brand for p in products))
        self._products = products  # not the catalog: this is the value of a dict weakly keyed by it
        self._keys = catalog.attribute_keys
        self._attrs: dict[str, Field] = {}
        self._none: Field | None = None  # every row without a value: keys no product has
        self._lock = threading.Lock()

    def attribute(self, key: str) -> Field:
        got = self._attrs.get(key)
        if got is not None:
            return got
        if key not in self._keys:
            if self._none is None:
                self._none = Field(np.full(len(self._products), -1, dtype=np.int32), {}, [])
            return self._none
        values = [p.attributes.get(key, "") for p in self._products]
        made = _field((v.lower() if v else None for v in values), values)
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
