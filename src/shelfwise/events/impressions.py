"""Durable impression log: what a served list showed, which slots a bandit explored, and with what
probability, for off-policy evaluation of a store's own exploration (``shelfwise ope
--impressions``).

One row per served list with explored slots, in its own SQLite file in WAL mode beside the event
log (:func:`impressions_path`: ``events.db`` -> ``events.impressions.db``), so impression writes
never wait on event appends (one writer per SQLite file). Commits use ``synchronous=NORMAL``: a
killed process loses nothing committed; a power loss may lose the last commits, which drops whole
impressions (never half of one): the log then under-counts, and estimates stay unbiased.

Columns are scalars or JSON arrays of one type each; :meth:`ImpressionStore.read` checks every
value and reports a bad one as a :class:`~shelfwise.errors.RowError` naming the file, the row
(its ``seq``) and the field.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shelfwise.errors import RowError, counted
from shelfwise.events.store import connect, table_columns, write_transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS impressions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    route TEXT NOT NULL,
    timestamp REAL NOT NULL,
    items TEXT NOT NULL,
    explored TEXT NOT NULL,
    propensity TEXT NOT NULL,
    inclusion TEXT NOT NULL,
    greedy TEXT NOT NULL,
    model_items TEXT NOT NULL,
    policy TEXT NOT NULL,
    sample_rate REAL NOT NULL DEFAULT 1.0
)
"""
_COLUMNS = (
    "request_id",
    "user_id",
    "route",
    "timestamp",
    "items",
    "explored",
    "propensity",
    "inclusion",
    "greedy",
    "model_items",
    "policy",
    "sample_rate",
)
_INSERT = f"INSERT OR IGNORE INTO impressions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


@dataclass(frozen=True)
class Impression:
    """One served list. ``items``: the shown item ids, best first; ``explored``: the positions a
    bandit filled, in pick order; per explored position: ``propensity``, the probability the policy
    put that item in that slot (None: not known for this policy), ``inclusion``, that it picked the
    item into any explored slot of its draw, ``greedy``, the item the list's own scores rank at
    that pick's rank in the same pool; ``model_items``: the deterministic list the exploration
    displaced (the model's own top ``k``); ``sample_rate``: the probability that this list was
    logged at all (:class:`~shelfwise.bandit.impression_sampler.CostSampler`; 1: every list)."""

    request_id: str
    user_id: str
    route: str
    timestamp: float
    items: tuple[str, ...]
    explored: tuple[int, ...]
    propensity: tuple[float | None, ...]
    inclusion: tuple[float | None, ...]
    greedy: tuple[str, ...]
    model_items: tuple[str, ...]
    policy: str
    sample_rate: float = 1.0

    def __post_init__(self) -> None:
        n = len(self.explored)
        if not 0 < self.sample_rate <= 1:
            raise ValueError(f"Impression: sample_rate must be in (0, 1], got {self.sample_rate}")
        if not (len(self.propensity) == len(self.inclusion) == len(self.greedy) == n):
            raise ValueError("Impression: propensity, inclusion and greedy need one value per explored position")
        if any(not 0 <= p < len(self.items) for p in self.explored):
            raise ValueError(f"Impression: explored positions must be in [0, {len(self.items)})")

    def row(self) -> tuple[str | float, ...]:
        return (
            self.request_id,
            self.user_id,
            self.route,
            self.timestamp,
            json.dumps(list(self.items)),
            json.dumps(list(self.explored)),
            json.dumps(list(self.propensity)),
            json.dumps(list(self.inclusion)),
            json.dumps(list(self.greedy)),
            json.dumps(list(self.model_items)),
            self.policy,
            self.sample_rate,
        )


@dataclass(frozen=True)
class ImpressionRead:
    """The valid impressions of a log, oldest first, and one :class:`RowError` per bad row skipped."""

    impressions: list[Impression]
    errors: list[RowError] = field(default_factory=list)


def impressions_path(events_db: str | Path) -> Path:
    """Where the impressions of a SQLite event log go by default: beside it, ``<stem>.impressions.db``."""
    p = Path(str(events_db).removeprefix("sqlite://"))
    return p.with_name(f"{p.stem}.impressions.db")


class ImpressionStore:
    """Append-only impression log (a SQLite file, or ``":memory:"`` for tests); thread-safe, and
    shared by processes through SQLite's locking. ``read_only`` opens an existing file for reading."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, read_only: bool = False) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path, busy_timeout_ms, "NORMAL", read_only=read_only, what="impression log")
        if not read_only:
            with self._lock, write_transaction(self._conn):  # schema + migration in one writer transaction
                self._conn.execute(_SCHEMA)
                if "sample_rate" not in table_columns(self._conn, "impressions"):  # logged before sampling: all were
                    self._conn.execute("ALTER TABLE impressions ADD COLUMN sample_rate REAL NOT NULL DEFAULT 1.0")

    def append(self, impressions: Sequence[Impression]) -> int:
        """Commit ``impressions`` in one transaction (a request id already stored is kept as it was);
        returns how many were new."""
        if not impressions:
            return 0
        with self._lock:
            cur = self._conn.cursor()
            with write_transaction(cur):
                before = self._conn.total_changes
                cur.executemany(_INSERT, [i.row() for i in impressions])
                added = self._conn.total_changes - before
        return added

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM impressions").fetchone()[0])

    def read(self) -> ImpressionRead:
        """Every impression, oldest first (by time, then log order); bad rows reported and skipped."""
        with self._lock:
            try:
                have = table_columns(self._conn, "impressions")
                cols = [c if c in have or c != "sample_rate" else "1.0" for c in _COLUMNS]
                rows = self._conn.execute(f"SELECT seq, {', '.join(cols)} FROM impressions ORDER BY seq").fetchall()
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"{self.path}: not an impression log ({exc})") from exc
        out: list[Impression] = []
        errors: list[RowError] = []
        for seq, *values in rows:
            got = _parse(self.path, int(seq), dict(zip(_COLUMNS, values, strict=True)))
            if isinstance(got, Impression):
                out.append(got)
            else:
                errors.append(got)
        out.sort(key=lambda i: i.timestamp)
        return ImpressionRead(out, errors)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _list(value: object, ok: Callable[[object], bool]) -> list[object] | None:
    """``value`` as a JSON array whose items all pass ``ok``, else None."""
    if not isinstance(value, str):
        return None
    try:
        got = json.loads(value)
    except json.JSONDecodeError:
        return None
    return got if isinstance(got, list) and all(ok(v) for v in got) else None


def _is_text(v: object) -> bool:
    return isinstance(v, str)


def _is_position(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_prob(v: object) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool) and 0.0 <= float(v) <= 1.0)


_FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "items": (_is_text, "a JSON array of item ids"),
    "explored": (_is_position, "a JSON array of non-negative positions"),
    "propensity": (_is_prob, "a JSON array of probabilities in [0, 1] or null"),
    "inclusion": (_is_prob, "a JSON array of probabilities in [0, 1] or null"),
    "greedy": (_is_text, "a JSON array of item ids"),
    "model_items": (_is_text, "a JSON array of item ids"),
}


def _parse(file: str, seq: int, rec: dict[str, object]) -> Impression | RowError:
    for name in ("request_id", "user_id", "route", "policy"):
        if not isinstance(rec[name], str) or (name != "policy" and not rec[name]):
            return RowError(file, seq, name, f"must be non-empty text, got {rec[name]!r}")
    ts = rec["timestamp"]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        return RowError(file, seq, "timestamp", f"must be a finite number (Unix seconds), got {ts!r}")
    rate = rec["sample_rate"]
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1:
        return RowError(file, seq, "sample_rate", f"must be a probability in (0, 1], got {rate!r}")
    lists: dict[str, list[object]] = {}
    for name, (ok, what) in _FIELDS.items():
        got = _list(rec[name], ok)
        if got is None:
            return RowError(file, seq, name, f"must be {what}, got {str(rec[name])[:80]!r}")
        lists[name] = got
    n = len(lists["explored"])
    for name in ("propensity", "inclusion", "greedy"):  # one value per explored position
        if len(lists[name]) != n:
            said = f"the row has {counted(n, 'explored position')}, got {len(lists[name])}"
            return RowError(file, seq, name, f"must hold one value per explored position ({said})")
    try:
        return Impression(
            str(rec["request_id"]),
            str(rec["user_id"]),
            str(rec["route"]),
            float(ts),
            tuple(str(v) for v in lists["items"]),
            tuple(int(str(v)) for v in lists["explored"]),
            tuple(None if v is None else float(str(v)) for v in lists["propensity"]),
            tuple(None if v is None else float(str(v)) for v in lists["inclusion"]),
            tuple(str(v) for v in lists["greedy"]),
            tuple(str(v) for v in lists["model_items"]),
            str(rec["policy"]),
            float(rate),
        )
    except ValueError as exc:
        return RowError(file, seq, "explored", str(exc))
