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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shelfwise.catalog.schema import Catalog, Product, is_image_url
from shelfwise.errors import DataError, RowError, position
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
    read: none, as an empty cell)."""

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


# currency an export may write beside the amount: a sign ("$3.50", "12 €", "¥199", "45元", "US$12.99", "R$ 12,99")
# or an ISO 4217 code ("12.99 USD", "CNY 59"), before or after it; a code list, not any word: "12 pcs" is no price
_SIGN = r"(?:US|HK|NT|AU|A|CA|C|SG|S|NZ|R|MX|CN|JP)?[$€£¥￥＄₹₩₽₺₫₪฿]|元|円|RMB|zł|kr|Rs\.?"
_CODE = (
    r"USD|EUR|GBP|JPY|CNY|HKD|TWD|SGD|AUD|CAD|NZD|CHF|SEK|NOK|DKK|PLN|CZK|HUF|INR|KRW|RUB|BRL|MXN|ZAR|TRY|THB|VND"
    r"|IDR|MYR|PHP|AED|SAR|ILS"
)
_AMOUNT = re.compile(
    rf"^(?P<sign>[-+]\s*)?(?P<pre>(?:(?:{_CODE}|{_SIGN})\s*){{0,2}})(?P<n>[-+]?[\d.][\d.,' \u00a0\u202f]*?)\s*"
    rf"(?P<post>(?:(?:{_SIGN}|{_CODE})\s*){{0,2}})$",
    re.IGNORECASE,
)
# currencies with no minor unit (ISO 4217 exponent 0): yen, won, dong. "129.000 ₫" and "₩12,000" hold no
# decimals, so a separator before three digits groups thousands. "¥" alone is yuan (two decimals) or yen
_NO_MINOR_UNIT = re.compile(r"JPY|KRW|VND|JP¥|[₩₫円]", re.IGNORECASE)
_GROUPED = re.compile(r"\d{1,3}(?:[,.' \u00a0\u202f]\d{3})+")  # 1,299 / 1.299 / 1 299: digit groups of three
# Indian grouping (lakh, crore): twos before the last three, "1,29,999" / "12,34,567"; no other reading
_LAKH = re.compile(r"\d{1,2}(?:,\d{2})+,\d{3}")


class PriceError(ValueError):
    """A price text that cannot be read as one amount (the message says why)."""


def _price(value: Any) -> float:
    """A price cell as a number: a number, or text that is one once a currency sign or code
    (:data:`_AMOUNT`) and thousands separators are removed. Separators are read only where they are
    unambiguous: with both ``,`` and ``.`` the last one is the decimal mark ("$1,299.00", "1.299,00 €");
    a lone comma before one or two digits is a decimal comma ("10,5", "12,99"); a comma before exactly
    three digits ("1,500": 1.5 or 1500?) is refused (:class:`PriceError`), as is anything else that
    is not a number; in yen, won or dong (:data:`_NO_MINOR_UNIT`) a separator before three digits
    groups thousands ("129.000 ₫", "₩12,000"); Indian grouping (:data:`_LAKH`) reads as one amount
    ("₹1,29,999.00", "Rs. 1,29,999"). ``"nan"`` reads as NaN (pandas' missing value)."""
    if not isinstance(value, str):
        return float(value)
    if value.strip().lower() == "nan":
        return math.nan
    m = _AMOUNT.fullmatch(value.strip())
    if m is None:
        raise PriceError(f"not a price: {value!r}")
    text, sign = m.group("n"), (m.group("sign") or "").strip()  # a sign before the currency: -$12.99
    if sign and text[0] in "-+":
        raise PriceError(f"not a price: {value!r}")
    text = "-" + text if sign == "-" else text
    if _NO_MINOR_UNIT.search(m.group("pre") + m.group("post")) and _GROUPED.fullmatch(text.lstrip("-+")):
        return float(re.sub(r"\D", "", text)) * (-1.0 if text.startswith("-") else 1.0)  # 129.000 ₫, ₩12,000
    dot, comma = text.rfind("."), text.rfind(",")
    if dot >= 0 and comma >= 0:  # the last mark is the decimal one, the other groups thousands
        whole, frac = (text[:dot], text[dot + 1 :]) if dot > comma else (text[:comma], text[comma + 1 :])
        lakh = dot > comma and _LAKH.fullmatch(whole.lstrip("-"))  # ₹1,29,999.00
        if not (_GROUPED.fullmatch(whole.lstrip("-")) or lakh) or not frac.isdigit():
            raise PriceError(f"not a price: {value!r}")
        return float(re.sub(r"\D", "", whole) + "." + frac) * (-1.0 if whole.startswith("-") else 1.0)
    if comma >= 0:
        whole, frac = text[:comma], text[comma + 1 :]
        grouped = whole.lstrip("-").isdigit() or (_GROUPED.fullmatch(whole.lstrip("-")) and "," not in whole)
        if len(frac) in (1, 2) and frac.isdigit() and grouped:  # a decimal comma: 10,5 / 1 299,50
            return float(re.sub(r"\D", "", whole) + "." + frac) * (-1.0 if whole.startswith("-") else 1.0)
        if text.count(",") > 1 and (_GROUPED.fullmatch(text.lstrip("-")) or _LAKH.fullmatch(text.lstrip("-"))):
            return float(text.replace(",", ""))  # 1,299,000 / 1,29,999
        if len(frac) == 3 and grouped:
            a, b = re.sub(r"\D", "", whole), frac
            raise PriceError(f"ambiguous: {value!r} reads {a}.{b} with a decimal comma, {a}{b} with a thousands one")
        raise PriceError(f"not a price: {value!r}")
    if _GROUPED.fullmatch(text.lstrip("-")) and (text.count(".") > 1 or re.search(r"[' \u00a0\u202f]", text)):
        return float(re.sub(r"[.' \u00a0\u202f]", "", text))  # 1.299.000 / 1 299
    try:
        return float(text)
    except ValueError:
        raise PriceError(f"not a price: {value!r}") from None


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
    rec: Mapping[str, Any], column: str, err: Callable[[str, str], RowError], warnings: list[RowError]
) -> float | None:
    """The row's price in ``column``: None when the cell is empty, or when it cannot be read (text that
    is no amount, an ambiguous "1,500", a negative, infinite or boolean value), reported in
    ``warnings``: the product is good without a price, as without a stock value."""
    v = rec.get(column)
    if v is None or (isinstance(v, str) and not v.strip()):  # an empty cell, blanks too (as the stock column)
        return None
    try:
        if isinstance(v, bool):  # JSON true: float() would read 1.0
            raise PriceError(f"not a number: {v!r}")
        price = _price(v)
    except PriceError as e:
        why = str(e)
    except (TypeError, ValueError):
        why = f"not a number: {v!r}"
    else:
        if math.isnan(price):  # pandas' missing value: an empty cell
            return None
        if not math.isinf(price) and price >= 0:
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
) -> Product | RowError:
    """``warnings`` receives a row kept with an optional field left out (a bad image: the product
    is good without it). ``shared``: one string object per distinct value of the repetitive fields
    (category levels, brand, attribute values), kept for the whole load: a million products then
    hold a few thousand such strings, not several million equal copies."""

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
    price = _row_price(rec, spec.price, err, warnings) if spec.price else None
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
        parsed = _parse_row(rec, spec, file, row, warnings, shared)
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
    del seen, shared
    catalog = Catalog(products)
    release_memory(collect=False)  # the rows read and parsed: back to the OS
    return CatalogLoad(catalog, errors, warnings)
