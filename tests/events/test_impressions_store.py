"""The impression log: typed rows round-trip, a request id is stored once, a bad row is reported
with the file, its row and the field."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from shelfwise.events.impressions import Impression, ImpressionStore, impressions_path


def _imp(rid: str, t: float = 1.0) -> Impression:
    return Impression(
        rid, "u1", "/recommend/user", t, ("a", "b", "c"), (2,), (0.25,), (0.5,), ("d",), ("a", "b", "d"), "bernoulli_ts"
    )


def test_round_trip_and_one_row_per_request(tmp_path: Path) -> None:
    path = impressions_path(tmp_path / "events.db")
    assert path == tmp_path / "events.impressions.db"
    store = ImpressionStore(path)
    assert store.append([_imp("r2", 5.0), _imp("r1", 2.0)]) == 2
    assert store.append([_imp("r1", 9.0)]) == 0  # a request id already logged is kept as it was
    store.close()
    ro = ImpressionStore(path, read_only=True)
    got = ro.read()
    ro.close()
    assert got.errors == [] and got.impressions == [_imp("r1", 2.0), _imp("r2", 5.0)]  # oldest first


_INSERT = (
    "INSERT INTO impressions (request_id, user_id, route, timestamp, items, explored, propensity, "
    "inclusion, greedy, model_items, policy, sample_rate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def test_a_log_written_before_sampling_reads_as_every_list_logged(tmp_path: Path) -> None:
    path = tmp_path / "old.impressions.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE impressions (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, "
        "user_id TEXT NOT NULL, route TEXT NOT NULL, timestamp REAL NOT NULL, items TEXT NOT NULL, "
        "explored TEXT NOT NULL, propensity TEXT NOT NULL, inclusion TEXT NOT NULL, greedy TEXT NOT NULL, "
        "model_items TEXT NOT NULL, policy TEXT NOT NULL)"
    )
    con.execute(_INSERT.replace(", sample_rate", "").replace(",?)", ")"), _imp("old").row()[:11])
    con.commit()
    con.close()
    [old] = ImpressionStore(path, read_only=True).read().impressions
    assert old.sample_rate == 1.0
    store = ImpressionStore(path)  # opened for writing: the column is added
    store.append([replace(_imp("new"), sample_rate=0.25)])
    assert [i.sample_rate for i in store.read().impressions] == [1.0, 0.25]
    store.close()


def _old_log(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE impressions (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE, "
        "user_id TEXT NOT NULL, route TEXT NOT NULL, timestamp REAL NOT NULL, items TEXT NOT NULL, "
        "explored TEXT NOT NULL, propensity TEXT NOT NULL, inclusion TEXT NOT NULL, greedy TEXT NOT NULL, "
        "model_items TEXT NOT NULL, policy TEXT NOT NULL)"
    )
    con.commit()
    con.close()


def test_an_old_log_migrated_by_another_writer_meanwhile_opens(tmp_path: Path) -> None:
    """Schema and migration run in one writer transaction (as the event log's do): a process that
    opens an old log while another adds the column waits for it, then finds the column there."""
    path = tmp_path / "old.impressions.db"
    _old_log(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other process is migrating it
    opened: list[ImpressionStore] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(ImpressionStore(path))
        except BaseException as exc:  # reported below
            failed.append(exc)

    t = threading.Thread(target=open_it)
    t.start()
    time.sleep(0.3)  # it reads the columns (no sample_rate yet) and waits for the lock
    other.execute("ALTER TABLE impressions ADD COLUMN sample_rate REAL NOT NULL DEFAULT 1.0")
    other.execute("COMMIT")
    other.close()
    t.join(10)
    assert failed == [] and len(opened) == 1
    opened[0].append([_imp("r1")])
    assert opened[0].count() == 1
    opened[0].close()


def test_bad_rows_name_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "x.impressions.db"
    store = ImpressionStore(path)
    store.append([_imp("ok")])
    store.close()
    con = sqlite3.connect(path)
    row = list(_imp("bad1").row())
    row[6] = "[1.5]"  # propensity above 1
    con.execute(_INSERT, row)
    row = list(_imp("bad2").row())
    row[5] = "[7]"  # an explored position past the list's end
    con.execute(_INSERT, row)
    row = list(_imp("bad3").row())
    row[11] = 0.0  # a list logged with probability 0 cannot have been logged
    con.execute(_INSERT, row)
    con.commit()
    con.close()
    got = ImpressionStore(path, read_only=True).read()
    assert [i.request_id for i in got.impressions] == ["ok"]
    assert [(e.row, e.field) for e in got.errors] == [(2, "propensity"), (3, "explored"), (4, "sample_rate")]
    assert str(got.errors[0]).startswith(f"{path}: row 2: field 'propensity': must be a JSON array of probabilities")
    with pytest.raises(FileNotFoundError, match="no such file"):
        ImpressionStore(tmp_path / "missing.db", read_only=True)


def test_an_impression_checks_its_own_shape() -> None:
    with pytest.raises(ValueError, match="one value per explored position"):
        Impression("r", "u", "/", 0.0, ("a",), (0,), (), (), (), (), "")


def test_a_list_of_the_wrong_length_is_named_as_that_field(tmp_path: Path) -> None:
    path = tmp_path / "x.impressions.db"
    ImpressionStore(path).close()
    con = sqlite3.connect(path)
    for n, (col, value) in enumerate(((6, "[0.25, 0.5]"), (7, "[]"), (8, '["d", "e"]'))):
        row = list(_imp(f"bad{n}").row())
        row[col] = value  # propensity, inclusion, greedy: one value per explored position (here 1)
        con.execute(_INSERT, row)
    con.commit()
    con.close()
    got = ImpressionStore(path, read_only=True).read()
    assert [e.field for e in got.errors] == ["propensity", "inclusion", "greedy"]
    assert "1 explored position" in str(got.errors[0]) and "got 2" in str(got.errors[0])
