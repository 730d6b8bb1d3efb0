"""The typed summary of a valuation run: what ``summary.json`` holds.

One model for every reader: :class:`~shelfwise.valuation.report.ValuationReport` builds it and writes
it as ``summary.json``; ``shelfwise value show``, ``shelfwise report --valuation`` (the report's
valuation sections) and ``GET /valuation/summary`` read it back with :func:`load_valuation`, which
checks every field once and names the file and the first bad field of a malformed summary. Plain
dataclasses (no pydantic), so the valuation stage needs no serving extra; the HTTP route returns
the same objects (FastAPI documents dataclasses in the OpenAPI schema).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SUMMARY_FILE = "summary.json"

Ranked = tuple[tuple[str, float, int], ...]
T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")
Check = Callable[[object, str], T]  # reads a decoded JSON value; ``where`` names it in a SummaryError


@dataclass(frozen=True)
class ValuationOut:
    """One valuation of a report: who was valued how, and at what cost. ``most_valuable`` and
    ``least_valuable``: (name, value, size) rows, most (least) valuable first."""

    method: str
    grain: str
    players: int
    seconds: float
    evaluations: int
    converged: bool
    info: dict[str, float] = field(default_factory=dict)
    most_valuable: Ranked = ()
    least_valuable: Ranked = ()


@dataclass(frozen=True)
class RemovalCurveOut:
    """Test metric after removing a growing share of training data, by value order and at random."""

    method: str
    fractions: tuple[float, ...]
    lowest_first: tuple[float, ...]
    highest_first: tuple[float, ...]
    random_mean: tuple[float, ...]
    random_std: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.fractions)
        for name in ("lowest_first", "highest_first", "random_mean", "random_std"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: {len(getattr(self, name))} values for {n} fractions")


@dataclass(frozen=True)
class ValuationSummary:
    """GET /valuation/summary: the ``summary.json`` of the last written valuation report. ``values``
    key: "<what>: <method> by <grain>"; ``metrics``: e.g. noise precision, run time; ``label_next``:
    (group, expected gain, unlabelled items) rows, best first, absent when not computed."""

    title: str
    values: dict[str, ValuationOut] = field(default_factory=dict)
    removal_curves: dict[str, RemovalCurveOut] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    label_next: Ranked | None = None

    def as_json(self) -> dict[str, object]:
        """The JSON object ``summary.json`` holds (``label_next`` left out when absent; tuples are
        JSON arrays)."""
        out = asdict(self)
        if self.label_next is None:
            del out["label_next"]
        return out

    @classmethod
    def from_json(cls, data: object) -> ValuationSummary:
        """Parse a decoded ``summary.json``; a missing or mistyped field raises
        :class:`SummaryError` naming it (e.g. ``values['groups: loo'].players``)."""
        return _summary(data, "")


class SummaryError(ValueError):
    """A field of a valuation summary is missing or of the wrong type; ``where`` names it."""

    def __init__(self, where: str, problem: str) -> None:
        self.where, self.problem = where, problem
        super().__init__(f"{where or 'the file'}: {problem}")


def load_valuation(directory: str | Path) -> ValuationSummary:
    """The typed ``summary.json`` of a ``shelfwise value`` folder. A folder without one raises
    ``FileNotFoundError`` naming the command that writes it; a file that is not JSON or not a
    summary raises ``ValueError`` naming the file and the first bad field."""
    p = Path(directory) / SUMMARY_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no valuation report here; run `shelfwise value ... --out {directory}` first")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a valuation summary: not JSON ({exc})") from exc
    try:
        return ValuationSummary.from_json(data)
    except SummaryError as exc:
        raise ValueError(f"{p}: not a valuation summary: {exc}") from exc


# --- field checks -------------------------------------------------------------------------------
def _kind(v: object) -> str:
    return (
        "null"
        if v is None
        else {dict: "an object", list: "an array", str: "a string", bool: "true/false"}.get(
            type(v), "a number" if isinstance(v, int | float) else type(v).__name__
        )
    )


def _object(v: object, where: str) -> Mapping[str, object]:
    if not isinstance(v, dict):
        raise SummaryError(where, f"expected an object, got {_kind(v)}")
    return v


def _array(v: object, where: str) -> Sequence[object]:
    if not isinstance(v, list):
        raise SummaryError(where, f"expected an array, got {_kind(v)}")
    return v


def _str(v: object, where: str) -> str:
    if not isinstance(v, str):
        raise SummaryError(where, f"expected a string, got {_kind(v)}")
    return v


def _bool(v: object, where: str) -> bool:
    if not isinstance(v, bool):
        raise SummaryError(where, f"expected true or false, got {_kind(v)}")
    return v


def _float(v: object, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise SummaryError(where, f"expected a number, got {_kind(v)}")
    return float(v)


def _int(v: object, where: str) -> int:
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise SummaryError(where, f"expected a whole number, got {_kind(v) if not isinstance(v, float) else v}")
    return v


def _map_of(check: Check[T]) -> Check[dict[str, T]]:
    """Reader of a JSON object whose every value ``check`` reads (``where['key']`` names a bad one)."""

    def read(v: object, where: str) -> dict[str, T]:
        return {k: check(x, f"{where}[{k!r}]") for k, x in _object(v, where).items()}

    return read


def _tuple_of(check: Check[T]) -> Check[tuple[T, ...]]:
    """Reader of a JSON array whose every item ``check`` reads (``where[i]`` names a bad one)."""

    def read(v: object, where: str) -> tuple[T, ...]:
        return tuple(check(x, f"{where}[{i}]") for i, x in enumerate(_array(v, where)))

    return read


def _record(cls: type[D], optional: tuple[str, ...] = (), **checks: Check[Any]) -> Check[D]:
    """Reader of a JSON object into dataclass ``cls``: field ``name`` read by ``checks[name]``
    (``where.name`` names a bad one); a field in ``optional`` may be missing (it then takes its
    dataclass default), or null where that default is None. A ``ValueError`` of ``cls`` itself (e.g.
    unequal lengths) is reported at ``where``."""
    names = {f.name for f in fields(cls)}
    if set(checks) != names or not names.issuperset(optional):
        raise TypeError(f"_record({cls.__name__}): a check for each field {sorted(names)}, not {sorted(checks)}")
    nullable = {f.name for f in fields(cls) if f.name in optional and f.default is None}

    def read(v: object, where: str) -> D:
        o = _object(v, where)
        kwargs: dict[str, object] = {}
        for name, check in checks.items():
            if (name in optional and name not in o) or (name in nullable and o[name] is None):
                continue
            path = f"{where}.{name}" if where else name
            if name not in o:
                raise SummaryError(path, "missing")
            kwargs[name] = check(o[name], path)
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise SummaryError(where, str(exc)) from exc

    return read


def _rank_row(v: object, where: str) -> tuple[str, float, int]:
    cells = _array(v, where)
    if len(cells) != 3:
        raise SummaryError(where, f"expected [name, value, size], got {len(cells)} values")
    return _str(cells[0], f"{where}[0]"), _float(cells[1], f"{where}[1]"), _int(cells[2], f"{where}[2]")


_ranked: Check[Ranked] = _tuple_of(_rank_row)
_floats = _tuple_of(_float)
_valuation = _record(
    ValuationOut,
    optional=("info",),
    method=_str,
    grain=_str,
    players=_int,
    seconds=_float,
    evaluations=_int,
    converged=_bool,
    info=_map_of(_float),
    most_valuable=_ranked,
    least_valuable=_ranked,
)
_curve = _record(
    RemovalCurveOut,
    method=_str,
    fractions=_floats,
    lowest_first=_floats,
    highest_first=_floats,
    random_mean=_floats,
    random_std=_floats,
)
_summary = _record(
    ValuationSummary,
    optional=("removal_curves", "metrics", "notes", "label_next"),
    title=_str,
    values=_map_of(_valuation),
    removal_curves=_map_of(_curve),
    metrics=_map_of(_float),
    notes=_tuple_of(_str),
    label_next=_ranked,
)
