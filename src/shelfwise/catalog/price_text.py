"""Price cells as numbers: currency signs and codes, thousands separators and decimal marks.

A cell is read alone where its separators are unambiguous (:func:`_price`); :class:`DecimalMarks`
reads the ambiguous ones ("1,500", "1.299") by the convention the file's other price cells show, where
enough of them (:data:`MIN_CLEAR`) agree (:data:`AGREE`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from shelfwise.errors import RowError, position

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
    groups thousands ("129.000 ₫", "₩12,000"); spaced or apostrophe thousands take either decimal
    mark ("1 299,50", "1 299.50", "1'299.00"); Indian grouping (:data:`_LAKH`) reads as one amount
    ("₹1,29,999.00", "Rs. 1,29,999"). ``"nan"`` reads as NaN (pandas' missing value)."""
    if not isinstance(value, str):
        return float(value)
    return read_price(value)[0]


def read_price(value: str) -> tuple[float, str | None]:
    """:func:`_price` of a text cell, and its unsigned amount text ("€ 1.299,00" -> "1.299,00") for
    :meth:`DecimalMarks.note`: None when the cell is signed or in a currency with no minor unit (no
    decimal mark to read)."""
    if value.strip().lower() == "nan":
        return math.nan, None
    m = _AMOUNT.fullmatch(value.strip())
    if m is None:
        raise PriceError(f"not a price: {value!r}")
    text, sign = m.group("n"), (m.group("sign") or "").strip()  # a sign before the currency: -$12.99
    if sign and text[0] in "-+":
        raise PriceError(f"not a price: {value!r}")
    no_minor = bool(_NO_MINOR_UNIT.search(m.group("pre") + m.group("post")))
    amount = None if sign or text[0] in "-+" or no_minor else text.strip()
    return _number(value, "-" + text if sign == "-" else text, no_minor), amount


def _number(value: str, text: str, no_minor: bool) -> float:
    """The amount ``text`` of the cell ``value`` (its currency taken off) as a number (:func:`_price`)."""
    if no_minor and _GROUPED.fullmatch(text.lstrip("-+")):
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
    whole, point, frac = text.rpartition(".")  # a decimal point after spaced thousands: 1 299.00, 1'299.00
    spaced = "." not in whole and re.search(r"[' \u00a0\u202f]", whole) and _GROUPED.fullmatch(whole.lstrip("-"))
    if point and frac.isdigit() and spaced:
        return float(re.sub(r"\D", "", whole) + "." + frac) * (-1.0 if whole.startswith("-") else 1.0)
    try:
        return float(text)
    except ValueError:
        raise PriceError(f"not a price: {value!r}") from None


_SPACES = "' \u00a0\u202f"
_COMMA_DECIMAL = re.compile(rf"\d+(?:[{_SPACES}]\d{{3}})*,\d{{1,2}}")  # 12,99 / 1 299,5
_POINT_DECIMAL = re.compile(rf"\d+(?:[{_SPACES}]\d{{3}})*\.\d{{1,2}}")  # 12.99 / 3.5 / 1 299.00
_ONE_GROUP = re.compile(r"(\d{1,3})([.,])(\d{3})")  # 1,500 / 1.299 / 999.000: a decimal or a thousands mark?
MARK_NAMES = {",": "a decimal comma", ".": "a decimal point"}
# a file's decimal mark settles its ambiguous cells only when at least MIN_CLEAR unambiguous cells show
# it and at least AGREE of those showing either mark agree: one stray "1,5" settles nothing
MIN_CLEAR = 3
AGREE = 0.9


def _amount(value: str) -> str | None:
    """The unsigned amount text of a price cell ("€ 1.299" -> "1.299"); None when it has none, is
    signed, or is in a currency with no minor unit (no decimal mark to read)."""
    m = _AMOUNT.fullmatch(value.strip())
    if m is None or m.group("sign") or m.group("n")[0] in "-+":
        return None
    return None if _NO_MINOR_UNIT.search(m.group("pre") + m.group("post")) else m.group("n").strip()


def decimal_mark(text: str) -> str | None:
    """The decimal mark a readable price's amount ``text`` shows beyond doubt, "," or "." (None when
    it shows none): a mark before one or two digits ("12,99", "12.5") or, with both, the last
    ("1.299,00", "1,299.00")."""
    dot, comma = text.rfind("."), text.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","
    return "," if _COMMA_DECIMAL.fullmatch(text) else "." if _POINT_DECIMAL.fullmatch(text) else None


@dataclass(frozen=True)
class Ambiguous:
    """A price cell with one mark before three digits: its readings with that mark as the decimal
    one and as a thousands one."""

    row: int
    value: str
    mark: str
    as_decimal: float
    as_thousands: float

    def read(self, decimal: str) -> float:
        """The amount under the file's decimal mark ``decimal``."""
        return self.as_decimal if self.mark == decimal else self.as_thousands


def ambiguous(value: str, row: int, text: str | None = None) -> Ambiguous | None:
    """``value`` as an :class:`Ambiguous` cell ("1,500", "1.299", "999.000 €"), None when it is not one;
    ``text``: its amount when known (:func:`read_price`)."""
    text = _amount(value) if text is None else text
    m = _ONE_GROUP.fullmatch(text) if text is not None else None
    if m is None:
        return None
    a, mark, b = m.groups()
    return Ambiguous(row, value, mark, float(f"{a}.{b}"), float(a + b))


@dataclass
class DecimalMarks:
    """A file's price cells, for its decimal-mark convention: how many cells show each mark beyond
    doubt (:func:`decimal_mark`), the first of them, and the ambiguous ones (:func:`ambiguous`) waiting
    on it. Where at least :data:`MIN_CLEAR` unambiguous cells show one mark and at least :data:`AGREE`
    of all those showing one agree, an ambiguous cell is read with it ("1,500" is 1.5 beside "12,99",
    "2,5", "3,75" and 1500 beside three "12.99"; "1.299" is 1299 beside "1.299,00"). Otherwise each
    cell reads alone ("1,500" unread, with its warning): a file showing both marks without such a
    majority, with a warning; one with too few clear cells (a single "1,5" settles nothing), with a
    note when it has ambiguous cells; one showing neither, as before."""

    file: str
    first: dict[str, tuple[int, str]] = field(default_factory=dict)  # mark -> (row, cell) first showing it
    count: dict[str, int] = field(default_factory=dict)  # mark -> cells showing it
    waiting: list[Ambiguous] = field(default_factory=list)

    def note(self, value: str, amount: str, row: int) -> None:
        """A readable price cell ``value`` (``amount``: its amount text, :func:`read_price`): its mark,
        if it shows one beyond doubt, and whether it is ambiguous."""
        if "," not in amount and "." not in amount:  # most cells of many files: "12", "1 299"
            return
        mark = decimal_mark(amount)
        if mark is not None:
            if mark not in self.first:
                self.first[mark] = (row, value)
            self.count[mark] = self.count.get(mark, 0) + 1
        elif (cell := ambiguous(value, row, amount)) is not None:
            self.waiting.append(cell)

    def defer(self, value: str, row: int) -> bool:
        """An unreadable price cell: True when it is an ambiguous one, read by :meth:`convention` later."""
        cell = ambiguous(value, row)
        if cell is not None:
            self.waiting.append(cell)
        return cell is not None

    def clear(self) -> int:
        """How many of the file's price cells show a decimal mark beyond doubt."""
        return sum(self.count.values())

    def convention(self) -> str | None:
        """The file's decimal mark: the one at least :data:`MIN_CLEAR` of its unambiguous cells show,
        with at least :data:`AGREE` of them agreeing; else None."""
        if not self.count:
            return None
        mark = max(self.count, key=lambda m: self.count[m])
        n = self.count[mark]
        return mark if n >= MIN_CLEAR and n >= AGREE * self.clear() else None

    def mixed(self, column: str = "price") -> RowError | None:
        """The file-wide warning when its price cells (in ``column``) show both marks with no clear
        majority (:meth:`convention`; row 0: the whole file)."""
        if len(self.first) < 2 or self.convention() is not None:
            return None
        said = "; ".join(
            f"{position(self.file, r)}: {v!r}, {MARK_NAMES[m]}"
            for m, (r, v) in sorted(self.first.items(), key=lambda kv: kv[1][0])
        )
        why = f"price cells show both decimal marks ({said}): an ambiguous one such as '1,500' is read alone"
        return RowError(self.file, 0, column, why)

    def too_few(self, column: str = "price") -> RowError | None:
        """The file-wide note when ambiguous cells wait but fewer than :data:`MIN_CLEAR` cells (in
        ``column``) show the one mark they do show: they are read alone (row 0: the whole file)."""
        if not self.waiting or len(self.first) != 1 or self.convention() is not None:
            return None
        (mark, (r, v)), n = next(iter(self.first.items())), self.clear()
        why = (
            f"too few price cells show a decimal mark to read the ambiguous ones by it ({n} of the "
            f"{MIN_CLEAR} needed, {MARK_NAMES[mark]}, as {position(self.file, r)}: {v!r}): each is read alone"
        )
        return RowError(self.file, 0, column, why)
