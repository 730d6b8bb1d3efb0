"""Durable embedded event log on SQLite in WAL mode.

An ``append`` returns only after SQLite has committed with ``synchronous=FULL``, so an
acknowledged event survives a process kill (and, with WAL + FULL, a power loss on a
filesystem that honours fsync). Readers tail the log by sequence number; consumers keep
their position in the ``offsets`` table so a restart resumes where it stopped.

Idempotent appends: :meth:`EventStore.append_unique` takes an optional client ``event_id`` per
event. A UNIQUE index on ``event_id`` (NULLs exempt) makes the log itself the dedupe record, so a
retried batch is stored once even across restarts and across processes sharing the file; ids
already stored, or repeated inside the batch, are reported as duplicates with the sequence number
of the stored copy. Logs written before ``event_id`` existed gain the column on open.

Each event's ``request_id`` (the ``/search`` or ``/recommend`` answer it came from) is stored in a
column of its own, NULL when none. Logs written before it existed gain the column on open (old rows
read as ""); read-only, such a log is read as it is, every ``request_id`` "".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shelfwise.events.schema import Event, EventType

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    type INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    session_id TEXT NOT NULL,
    query TEXT NOT NULL,
    event_id TEXT,
    request_id TEXT
)
""",
    "CREATE TABLE IF NOT EXISTS offsets (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
)
_ID_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events(event_id) WHERE event_id IS NOT NULL"
_INSERT = (
    "INSERT INTO events (user_id, item_id, type, timestamp, session_id, query, event_id, request_id) "
    "VALUES (?,?,?,?,?,?,?,?)"
)
_Row = tuple[str, str, int, float, str, str, str | None, str | None]
_ID_LOOKUP_CHUNK = 500  # bound parameters per lookup query (SQLite's limit is 32766 on modern builds)


@dataclass(frozen=True)
class AppendResult:
    """What :meth:`EventStore.append_unique` did. ``stored`` new events got the consecutive sequence
    numbers ``first_seq .. last_seq`` (both 0 when none was new); ``duplicate_seqs`` holds, for each
    event whose ``event_id`` was already in the log or earlier in the batch, the stored copy's
    sequence number, in batch order; ``stored_mask[i]`` is True when batch event ``i`` was stored."""

    first_seq: int
    last_seq: int
    stored: int
    duplicate_seqs: tuple[int, ...]
    stored_mask: tuple[bool, ...]

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_seqs)

    @property
    def max_seq(self) -> int:
        """Highest sequence number covering every event of the batch (stored or duplicate)."""
        return max((self.last_seq, *self.duplicate_seqs))


def open_read_only(path: Path, what: str = "event log") -> sqlite3.Connection:
    """A read-only connection, leaving the folder as it was: with a ``-wal`` file beside the log
    (a writer has it open, or stopped without a checkpoint) SQLite's ``mode=ro``, which reads
    the WAL's rows too; without one every row is in the file itself, read as ``immutable``
    (``mode=ro`` would create ``-wal`` and ``-shm`` files it cannot remove). For one-off reads: a
    writer that opens the log meanwhile is not seen (its appends go to a new WAL), and one that
    checkpoints into the file during a read may make that read fail."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path}: no such file")
    wal = Path(f"{path}-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if wal else "?mode=ro&immutable=1")
    return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)


def connect(
    path: str, busy_timeout_ms: int, synchronous: str, *, read_only: bool = False, what: str = "event log"
) -> sqlite3.Connection:
    """A connection to the SQLite log at ``path`` (``":memory:"``: a private one) for one thread-safe
    store: WAL journal and ``synchronous`` (FULL: a commit survives a power loss; NORMAL: a process
    kill) unless ``read_only`` (:func:`open_read_only`); its folder is made when missing."""
    if read_only:
        conn = open_read_only(Path(path), what)
    else:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    if not read_only:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def _row(e: Event, event_id: str | None) -> _Row:
    return (
        e.user_id,
        e.item_id,
        int(e.type),
        e.timestamp,
        e.session_id,
        e.query,
        event_id or None,
        e.request_id or None,
    )


def table_columns(conn: sqlite3.Connection | sqlite3.Cursor, table: str) -> set[str]:
    """The column names of ``table``."""
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


@contextmanager
def write_transaction(conn: sqlite3.Connection | sqlite3.Cursor) -> Iterator[None]:
    """One writer transaction (``BEGIN IMMEDIATE``: it waits, up to the busy timeout, for another
    writer first, so what it reads is not changed under it before it commits); rolled back on
    any exception, which is re-raised. The caller holds its store's lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class EventStore:
    """Append-only event log. ``path=":memory:"`` gives a non-durable store for tests.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite file locking; ``busy_timeout`` waits for another writer).
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, read_only: bool = False) -> None:
        """``read_only``: read an existing log without writing anything to it or beside it (a missing
        file raises ``FileNotFoundError``; appends and offsets fail): see :func:`open_read_only`."""
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = connect(self.path, busy_timeout_ms, "FULL", read_only=read_only, what="event log")
        if read_only:  # a log from before request ids is read as it is, each one ""
            self._rid = "request_id" if "request_id" in table_columns(self._conn, "events") else "NULL"
            return
        self._rid = "request_id"
        with self._lock, write_transaction(self._conn):  # schema + migration in one writer transaction
            for stmt in _SCHEMA:
                self._conn.execute(stmt)
            cols = table_columns(self._conn, "events")
            if "event_id" not in cols:  # a log written before idempotent appends existed
                self._conn.execute("ALTER TABLE events ADD COLUMN event_id TEXT")
            if "request_id" not in cols:  # one written before request ids existed
                self._conn.execute("ALTER TABLE events ADD COLUMN request_id TEXT")
            self._conn.execute(_ID_INDEX)

    def append(self, events: Iterable[Event]) -> int:
        """Commit ``events`` atomically; return the sequence number of the last one (0 if none).

        The batch gets consecutive sequence numbers ``last - len(batch) + 1 .. last``.
        """
        batch = list(events)
        if not batch:
            return self.last_seq()
        return self.append_unique(batch).last_seq

    def append_unique(self, events: Sequence[Event], event_ids: Sequence[str | None] | None = None) -> AppendResult:
        """Commit the events whose ``event_ids`` entry (None or "" = no id, always stored) is neither in
        the log nor earlier in the batch, atomically and in batch order; report the others as
        duplicates. Raises ValueError for text SQLite cannot store (lone surrogates)."""
        ids = list(event_ids) if event_ids is not None else [None] * len(events)
        if len(ids) != len(events):
            raise ValueError(f"append_unique: {len(ids)} event ids for {len(events)} events")
        if not events:
            return AppendResult(0, 0, 0, (), ())
        with self._lock:
            cur = self._conn.cursor()
            try:
                with write_transaction(cur):
                    known = self._lookup_ids(cur, {i for i in ids if i})
                    rows: list[_Row] = []
                    mask: list[bool] = []
                    pending: list[tuple[int, str]] = []
                    for e, eid in zip(events, ids, strict=True):
                        if eid and eid in known:
                            mask.append(False)
                            continue
                        if eid:
                            known[eid] = -1  # filled with its sequence number below
                            pending.append((len(rows), eid))
                        rows.append(_row(e, eid))
                        mask.append(True)
                    if rows:
                        cur.executemany(_INSERT, rows)
                    last = int(cur.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0) if rows else 0
            except UnicodeEncodeError as exc:  # rolled back
                raise ValueError(f"event text is not valid Unicode (lone surrogate?): {exc.reason}") from exc
        first = last - len(rows) + 1 if rows else 0
        for pos, eid in pending:  # in-batch repeats now point at their first copy's sequence number
            known[eid] = first + pos
        dups = tuple(known[eid] for stored, eid in zip(mask, ids, strict=True) if not stored and eid)
        return AppendResult(first, last, len(rows), dups, tuple(mask))

    @staticmethod
    def _lookup_ids(cur: sqlite3.Cursor, ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        todo = sorted(ids)
        for start in range(0, len(todo), _ID_LOOKUP_CHUNK):
            chunk = todo[start : start + _ID_LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for eid, seq in cur.execute(f"SELECT event_id, seq FROM events WHERE event_id IN ({marks})", chunk):
                found[str(eid)] = int(seq)
        return found

    def last_seq(self) -> int:
        with self._lock:
            v = self._conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        return int(v or 0)

    def read(self, since: int = 0, limit: int | None = None) -> list[tuple[int, Event]]:
        """Events with sequence number > ``since``, oldest first."""
        sql = (
            f"SELECT seq, user_id, item_id, type, timestamp, session_id, query, {self._rid} "
            "FROM events WHERE seq > ? ORDER BY seq"
        )
        args: tuple[int, ...] = (since,)
        if limit is not None:
            sql += " LIMIT ?"
            args = (since, limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            (
                int(s),
                Event(
                    user_id=u, item_id=i, type=EventType(t), timestamp=ts, session_id=sid, query=q, request_id=r or ""
                ),
            )
            for s, u, i, t, ts, sid, q, r in rows
        ]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def offset(self, name: str) -> int:
        """Last sequence number consumer ``name`` recorded as applied (0 if never)."""
        with self._lock:
            row = self._conn.execute("SELECT seq FROM offsets WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def save_offset(self, name: str, seq: int) -> None:
        """Record that consumer ``name`` has applied every event up to ``seq``."""
        if seq < 0:
            raise ValueError("offset seq must be >= 0")
        with self._lock:
            self._conn.execute(
                "INSERT INTO offsets (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
                (name, int(seq)),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
