"""The impression log: typed rows round-trip, a request id is stored once, a bad row is reported
with the file, its row and the field."""

from __future__ import annotations

import sqlite3
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


def test_bad_rows_name_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "x.impressions.db"
    store = ImpressionStore(path)
    store.append([_imp("ok")])
    store.close()
    con = sqlite3.connect(path)
    row = list(_imp("bad1").row())
    row[6] = "[1.5]"  # propensity above 1
    con.execute(
        "INSERT INTO impressions (request_id, user_id, route, timestamp, items, explored, propensity, "
        "inclusion, greedy, model_items, policy) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        row,
    )
    row = list(_imp("bad2").row())
    row[5] = "[7]"  # an explored position past the list's end
    con.execute(
        "INSERT INTO impressions (request_id, user_id, route, timestamp, items, explored, propensity, "
        "inclusion, greedy, model_items, policy) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        row,
    )
    con.commit()
    con.close()
    got = ImpressionStore(path, read_only=True).read()
    assert [i.request_id for i in got.impressions] == ["ok"]
    assert [(e.row, e.field) for e in got.errors] == [(2, "propensity"), (3, "explored")]
    assert str(got.errors[0]).startswith(f"{path}: row 2: field 'propensity': must be a JSON array of probabilities")
    with pytest.raises(FileNotFoundError, match="no such file"):
        ImpressionStore(tmp_path / "missing.db", read_only=True)


def test_an_impression_checks_its_own_shape() -> None:
    with pytest.raises(ValueError, match="one value per explored position"):
        Impression("r", "u", "/", 0.0, ("a",), (0,), (), (), (), (), "")
