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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

SUMMARY_FILE = "summary.json"

Ranked = tuple[tuple[str, float, int], ...]
T = TypeVar("T")


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
        """The JSON object ``summary.json`` holds (``label_next`` left out when absent)."""
        out: dict[str, object] = {
            "title": self.title,
            "values": {
                key: {
                    "method": v.method,
                    "grain": v.grain,
                    "players": v.players,
                    "seconds": v.seconds,
                    "evaluations": v.evaluations,
                    "converged": v.converged,
                    "info": dict(v.info),
                    "most_valuable": [list(row) for row in v.most_valuable],
                    "least_valuable": [list(row) for row in v.least_valuable],
                }
                for key, v in self.values.items()
            },
            "removal_curves": {
                key: {
                    "method": c.method,
                    "fractions": list(c.fractions),
                    "lowest_first": list(c.lowest_first),
                    "highest_first": list(c.highest_first),
                    "random_mean": list(c.random_mean),
                    "random_std": list(c.random_std),
                }
                for key, c in self.removal_curves.items()
            },
            "metrics": dict(self.metrics),
            "notes": list(self.notes),
        }
        if self.label_next is not None:
            out["label_next"] = [list(row) for row in self.label_next]
        return out

    @classmethod
    def from_json(cls, data: object) -> ValuationSummary:
        """Parse a decoded ``summary.json``; a missing or mistyped field raises
        :class:`SummaryError` naming it (e.g. ``values['groups: loo'].players``)."""
        top = _object(data, "")
        return cls(
            title=_get(top, "title", "", _str),
            values={k: _valuation(v, f"values[{k!r}]") for k, v in _get(top, "values", "", _object).items()},
            removal_curves={
                k: _curve(v, f"removal_curves[{k!r}]")
                for k, v in _get(top, "removal_curves", "", _object, default={}).items()
            },
            metrics={k: _float(v, f"metrics[{k!r}]") for k, v in _get(top, "metrics", "", _object, default={}).items()},
            notes=tuple(_str(v, f"notes[{i}]") for i, v in enumerate(_get(top, "notes", "", _array, default=[]))),
            label_next=None if top.get("label_next") is None else _ranked(top["label_next"], "label_next"),
        )


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


def _get(
    obj: Mapping[str, object],
    key: str,
    where: str,
    check: Callable[[object, str], T],
    *,
    default: object = None,
) -> T:
    path = f"{where}.{key}" if where else key
    if key not in obj:
        if default is None:
            raise SummaryError(path, "missing")
        return check(default, path)
    return check(obj[key], path)


def _ranked(v: object, where: str) -> Ranked:
    rows = []
    for i, row in enumerate(_array(v, where)):
        at = f"{where}[{i}]"
        cells = _array(row, at)
        if len(cells) != 3:
            raise SummaryError(at, f"expected [name, value, size], got {len(cells)} values")
        rows.append((_str(cells[0], f"{at}[0]"), _float(cells[1], f"{at}[1]"), _int(cells[2], f"{at}[2]")))
    return tuple(rows)


def _floats(v: object, where: str) -> tuple[float, ...]:
    return tuple(_float(x, f"{where}[{i}]") for i, x in enumerate(_array(v, where)))


def _valuation(v: object, where: str) -> ValuationOut:
    o = _object(v, where)
    return ValuationOut(
        method=_get(o, "method", where, _str),
        grain=_get(o, "grain", where, _str),
        players=_get(o, "players", where, _int),
        seconds=_get(o, "seconds", where, _float),
        evaluations=_get(o, "evaluations", where, _int),
        converged=_get(o, "converged", where, _bool),
        info={k: _float(x, f"{where}.info[{k!r}]") for k, x in _get(o, "info", where, _object, default={}).items()},
        most_valuable=_get(o, "most_valuable", where, _ranked),
        least_valuable=_get(o, "least_valuable", where, _ranked),
    )


def _curve(v: object, where: str) -> RemovalCurveOut:
    o = _object(v, where)
    try:
        return RemovalCurveOut(
            method=_get(o, "method", where, _str),
            fractions=_get(o, "fractions", where, _floats),
            lowest_first=_get(o, "lowest_first", where, _floats),
            highest_first=_get(o, "highest_first", where, _floats),
            random_mean=_get(o, "random_mean", where, _floats),
            random_std=_get(o, "random_std", where, _floats),
        )
    except SummaryError:
        raise
    except ValueError as exc:  # unequal lengths
        raise SummaryError(where, str(exc)) from exc
