"""Read CSV / JSONL / Parquet files as rows of plain Python values.

Every loader (catalog, events, judgments) goes through :func:`read_rows`, so the file
formats, encodings and row numbering are the same everywhere. Row numbers are physical
line numbers for text formats (1-based; a CSV header is line 1, blank lines count) and the
1-based row index for Parquet.

CSV / TSV rules: a row with fewer or more values than the header has columns is a row
error. Quoted values may span lines (RFC 4180), but a quote that is never closed, or whose
record swallows lines that are themselves whole rows, is reported on the line where the quote
opened; the lines after it are then read again as rows of their own, so no product is lost
or merged silently.

The delimiter is ``,`` for ``.csv`` and tab for ``.tsv``, unless the header is a single column
that way and splits into several columns on ``;`` or tab (or ``,``): then that delimiter is used
(spreadsheets in many locales save "CSV" with ``;``). A header with several columns on the
default delimiter always keeps it, so a value containing ``;`` is never split. A first line
``sep=;`` (Excel's delimiter hint) sets the delimiter and is not read as the header.
Text is UTF-8; a CSV that is not, but reads as Chinese in GB18030 / GBK (Excel's "CSV" on Chinese
Windows), is read as that, with a warning (:func:`text_encoding`).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from shelfwise.errors import ConfigError, DataError, RowError

log = logging.getLogger(__name__)

SUPPORTED = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")

Row = Mapping[str, Any]
T = TypeVar("T")


def has_header(path: str | Path) -> bool:
    """CSV, TSV and Parquet files name their columns once (JSON Lines rows may each omit keys)."""
    return Path(path).suffix.lower() in (".csv", ".tsv", ".parquet")


def require_columns(file: str, header: Row, names: Sequence[str], why: str, after: str = "") -> None:
    """Raise :class:`DataError` once, listing the file's columns, when ``header`` lacks any of
    ``names`` (each missing one a row-0 :class:`RowError` saying ``why``, in ``errors``; ``after``
    ends the message). The message is that one line: the columns are not listed again under it."""
    missing = [n for n in names if n not in header]
    if missing:
        cols = ", ".join(repr(c) for c in missing)
        msg = f"{file}: no column {cols}; its columns are {sorted(header)}{after}"
        raise DataError([RowError(file, 0, n, why) for n in missing], msg, list_errors=False)


def read_rows(path: str | Path) -> Iterator[tuple[int, Row | RowError]]:
    """Yield ``(row_number, row)``; an unparsable row yields a :class:`RowError` instead."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv"):
        encoding = text_encoding(p)
        yield from _read_csv(p, _delimiter(p, "\t" if suffix == ".tsv" else ",", encoding), encoding)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _read_jsonl(p)
    elif suffix == ".parquet":
        yield from _read_parquet(p)
    else:
        raise DataError([RowError(str(p), 0, "<file>", f"unsupported format; use one of {SUPPORTED}")])


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _bad_utf8(rec: Mapping[str, Any]) -> str | None:
    """The first field whose text was not valid UTF-8 (decoded with ``surrogateescape``), if any."""
    for k, v in rec.items():
        if isinstance(v, str) and _ESCAPED_BYTE.search(v):
            return str(k)
    return None


# --------------------------------------------------------------------------- CSV / TSV

_SNIFF = 1 << 20  # bytes read to tell a CSV's encoding


def _gb2312(c: str) -> bool:
    """Is ``c`` a GB2312 character (both bytes 0xA1-0xFE: the 7,445 characters, common hanzi and
    full-width punctuation, that make up nearly all modern Chinese text)?"""
    b = c.encode("gb18030")
    return len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1


def text_encoding(p: Path) -> str:
    """``utf-8-sig`` (UTF-8, a byte-order mark skipped), or ``gb18030`` for a file that is not UTF-8
    but reads as Chinese in GB18030 (the superset of GBK: Excel on Chinese Windows saves "CSV" in
    it), judged on the first MiB: it decodes, and at least 80% of its non-ASCII characters are
    GB2312 ones. Anything else stays UTF-8, its undecodable rows reported as such: a Latin-1 file
    ("Crème brûlée") may decode as GBK, but each accent then pairs with the ASCII letter after it,
    which no GB2312 character has as its second byte."""
    with p.open("rb") as fh:
        head = fh.read(_SNIFF)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
    except UnicodeDecodeError:
        return "utf-8-sig"
    wide = [c for c in text if ord(c) > 127]
    if wide and sum(map(_gb2312, wide)) >= 0.8 * len(wide):
        log.warning("%s: not UTF-8; read as GB18030 (GBK), the encoding Chinese Excel saves CSV in", p)
        return "gb18030"
    return "utf-8-sig"


class _Lines:
    """Physical lines for :func:`csv.reader`, remembering the lines of the record being read
    so that they can be handed out again (to re-read the rows a broken quote swallowed)."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh
        self._again: list[str] = []  # lines to hand out again, last one first
        self.line = 0  # number of the last line handed out
        self.taken: list[str] = []  # the lines of the current record

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        s = self._again.pop() if self._again else next(self._fh)
        self.line += 1
        self.taken.append(s)
        return s

    def start_record(self) -> int:
        """Forget the previous record; return the line number the next one starts on."""
        self.taken = []
        return self.line + 1

    def reread_after(self, start: int) -> None:
        """Hand out the current record's lines again, except its first one (line ``start``)."""
        self._again.extend(reversed(self.taken[1:]))
        self.line = start
        self.taken = []


def _bad_quote_column(line: str, delimiter: str) -> int | None:
    """Index of the first value on ``line`` whose quoting is broken (its quote is not closed on
    this line, or text follows its closing quote), or None when the line's quoting is fine."""
    text = line.rstrip("\r\n")
    col, i, n = 0, 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    return col
                if text.startswith('""', j):
                    i = j + 2
                    continue
                i = j + 1
                break
            if i < n and text[i] != delimiter:
                return col
        else:
            j = text.find(delimiter, i)
            if j < 0:
                return None
            i = j
        if i >= n:
            return None
        col, i = col + 1, i + 1


def _is_whole_row(line: str, delimiter: str, width: int) -> bool:
    """Does ``line`` alone parse as a complete row of ``width`` values?"""
    try:
        return len(next(csv.reader([line], delimiter=delimiter, strict=True), [])) == width
    except csv.Error:
        return False


def _column(header: list[str], index: int | None) -> str:
    return header[index] if index is not None and 0 <= index < len(header) and header[index] else "<row>"


_DELIMITERS = (",", ";", "\t")
_SEP_LINE = re.compile(r"sep=([,;\t|])\r?\n?$")


def _delimiter(p: Path, default: str, encoding: str = "utf-8-sig") -> str:
    """``default``, unless the header (first non-blank line) is one column on it and more on
    another of ``,`` ``;`` tab: then the delimiter giving the most columns. An Excel ``sep=X``
    line names it."""
    with p.open(newline="", encoding=encoding, errors="surrogateescape") as fh:
        header = next((line for line in fh if line.strip()), "")
    hint = _SEP_LINE.match(header)
    if hint:
        return hint.group(1)

    def width(delimiter: str) -> int:
        try:
            return len(next(csv.reader([header], delimiter=delimiter), []))
        except csv.Error:  # a quote left open in the header: reported when the file is read
            return 0

    if width(default) > 1:
        return default
    best = max(_DELIMITERS, key=width)  # ties: the order of _DELIMITERS
    return best if width(best) > 1 else default


def _read_csv(p: Path, delimiter: str, encoding: str = "utf-8-sig") -> Iterator[tuple[int, Row | RowError]]:
    file = str(p)
    with p.open(newline="", encoding=encoding, errors="surrogateescape") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        header: list[str] | None = None
        while True:
            start = lines.start_record()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if header is None:
                    raise DataError([RowError(file, start, "<header>", f"cannot read the header: {exc}")]) from exc
                yield start, _quote_error(file, start, lines, header, delimiter, exc)
                lines.reread_after(start)
                reader = csv.reader(lines, delimiter=delimiter, strict=True)
                continue
            if len(values) <= 1 and not "".join(values).strip():
                continue  # blank line
            if header is None and _SEP_LINE.match("".join(lines.taken)):
                continue  # Excel's "sep=;" line: it chose the delimiter
            if header is None:
                header = values
                yield from _duplicate_columns(file, start, header)
                continue
            if lines.line > start and _swallowed_rows(values, lines, header, delimiter):
                yield start, _quote_error(file, start, lines, header, delimiter, None, values)
                lines.reread_after(start)
                reader = csv.reader(lines, delimiter=delimiter, strict=True)
                continue
            yield start, _csv_row(file, start, header, values, delimiter)


def _swallowed_rows(values: list[str], lines: _Lines, header: list[str], delimiter: str) -> bool:
    """Does a record spanning several lines look like a quote left open over other rows?

    Yes when its value count is wrong, or when its first line read with the quote as a plain
    character is a whole row and a line inside it (not the last) is a whole row too. A legitimate
    multi-line value (a description with line breaks) passes.
    """
    width = len(header)
    if len(values) != width:
        return True
    inner = lines.taken[1:-1]
    if not inner or len(next(csv.reader([lines.taken[0]], delimiter=delimiter, quoting=csv.QUOTE_NONE))) != width:
        return False
    return any(_is_whole_row(s, delimiter, width) for s in inner)


def _quote_error(
    file: str,
    start: int,
    lines: _Lines,
    header: list[str],
    delimiter: str,
    exc: csv.Error | None,
    values: list[str] | None = None,
) -> RowError:
    """The error for a record whose quoting is broken, on the line where the record starts."""
    end = lines.line
    if values is not None:  # parsed, but swallowed what look like other rows
        col = next((i for i, v in enumerate(values) if "\n" in v or "\r" in v), None)
        msg = f"unclosed quote: the quoted value opened on this line runs on to line {end}, taking in other rows"
    else:
        col = _bad_quote_column(lines.taken[0] if lines.taken else "", delimiter)
        if end > start or "end of data" in str(exc):
            at = "the end of the file" if "end of data" in str(exc) else f"line {end}"
            msg = f"unclosed quote: the quoted value opened on this line is still open at {at}"
        else:
            return RowError(
                file, start, _column(header, col), f'bad quoting ({exc}); write a quote inside a quoted value as ""'
            )
    if end > start:
        msg += "; the lines after this one are read as rows of their own"
    return RowError(file, start, _column(header, col), msg)


def _csv_row(file: str, line: int, header: list[str], values: list[str], delimiter: str) -> Row | RowError:
    width = len(header)
    if len(values) < width:
        missing = [c or "<unnamed>" for c in header[len(values) :]]
        shown = ", ".join(repr(c) for c in missing[:5]) + (", ..." if len(missing) > 5 else "")
        msg = f"too few values: {len(values)} for {width} columns (missing {shown})"
        return RowError(file, line, _column(header, len(values)), msg)
    if len(values) > width:
        msg = f"too many values: {len(values)} for {width} columns (an unquoted {delimiter!r} inside a value?)"
        return RowError(file, line, "<row>", msg)
    rec: dict[str, Any] = {}
    for k, v in zip(header, values, strict=True):
        if k not in rec:  # a column named twice: the first one is used
            rec[k] = v or None
    bad = _bad_utf8(rec)
    return rec if bad is None else RowError(file, line, bad, "not valid UTF-8 text")


def _duplicate_columns(file: str, line: int, header: list[str]) -> Iterator[tuple[int, RowError]]:
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            yield line, RowError(file, line, name, "column appears twice in the header; the first one is used")
        seen.add(name)


# --------------------------------------------------------------------------- JSON Lines / JSON


def _read_jsonl(p: Path) -> Iterator[tuple[int, Row | RowError]]:
    file = str(p)
    with p.open(encoding="utf-8-sig", errors="surrogateescape") as fh:
        text = fh.read()
    if text.lstrip().startswith("["):  # a JSON array of objects
        yield from _read_json_array(file, text)
        return
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit in a string
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, RowError(file, line_no, "<row>", f"invalid JSON at column {exc.colno}: {exc.msg}")
            continue
        yield line_no, _json_row(file, line_no, item)


def _json_row(file: str, line: int, item: Any) -> Row | RowError:
    if not isinstance(item, dict):
        return RowError(file, line, "<row>", "not a JSON object")
    bad = _bad_utf8(item)
    return item if bad is None else RowError(file, line, bad, "not valid UTF-8 text")


_WS = " \t\n\r"


def _read_json_array(file: str, text: str) -> Iterator[tuple[int, Row | RowError]]:
    """Items of a top-level JSON array, each numbered by the line its value starts on."""
    decoder = json.JSONDecoder()
    i = text.index("[") + 1
    counted, line = 0, 1  # line number of position ``counted``

    def skip(j: int) -> int:
        while j < len(text) and text[j] in _WS:
            j += 1
        return j

    def fail(pos: int, msg: str) -> DataError:
        ln = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return DataError([RowError(file, ln, "<file>", f"invalid JSON at column {col}: {msg}")])

    i = skip(i)
    if i < len(text) and text[i] == "]":
        i += 1
    else:
        while True:
            try:
                item, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError as exc:
                raise fail(exc.pos, exc.msg) from exc
            line += text.count("\n", counted, i)
            counted = i
            yield line, _json_row(file, line, item)
            i = skip(end)
            if i < len(text) and text[i] == ",":
                i = skip(i + 1)
                continue
            if i < len(text) and text[i] == "]":
                i += 1
                break
            raise fail(i, "expected ',' or ']' after an array item")
    i = skip(i)
    if i < len(text):
        raise fail(i, "extra data after the JSON array")


# --------------------------------------------------------------------------- Parquet


def _read_parquet(p: Path) -> Iterator[tuple[int, Row | RowError]]:
    import pyarrow.parquet as pq

    row = 0
    with pq.ParquetFile(p) as f:  # batch by batch: the whole Arrow table is never in memory
        for batch in f.iter_batches(batch_size=65536):
            for rec in batch.to_pylist():
                row += 1
                yield row, rec


# --------------------------------------------------------------------------- column mappings


def _load_json_object(path: str | Path) -> tuple[dict[str, Any], str]:
    """The JSON object in ``path`` and its text; every problem is a :class:`ConfigError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: fields mapping file not found" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(p, f"not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(p, f"cannot read: {exc.strerror or exc}") from exc

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise ConfigError(p, f"key '{k}' is given twice", _key_line(text, k, last=True))
            out[k] = v
        return out

    try:
        raw = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        hint = " (a trailing comma?)" if text[: exc.pos].rstrip().endswith(",") else ""
        raise ConfigError(p, f"invalid JSON: {exc.msg}{hint}", exc.lineno, exc.colno) from exc
    if not isinstance(raw, dict):
        raise ConfigError(p, f"expected a JSON object mapping field names to column names, got {_json_kind(raw)}")
    return raw, text


def _json_kind(v: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "true/false", int: "a number"}
    return kinds.get(type(v), "a number" if isinstance(v, float) else "null")


def _key_line(text: str, key: str, *, last: bool = False) -> int | None:
    """The line on which ``"key":`` appears in a JSON text (first or last occurrence), if found."""
    hits = [m.start() for m in re.finditer(re.escape(json.dumps(key)) + r"\s*:", text)]
    if not hits:
        return None
    return text.count("\n", 0, hits[-1] if last else hits[0]) + 1


def mapping_from_json(cls: type[T], path: str | Path) -> T:
    """Build a column-mapping dataclass (``ProductFields``, ``EventFields``) from a JSON object.

    Every error is a :class:`ConfigError` naming the file (and the line of the key when found);
    a missing file is a :class:`FileNotFoundError` naming it. Value rules, by field type:

    * list-valued fields (``tuple[str, ...]``): a list of names, or one name; ``null`` and ``[]``
      both mean "no column";
    * optional single fields (``str | None``): one name; ``null`` or ``""`` mean "none";
    * required fields (``str``): one non-empty name.

    Fields of any other type are passed to ``cls`` as given, for it to check; an error it raises
    is reported as a :class:`ConfigError` naming the file too.
    """
    p = Path(path)
    raw, text = _load_json_object(p)
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(
                p, f"unknown field mapping key '{key}'{hint}; known: {sorted(fields)}", _key_line(text, key)
            )
    values: dict[str, Any] = {}
    for key, v in raw.items():
        values[key] = _mapping_value(p, text, key, fields[key], v)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(p, str(exc)) from exc


def _mapping_value(p: Path, text: str, key: str, type_: str, v: Any) -> Any:
    def bad(msg: str) -> ConfigError:
        return ConfigError(p, f"'{key}' {msg}", _key_line(text, key))

    if type_ not in ("str", "str | None", "tuple[str, ...]"):
        return v  # any other kind of setting is checked by the mapping class itself
    if type_.startswith("tuple"):
        items = [] if v is None else [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not all(isinstance(x, str) and x for x in items):
            raise bad(f"must be a column name (string), a list of them, or null for none; got {json.dumps(v)}")
        return tuple(items)
    if isinstance(v, list):
        raise bad(f"takes one column name, got an array {json.dumps(v)}")
    optional = "None" in type_
    if v is None or v == "":
        if optional:
            return None
        raise bad("must be a column name (string); it is required and cannot be null or empty")
    if not isinstance(v, str):
        raise bad(f"must be a column name (string){' or null for none' if optional else ''}; got {json.dumps(v)}")
    return v
