"""Product schema and the in-memory columnar catalog."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


IMAGE_SCHEMES = ("http://", "https://")


def is_image_url(value: str) -> bool:
    """An image reference a web page may load: ``http(s)://...`` or a site path ``/...`` (not ``//host``),
    with no whitespace or quotes (never ``javascript:`` or ``data:``)."""
    v = value.strip()
    if not v or v != value or any(c.isspace() or c in "\"'<>\\" for c in v):
        return False
    return v.lower().startswith(IMAGE_SCHEMES) or (v.startswith("/") and not v.startswith("//"))


@dataclass(frozen=True, slots=True)
class Product:
    """One catalog item. ``category`` is a path from the root, e.g. ("Ladieswear", "Tops").
    ``image``: an optional picture, an ``http(s)://`` URL or a site path starting with ``/``.
    Slots, not a ``__dict__`` per product: a million products take ~100 MB less."""

    id: str
    title: str
    description: str = ""
    category: tuple[str, ...] = ()
    brand: str = ""
    price: float | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    in_stock: bool = True
    image: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("product id must be non-empty")
        if not self.title.strip():
            raise ValueError(f"product {self.id!r}: title must be non-empty")
        if self.price is not None and (math.isnan(self.price) or self.price < 0):
            raise ValueError(f"product {self.id!r}: price must be a non-negative number")
        if self.image and not is_image_url(self.image):
            raise ValueError(f"product {self.id!r}: image must be an http(s):// URL or a path starting with '/'")

    @property
    def variant_key(self) -> str:
        """What colour / size variants of one product share: the trimmed, lower-cased title. Lists
        that show a product once (search's ``distinct``, recommendations' ``collapse_variants``) key
        on it."""
        return self.title.strip().lower()

    def text(self) -> str:
        """The text that encoders and BM25 see: title, brand, category path, attributes, description."""
        parts = [self.title]
        if self.brand:
            parts.append(self.brand)
        if self.category:
            parts.append(" > ".join(self.category))
        if self.attributes:
            parts.append(", ".join(dict.fromkeys(self.attributes.values())))
        if self.description:
            parts.append(self.description)
        return ". ".join(parts)


# the in-stock filter the shopper did not send (the recommendation routes' default) matching nothing
NONE_IN_STOCK_BY_DEFAULT = (
    "no product is in stock (recommendations list in-stock products only by default; "
    "in_stock=false lists sold-out ones too)"
)


@dataclass(frozen=True)
class Filters:
    """Business filters applied before ranking. Empty fields mean "no constraint"."""

    category: tuple[str, ...] = ()  # path prefix, e.g. ("Menswear",) or ("Menswear", "Trousers")
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    in_stock: bool = False  # True: only in-stock items
    # exact matches, e.g. (("colour", "Black"),); values of one key are alternatives (as brands), keys all apply
    attributes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError(f"price_min {self.price_min} > price_max {self.price_max}")

    def attribute_values(self) -> dict[str, list[str]]:
        """``attributes`` by key: each key's wanted values in the order given."""
        out: dict[str, list[str]] = {}
        for key, value in self.attributes:
            out.setdefault(key, []).append(value)
        return out

    def is_empty(self) -> bool:
        return not (
            self.category
            or self.brands
            or self.price_min is not None
            or self.price_max is not None
            or self.in_stock
            or self.attributes
        )


class Catalog:
    """Products addressed by row index (0..n-1), with vectorised filtering.

    Stages pass row indices (``Results.ids``); :meth:`row` and :attr:`ids` map to and from
    the store's own product ids.
    """

    def __init__(self, products: Sequence[Product]) -> None:
        self.products: list[Product] = list(products)
        self.ids: list[str] = [p.id for p in self.products]
        self._row: dict[str, int] = {}
        for i, pid in enumerate(self.ids):
            if pid in self._row:
                raise ValueError(f"duplicate product id {pid!r} at rows {self._row[pid]} and {i}")
            self._row[pid] = i
        n = len(self.products)
        self.price = np.array([np.nan if p.price is None else p.price for p in self.products], dtype=np.float64)
        self.in_stock = np.array([p.in_stock for p in self.products], dtype=bool)
        self.all_in_stock = bool(self.in_stock.all())  # nothing to move after the in-stock hits (answer_search)
        lower = {b: b.lower() for b in {p.brand for p in self.products}}  # one string per brand, not per product
        self._brand = np.array([lower[p.brand] for p in self.products], dtype=object)
        self._cat_cache: dict[tuple[str, ...], BoolArray] = {}
        # per path depth: each product's lower-cased path prefix as an int code, and prefix -> code
        self._cat_codes: dict[int, tuple[npt.NDArray[np.int32], dict[tuple[str, ...], int]]] = {}
        self._attr_keys = frozenset(k for p in self.products for k in p.attributes)
        self._attr_cols: dict[str, npt.NDArray[np.object_]] = {}
        # for unmatched_filters (an empty result's notices), built when first asked
        self._brand_set: frozenset[str] | None = None
        self._attr_values: dict[str, frozenset[str]] = {}
        self._cat_names: dict[int, dict[tuple[str, ...], str]] = {}
        self._variants: dict[int, tuple[int, ...]] | None = None  # title code -> its rows, where 2 or more
        self._all = np.ones(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.products)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._row

    def row(self, product_id: str) -> int:
        try:
            return self._row[product_id]
        except KeyError:
            raise KeyError(f"unknown product id {product_id!r}") from None

    def get_row(self, product_id: str) -> int | None:
        return self._row.get(product_id)

    @cached_property
    def variant_codes(self) -> npt.NDArray[np.int32]:
        """Each row's product title (:attr:`Product.variant_key`) as an integer, numbered in the order
        titles first occur: rows of one product (its colour / size variants) share it. What search's
        ``distinct``, the related-items search and :meth:`variant_rows` group by."""
        keys: dict[str, int] = {}
        return np.fromiter(
            (keys.setdefault(p.variant_key, len(keys)) for p in self.products), dtype=np.int32, count=len(self.products)
        )

    @cached_property
    def variant_groups(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Rows grouped by title (:attr:`variant_codes`): ``(order, starts)``, every row sorted by its
        title code (rows ascending within a title) and where each title's run begins in ``order``."""
        codes = self.variant_codes
        order = np.argsort(codes, kind="stable").astype(np.int64)
        starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]]).astype(np.int64)
        return order, starts

    @cached_property
    def shared_title_groups(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """:attr:`variant_groups` of the titles two or more rows share, alone: ``(order, starts)``
        (empty when every title is its own product's)."""
        order, starts = self.variant_groups
        sizes = np.diff(np.append(starts, len(order)))
        shared = np.repeat(sizes > 1, sizes)
        return order[shared], np.r_[0, np.cumsum(sizes[sizes > 1])[:-1]].astype(np.int64)

    def one_per_title(self, rows: BoolArray) -> BoolArray:
        """``rows`` (a mask) keeping the first row (lowest index) of each title it holds. Only rows
        of shared titles are read (a catalog with none: a copy; the /recommend/user exploration tail
        asks this of ~50k rows on every list)."""
        out = rows.copy()
        order, starts = self.shared_title_groups
        if not len(order):
            return out
        at = np.where(rows[order], np.arange(len(order)), len(order))
        first = np.minimum.reduceat(at, starts)
        out[order] = False
        out[order[first[first < len(order)]]] = True
        return out

    def variant_rows(self, row: int) -> tuple[int, ...]:
        """The other rows whose product shares row ``row``'s :attr:`Product.variant_key` (its colour /
        size variants, which a list showing one item per title leaves out), in catalog order."""
        codes = self.variant_codes
        if self._variants is None:
            order, starts = self.variant_groups
            groups = np.split(order, starts[1:])
            self._variants = {int(codes[g[0]]): tuple(g.tolist()) for g in groups if len(g) > 1}
        return tuple(r for r in self._variants.get(int(codes[row]), ()) if r != row)

    def texts(self) -> list[str]:
        return [p.text() for p in self.products]

    def top_category(self, row: int, depth: int | None = 1) -> tuple[str, ...]:
        """The first ``depth`` levels of ``row``'s category path (None: the whole path)."""
        return self.products[row].category[:depth]

    def category_mask(self, prefix: Iterable[str]) -> BoolArray:
        key = tuple(s.lower() for s in prefix)
        if not key:
            return self._all
        hit = self._cat_cache.get(key)
        if hit is None:
            if len(self._cat_cache) >= 4096:  # keys come from requests: bound the memo
                self._cat_cache.clear()
            codes, index = self.category_codes(len(key))
            code = index.get(key)
            hit = codes == code if code is not None else np.zeros(len(self.products), dtype=bool)
            self._cat_cache[key] = hit
        return hit

    @cached_property
    def category_depth(self) -> int:
        """The most levels any product's category path has (0: no categories)."""
        return max((len(p.category) for p in self.products), default=0)

    def category_codes(self, depth: int) -> tuple[npt.NDArray[np.int32], dict[tuple[str, ...], int]]:
        """Each product's lower-cased category prefix of ``depth`` levels as an int code (one pass
        over the products per depth, once): a new prefix's mask is then one vectorised comparison,
        not a loop over every product. A path shorter than ``depth`` matches no full-depth key."""
        got = self._cat_codes.get(depth)
        if got is None:
            index: dict[tuple[str, ...], int] = {}
            codes = np.fromiter(
                (index.setdefault(tuple(s.lower() for s in p.category[:depth]), len(index)) for p in self.products),
                dtype=np.int32,
                count=len(self.products),
            )
            got = self._cat_codes[depth] = (codes, index)
        return got

    def mask(self, filters: Filters | None) -> BoolArray | None:
        """Boolean row mask for ``filters``; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        m = self.category_mask(filters.category).copy()
        if filters.brands:
            m &= np.isin(self._brand, [b.lower() for b in filters.brands])
        if filters.price_min is not None:
            m &= self.price >= filters.price_min
        if filters.price_max is not None:
            m &= self.price <= filters.price_max
        if filters.in_stock:
            m &= self.in_stock
        for key, values in filters.attribute_values().items():
            col = self.attribute_column(key)
            m &= np.logical_or.reduce([col == v.lower() for v in values])
        return m

    def unmatched_filters(self, filters: Filters, *, in_stock_by_default: bool = False) -> list[str]:
        """Why ``filters`` can match nothing: each part that no product in the catalog has (a category
        path, brand, attribute key or value; a price range no priced product falls in, or any when no
        product has a price; in stock when none is), said in words with what the catalog does have;
        empty when every part matches some product. Meant for an empty result, so a typo
        ("Menswear/Jeans" for "Menswear > Jeans", attribute "colour" for "colour_group_name") is not a
        silent 0 hits. ``in_stock_by_default``: the in-stock filter is the caller's default (the
        recommendation routes'), not something the shopper sent, and is said so."""
        out: list[str] = []
        path = tuple(s.lower() for s in filters.category)
        if path and self.category_codes(len(path))[1].get(path) is None:
            hint = ""
            if len(filters.category) == 1 and "/" in filters.category[0]:
                example = next((" > ".join(p.category[:2]) for p in self.products if len(p.category) >= 2), "A > B")
                hint = f' (levels are separated by " > ", e.g. "{example}")'  # the catalog's own path
            else:
                names = self.category_names(len(path))
                parent = sorted(names[p] for p in names if p[:-1] == path[:-1])
                if parent:
                    shown = parent[:8]
                    more = f", ... ({len(parent)} in all)" if len(parent) > 8 else ""
                    hint = f"; {'top-level categories' if len(path) == 1 else 'there'}: {', '.join(shown)}{more}"
            out.append(f"no product is in category {' > '.join(filters.category)!r}{hint}")
        if filters.brands:
            if self._brand_set is None:
                self._brand_set = frozenset(self._brand.tolist())
            missing = [b for b in filters.brands if b.lower() not in self._brand_set]
            if len(missing) == len(filters.brands):
                out.append(f"no product has brand {' or '.join(repr(b) for b in missing)}")
        for key, wanted in filters.attribute_values().items():
            if key not in self._attr_keys:
                keys = sorted(self._attr_keys)
                listed = ", ".join(keys[:10]) + (", ..." if len(keys) > 10 else "") if keys else "none"
                out.append(f"no product has attribute {key!r} (attributes here: {listed})")
                continue
            values = self._attr_values.get(key)
            if values is None:
                values = self._attr_values[key] = frozenset(self.attribute_column(key).tolist())
            if not any(v.lower() in values for v in wanted):
                out.append(f"no product has {key} {' or '.join(repr(v) for v in wanted)}")
        if filters.price_min is not None or filters.price_max is not None:
            priced = self.price[np.isfinite(self.price)]
            if not len(priced):
                out.append("no product has a price, so a price filter matches none (map a price column with --fields)")
            lo = -np.inf if filters.price_min is None else filters.price_min
            hi = np.inf if filters.price_max is None else filters.price_max
            if len(priced) and not ((priced >= lo) & (priced <= hi)).any():
                asked = price_range(filters.price_min, filters.price_max)
                out.append(f"no product costs {asked} (prices here: {price_range(priced.min(), priced.max())})")
        if filters.in_stock and not self.in_stock.any():
            out.append(
                NONE_IN_STOCK_BY_DEFAULT
                if in_stock_by_default
                else "no product is in stock, so in_stock=true matches none"
            )
        return out

    def category_names(self, depth: int) -> dict[tuple[str, ...], str]:
        """Lower-cased category prefix of ``depth`` levels -> its last level as the catalog writes it
        (first product seen); one pass per depth, once."""
        got = self._cat_names.get(depth)
        if got is None:
            got = {}
            for p in self.products:
                if len(p.category) >= depth:
                    got.setdefault(tuple(s.lower() for s in p.category[:depth]), p.category[depth - 1])
            self._cat_names[depth] = got
        return got

    def brand_column(self) -> npt.NDArray[np.object_]:
        """Lower-cased brand per row ("" where none)."""
        return self._brand

    @property
    def attribute_keys(self) -> frozenset[str]:
        """The attribute keys some product has."""
        return self._attr_keys

    def attribute_column(self, key: str) -> npt.NDArray[np.object_]:
        """Lower-cased values of attribute ``key`` per row ("" where absent); built once per key the
        catalog actually has, so request-supplied keys cannot grow memory."""
        col = self._attr_cols.get(key)
        if col is None:
            col = np.array([p.attributes.get(key, "").lower() for p in self.products], dtype=object)
            if key in self._attr_keys:
                self._attr_cols[key] = col
        return col

    # --- persistence (Parquet, no pickle) -------------------------------------------------
    def save(self, path: str | Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "id": self.ids,
                "title": [p.title for p in self.products],
                "description": [p.description for p in self.products],
                "category": [list(p.category) for p in self.products],
                "brand": [p.brand for p in self.products],
                "price": [p.price for p in self.products],
                "attributes": [json.dumps(p.attributes, ensure_ascii=False) for p in self.products],
                "in_stock": [p.in_stock for p in self.products],
                "image": [p.image for p in self.products],
            }
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        import pyarrow.parquet as pq

        cols = pq.read_table(path).to_pydict()  # column lists: much faster than a dict per row
        n = len(cols["id"])
        images = cols.get("image") or [""] * n  # absent in files saved before the image field
        return cls(
            [
                Product(
                    id=pid,
                    title=title,
                    description=desc or "",
                    category=tuple(cat or ()),
                    brand=brand or "",
                    price=price,
                    attributes=json.loads(attrs) if attrs and attrs != "{}" else {},
                    in_stock=bool(stock),
                    image=image or "",
                )
                for pid, title, desc, cat, brand, price, attrs, stock, image in zip(
                    cols["id"],
                    cols["title"],
                    cols["description"],
                    cols["category"],
                    cols["brand"],
                    cols["price"],
                    cols["attributes"],
                    cols["in_stock"],
                    images,
                    strict=True,
                )
            ]
        )


def price_range(lo: float | None, hi: float | None) -> str:
    """A price range as every notice words it: "5,000 or more", "20 or less", "10 to 20", "12.50 to 99"."""

    def num(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"

    if lo is not None and hi is not None:
        return f"{num(lo)} to {num(hi)}"
    return f"{num(lo)} or more" if lo is not None else f"{num(hi)} or less" if hi is not None else "any price"
