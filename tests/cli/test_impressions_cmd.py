"""``shelfwise ope --impressions``: a server's impression log joined with its event log, on a
made-up log whose answers are known; bad rows and missing logs are named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from impression_logs import CTR, GREEDY, simulated
from shelfwise.cli.main import main
from shelfwise.events import Event, EventStore, EventType
from shelfwise.events.impressions import ImpressionStore, impressions_path


def _logs(tmp_path: Path, n: int = 3000) -> Path:
    imps, events = simulated(n, seed=2)
    db = tmp_path / "events.sqlite"
    store = EventStore(db)
    store.append(events)
    store.close()
    log = ImpressionStore(impressions_path(db))
    log.append(imps)
    log.close()
    return impressions_path(db)


def _value(out: str, name: str) -> tuple[float, float]:
    line = next(line for line in out.splitlines() if line.split()[:1] == [name])
    return float(line.split()[1]), float(line.split()[2])


def test_ope_on_a_servers_own_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _logs(tmp_path)
    obd = tmp_path / "explored.csv"
    assert main(["ope", "--impressions", str(path), "--export-obd", str(obd)]) == 0  # events.db found beside it
    out = capsys.readouterr().out
    assert f"{path}: 3000 lists with explored slots, rewards from {tmp_path / 'events.sqlite'} within 30 min" in out
    assert "explored (the bandit's picks, on-policy)" in out and "displaced (deterministic list's items)" in out
    for name in ("ipw", "snipw", "dr"):
        value, se = _value(out, name)
        assert abs(value - CTR[GREEDY]) < 3.5 * se  # the greedy pick's known click rate
    assert "note:" not in out and f"wrote 3000 explored slots to {obd}" in out
    assert main(["ope", "--logs", str(obd), "--n-sim", "200", "--folds", "2"]) == 0  # the OBD reader takes it
    assert "3000 slots" in capsys.readouterr().out


def test_bad_rows_and_missing_logs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _logs(tmp_path, n=50)
    con = sqlite3.connect(path)
    con.execute("UPDATE impressions SET propensity = '[2.0]' WHERE seq = 7")
    con.commit()
    con.close()
    assert main(["ope", "--impressions", str(path), "--min-slots", "10"]) == 0
    out = capsys.readouterr().out
    assert f"skipped: {path}: row 7: field 'propensity': must be a JSON array of probabilities" in out
    assert "49 lists with explored slots" in out and "too little overlap" in out
    assert main(["ope", "--impressions", str(path), "--strict"]) == 2
    assert "row 7: field 'propensity'" in capsys.readouterr().err
    other = tmp_path / "x.sqlite"
    path.rename(other)
    assert main(["ope", "--impressions", str(other)]) == 2
    assert "give --events-db" in capsys.readouterr().err
    assert main(["ope", "--impressions", str(other), "--events-db", str(tmp_path / "none.db")]) == 2
    assert "none.db: no such file" in capsys.readouterr().err
    assert main(["ope"]) == 2 and "give one of --logs" in capsys.readouterr().err


def test_events_db_alone_finds_the_impression_log_beside_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--impressions' help says its default is beside --events-db: `ope --events-db X` reads X's."""
    path = _logs(tmp_path, n=50)
    db = tmp_path / "events.sqlite"
    assert main(["ope", "--events-db", str(db), "--min-slots", "10"]) == 0
    assert f"{path}: 50 lists with explored slots, rewards from {db}" in capsys.readouterr().out
    assert main(["ope", "--events-db", "nats://localhost:4222/x"]) == 2  # no file to put one beside
    assert "give --impressions" in capsys.readouterr().err


def test_events_with_a_request_id_are_counted_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _logs(tmp_path, n=50)
    store = EventStore(tmp_path / "events.sqlite")
    store.append(
        [
            Event("u3", EventType.CLICK, 31.0, "m0", request_id="r3"),  # r3 showed m0 to u3: exact
            Event("u3", EventType.CLICK, 32.0, "m1", request_id="r-not-logged"),  # another list: not credited
        ]
    )
    store.close()
    assert main(["ope", "--impressions", str(path), "--min-slots", "10"]) == 0
    out = capsys.readouterr().out
    assert "events with a request_id: 1 credited their own list exactly, 1 named no logged list" in out
