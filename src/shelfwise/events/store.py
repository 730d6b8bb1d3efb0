"""Durable embedded event log on SQLite in WAL mode.

An ``append`` returns only after SQLite has committed with ``synchronous=FULL``, so an
acknowledged event survives a process kill (and, with WAL + FULL, a power loss on a
filesystem that honours fsync). Readers tail the log by sequence number; consumers keep
their position in the ``offsets`` table so a restart resumes where it stopped.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
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
    query TEXT NOT NULL
)
""",
    "CREATE TABLE IF NOT EXISTS offsets (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
)


class EventStore:
    """Append-only event log. ``path=":memory:"`` gives a non-durable store for tests.

    Safe to share between threads (one connection behind a lock) and between processes
    (SQLite file locking; ``busy_timeout`` waits for another writer).
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            for stmt in _SCHEMA:
                self._conn.execute(stmt)

    def append(self, events: Iterable[Event]) -> int:
        """Commit ``events`` atomically; return the sequence number of the last one (0 if none).

        The batch gets consecutive sequence numbers ``last - len(batch) + 1 .. last``.
        """
        rows = [(e.user_id, e.item_id, int(e.type), e.timestamp, e.session_id, e.query) for e in events]
        if not rows:
            return self.last_seq()
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT INTO events (user_id, item_id, type, timestamp, session_id, query) VALUES (?,?,?,?,?,?)",
                    rows,
                )
                last = int(cur.execute("SELECT MAX(seq) FROM events").fetchone()[0])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return last

    def last_seq(self) -> int:
        with self._lock:
            v = self._conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        return int(v or 0)

    def read(self, since: int = 0, limit: int | None = None) -> list[tuple[int, Event]]:
        """Events with sequence number > ``since``, oldest first."""
        sql = "SELECT seq, user_id, item_id, type, timestamp, session_id, query FROM events WHERE seq > ? ORDER BY seq"
        args: tuple[int, ...] = (since,)
        if limit is not None:
            sql += " LIMIT ?"
            args = (since, limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            (int(s), Event(user_id=u, item_id=i, type=EventType(t), timestamp=ts, session_id=sid, query=q))
            for s, u, i, t, ts, sid, q in rows
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
