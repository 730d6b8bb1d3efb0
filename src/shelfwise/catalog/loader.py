"""Load a catalog from CSV / JSONL / Parquet with per-row validation.

A bad row is reported (file, line, field, reason) and skipped; every good row is kept; an optional
field that cannot be read (price, stock, image) keeps the product without it, with a warning. Row
numbers are physical line numbers in CSV / TSV / JSON Lines files (header = line 1) and 1-based
row indexes in Parquet files (see :mod:`shelfwise.tabular`).
Column names are mapped onto the :class:`Product` schema by :class:`ProductFields`, so a
store's own export (e.g. the H&M ``articles`` table) loads without conversion.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shelfwise.catalog.price_text import MARK_NAMES, DecimalMarks, PriceError, _price, read_price
from shelfwise.catalog.schema import Catalog, Product, is_image_url
from shelfwise.errors import DataError, RowError, counted, position
from shelfwise.memory import release_memory
from shelfwise.tabular import has_header, mapping_from_json, read_rows, require_columns

# stock cells, lower-cased with spaces, '_' and '-' removed: booleans, Google Merchant / schema.org
# availability (preorder and backorder can be bought), and a Chinese export's 有 / 无货
_TRUE = frozenset({"1", "true", "yes", "y", "t", "instock", "available", "preorder", "backorder", "onlineonly"}) | {
    *("limitedavailability", "有", "有货", "现货", "在售", "在库", "是")
}
_FALSE = frozenset({"0", "false", "no", "n", "f", "outofstock", "soldout", "unavailable", "discontinued"}) | {
    *("无", "无货", "没货", "缺货", "售罄", "停售", "下架", "否")
}
_SCHEMA_ORG = re.compile(r"^(?:https?://)?schema\.org/", re.IGNORECASE)
_COUNT = re.compile(r"[+-]?\d+(?:\.0*)?")
DEFAULT_IMAGE = "image"


@dataclass(frozen=True)
class ProductFields:
    """Which source columns fill which product fields.

    ``category`` names one column holding a path ("A > B > C", "A/B/C" or a list) or several
    columns read root-first. ``attributes`` lists columns copied as string attributes.
    ``image`` names an optional column of picture URLs (``http(s)://...`` or ``/path``); a file
    without the default-named ``image`` column is not reported.
    """

    id: str = "id"
    title: str = "title"
    description: tuple[str, ...] = ("description",)
    category: tuple[str, ...] = ("category",)
    brand: str | None = "brand"
    price: str | None = "price"
    in_stock: str | None = "in_stock"
    attributes: tuple[str, ...] = ()
    image: str | None = DEFAULT_IMAGE
    category_separators: tuple[str, ...] = (">", "/", "|")

    def __post_init__(self) -> None:
        if not self.id or not self.title:
            raise ValueError("ProductFields: 'id' and 'title' column names are required")
        for name in ("description", "category", "attributes", "category_separators"):
            value: Any = getattr(self, name)
            if value is None or isinstance(value, str):  # None: no column; one name given where a list is allowed
                object.__setattr__(self, name, () if value is None else (value,))
            elif not isinstance(value, tuple):  # a list from Python code: stored as a tuple (hashable, immutable)
                object.__setattr__(self, name, tuple(value))

    @classmethod
    def from_json(cls, path: str | Path) -> ProductFields:
        """Read a mapping from JSON. ``null`` and ``[]`` both mean "no column" for list fields, and
        ``null`` means "none" for ``brand`` / ``price`` / ``in_stock``. Errors name the file (and line)."""
        return mapping_from_json(cls, path)


@dataclass
class CatalogLoad:
    """What a load produced: the catalog of good rows, the errors of the bad ones (skipped), and
    ``warnings``: rows kept with one optional field left out (an image that is not a URL or /path, a
    stock cell that is not a stock value: read as in stock, as an empty cell is; a price that cannot be
    read: none, as an empty cell), and file-wide notes (row 0) on how the price cells' decimal mark was
    read (:class:`~shelfwise.catalog.price_text.DecimalMarks`)."""

    catalog: Catalog
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def skipped(self) -> list[RowError]:
        """The errors of rows left out (each names its line); ``errors`` also holds :attr:`columns`."""
        return [e for e in self.errors if e.row > 0]

    @property
    def columns(self) -> list[RowError]:
        """Mapped columns the file lacks (row 0): every row is kept, that field left empty."""
        return [e for e in self.errors if e.row <= 0]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _stock(value: Any) -> bool | None:
    """A stock cell as in stock or not: a boolean, a count (above 0: in stock; 0 or an oversold
    negative: not), a yes / no or availability word (:data:`_TRUE`, :data:`_FALSE`, schema.org's
    ``https://schema.org/InStock`` too); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0 if math.isfinite(value) and float(value).is_integer() else None
    text = str(value).strip()
    if _COUNT.fullmatch(text):
        return float(text) > 0
    word = re.sub(r"[\s_-]+", "", _SCHEMA_ORG.sub("", text)).lower()
    return True if word in _TRUE else False if word in _FALSE else None


def _row_price(
    rec: Mapping[str, Any],
    column: str,
    err: Callable[[str, str], RowError],
    warnings: list[RowError],
    marks: DecimalMarks | None = None,
    row: int = 0,
) -> float | None:
    """The row's price in ``column``: None when the cell is empty, or when it cannot be read (text that
    is no amount, an ambiguous "1,500", a negative, infinite or boolean value), reported in
    ``warnings``: the product is good without a price, as without a stock value. ``marks``: the file's
    decimal marks so far; an ambiguous "1,500" waits there for the file's convention (None for now)."""
    v = rec.get(column)
    if v is None or (isinstance(v, str) and not v.strip()):  # an empty cell, blanks too (as the stock column)
        return None
    try:
        if isinstance(v, bool):  # JSON true: float() would read 1.0
            raise PriceError(f"not a number: {v!r}")
        price, amount = read_price(v) if isinstance(v, str) else (_price(v), None)
    except PriceError as e:
        if marks is not None and isinstance(v, str) and marks.defer(v, row):
            return None  # read (or warned about) once the file's decimal mark is known
        why = str(e)
    except (TypeError, ValueError):
        why = f"not a number: {v!r}"
    else:
        if math.isnan(price):  # pandas' missing value: an empty cell
            return None
        if not math.isinf(price) and price >= 0:
            if marks is not None and amount is not None:
                marks.note(v, amount, row)
            return price
        why = f"not a finite number: {v!r}" if math.isinf(price) else f"negative price {v!r}"
    warnings.append(err(column, f"{why} (kept without a price)"))
    return None


@functools.lru_cache(maxsize=16)
def _scalar_columns(spec: ProductFields) -> tuple[str, ...]:
    """The mapped columns that hold one value; one category column may hold a list (the path),
    several category columns hold one level each."""
    cols = [spec.id, spec.title, *spec.description, spec.brand, spec.price, spec.in_stock, *spec.attributes]
    if len(spec.category) > 1:
        cols.extend(spec.category)
    return tuple(c for c in cols if c)


def _parse_row(
    rec: Mapping[str, Any],
    spec: ProductFields,
    file: str,
    row: int,
    warnings: list[RowError],
    shared: dict[str, str] | None = None,
    marks: DecimalMarks | None = None,
) -> Product | RowError:
    """``warnings`` receives a row kept with an optional field left out (a bad image: the product
    is good without it). ``shared``: one string object per distinct value of the repetitive fields
    (category levels, brand, attribute values), kept for the whole load: a million products then
    hold a few thousand such strings, not several million equal copies. ``marks``: the file's price
    decimal marks (:class:`~shelfwise.catalog.price_text.DecimalMarks`)."""

    def one(s: str) -> str:
        return s if shared is None else shared.setdefault(s, s)

    def err(fld: str, msg: str) -> RowError:
        return RowError(file, row, fld, msg)

    nested = next((c for c in _scalar_columns(spec) if isinstance(rec.get(c), Mapping | list | tuple)), None)
    if nested is not None:  # JSON Lines / Parquet: an object or list where one value belongs
        return err(nested, f"must be text or a number, got {type(rec[nested]).__name__}")
    pid = _text(rec.get(spec.id))
    if not pid:
        return err(spec.id, "missing product id")
    title = _text(rec.get(spec.title))
    if not title:
        return err(spec.title, "missing title")
    description = " ".join(t for t in (_text(rec.get(c)) for c in spec.description) if t)
    category: tuple[str, ...] = ()
    if len(spec.category) == 1:
        raw = rec.get(spec.category[0])
        if isinstance(raw, list | tuple):
            category = tuple(one(_text(x)) for x in raw if _text(x))
        else:
            s = _text(raw)
            for sep in spec.category_separators:
                if sep in s:
                    category = tuple(one(x.strip()) for x in s.split(sep) if x.strip())
                    break
            else:
                category = (one(s),) if s else ()
    else:
        category = tuple(one(t) for t in (_text(rec.get(c)) for c in spec.category) if t)
    price = _row_price(rec, spec.price, err, warnings, marks, row) if spec.price else None
    in_stock = True
    if spec.in_stock and _text(rec.get(spec.in_stock)):  # None, "", blanks, NaN (a missing float): empty
        v = rec[spec.in_stock]
        read = _stock(v)
        if read is None:  # the product is good without it: kept as an empty cell reads
            warnings.append(err(spec.in_stock, f"not a stock value: {v!r} (kept as in stock, as an empty cell)"))
        else:
            in_stock = read
    attributes = {c: one(_text(rec.get(c))) for c in spec.attributes if _text(rec.get(c))}
    image = _text(rec.get(spec.image)) if spec.image else ""
    if image and not is_image_url(image):
        why = f"not an http(s):// URL or /path: {image[:80]!r} (kept without it)"
        warnings.append(err(spec.image or "image", why))
        image = ""
    return Product(
        id=pid,
        title=title,
        description=description,
        category=category,
        brand=one(_text(rec.get(spec.brand))) if spec.brand else "",
        price=price,
        attributes=attributes,
        in_stock=in_stock,
        image=image,
    )


def _missing_columns(spec: ProductFields, header: Mapping[str, Any], file: str, explicit: bool) -> list[RowError]:
    """Mapped columns absent from a fixed-header file: required ones raise (with the default
    mapping too: every row would fail), optional ones are reported when the mapping was given."""
    hint = "" if explicit else ": map them with a fields file (--fields, e.g. data/hm/catalog_fields.json)"
    require_columns(file, header, (spec.id, spec.title), "required column not in file", hint)
    if not explicit:
        return []
    optional = [*spec.description, *spec.category, spec.brand, spec.price, spec.in_stock, *spec.attributes]
    if spec.image != DEFAULT_IMAGE:  # the default image column is optional: most exports have none
        optional.append(spec.image)
    default = ProductFields()  # a key the mapping left out names the default column: say so
    unnamed = {
        getattr(default, key) if isinstance(getattr(default, key), str) else getattr(default, key)[0]: key
        for key in ("description", "category", "brand", "price", "in_stock")
        if getattr(spec, key) == getattr(default, key)
    }
    return [
        RowError(
            file,
            0,
            c,
            f"no such column, the default for '{unnamed[c]}' (your mapping names none): that field is left empty; "
            f'set "{unnamed[c]}": null to say the file has none'
            if c in unnamed
            else "mapped column not in file; that field is left empty",
        )
        for c in dict.fromkeys(optional)
        if c and c not in header
    ]


def _settle_prices(
    marks: DecimalMarks, products: list[Product], seen: dict[str, int], warnings: list[RowError], column: str
) -> None:
    """Read the file's ambiguous price cells by its decimal mark (:class:`DecimalMarks`): in place in
    ``products``, with one file-wide note in ``warnings`` saying how; with no single mark, as each
    cell alone reads ("1,500" warned, kept without a price; "1.299" 1.299)."""
    decimal = marks.convention()
    said = [w for w in (marks.mixed(column), marks.too_few(column)) if w is not None]
    rows = {c.row for c in marks.waiting}
    index = {r: i for i, p in enumerate(products) if (r := seen.get(p.id, -1)) in rows}
    changed: list[tuple[int, str, float]] = []
    for cell in marks.waiting:
        i = index.get(cell.row)
        if i is None:  # a duplicate id's row: left out
            continue
        if decimal is None:  # read alone, as before: "1.299" is 1.299, "1,500" refused
            if products[i].price is None:
                try:
                    _price(cell.value)
                except PriceError as e:
                    said.append(RowError(marks.file, cell.row, column, f"{e} (kept without a price)"))
            continue
        price = cell.read(decimal)
        if price != products[i].price:
            products[i] = replace(products[i], price=price)
            changed.append((cell.row, cell.value, price))
    if changed and decimal is not None:
        r, v, price = changed[0]
        row0, shown = marks.first[decimal]
        mark = MARK_NAMES[decimal].removeprefix("a ")
        why = (
            f"read {counted(len(changed), 'ambiguous price')} with the file's {mark} ({marks.count[decimal]} of "
            f"{marks.clear()} clear cells, as {position(marks.file, row0)}: {shown!r}), e.g. "
            f"{position(marks.file, r)}: {v!r} as {price:,.2f}"
        )
        said.append(RowError(marks.file, 0, column, why))
    warnings.extend(said)
    warnings.sort(key=lambda w: w.row)


def load_catalog(path: str | Path, fields: ProductFields | None = None, *, strict: bool = False) -> CatalogLoad:
    """Read products from ``path``. Bad rows go to ``errors``; duplicates keep the first row.

    With ``strict=True`` any bad row raises :class:`DataError`. A file with no good row
    always raises.
    """
    spec = fields or ProductFields()
    file = str(path)
    products: list[Product] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    seen: dict[str, int] = {}
    shared: dict[str, str] = {}
    marks = DecimalMarks(file)
    checked = not has_header(path)  # JSON Lines rows may omit keys
    read = False
    for row, rec in read_rows(path):
        read = True
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        if not checked:  # a mapping naming a column the file lacks would fail every row or silently blank a field
            checked = True
            errors.extend(_missing_columns(spec, rec, file, explicit=fields is not None))
        parsed = _parse_row(rec, spec, file, row, warnings, shared, marks)
        if isinstance(parsed, RowError):
            errors.append(parsed)
        elif parsed.id in seen:
            first = position(file, seen[parsed.id])
            errors.append(RowError(file, row, spec.id, f"duplicate id {parsed.id!r} (first at {first})"))
        else:
            seen[parsed.id] = row
            products.append(parsed)
    if strict and errors:
        raise DataError(errors, f"{file}: {len(errors)} bad rows")
    if not products:
        why = "no valid products" if read else "no products: the file is empty or holds only its header"
        raise DataError(errors, f"{file}: {why}")
    if marks.waiting or marks.mixed():
        _settle_prices(marks, products, seen, warnings, spec.price or "price")
    del seen, shared
    catalog = Catalog(products)
    release_memory(collect=False)  # the rows read and parsed: back to the OS
    return CatalogLoad(catalog, errors, warnings)
