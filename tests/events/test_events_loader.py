from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.errors import ConfigError
from shelfwise.events import EventFields, EventLog, EventType, load_events, parse_timestamp


def test_bad_rows_named_and_good_rows_kept(tmp_path: Path, tiny_catalog: Catalog) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "user_id,item_id,type,timestamp,session_id,query\n"
        "u1,p1,view,2024-01-01T10:00:00,s1,\n"
        "u1,p1,purchase,1704103200,s1,\n"
        ",p2,view,1704103200,s1,\n"
        "u2,p2,teleport,1704103200,s2,\n"
        "u2,zzz,view,1704103200,s2,\n"
        "u2,,click,1704103200,s2,\n"
        "u2,,query,yesterday,s2,jeans\n"
        "u3,,search,1704103300000,s3,red dress\n",
        encoding="utf-8",
    )
    res = load_events(f, catalog=tiny_catalog)
    assert len(res.events) == 3
    assert [(e.row, e.field) for e in res.errors] == [  # physical line numbers: the header is line 1
        (4, "user_id"),
        (5, "type"),
        (6, "item_id"),
        (7, "item_id"),
        (8, "timestamp"),
    ]
    assert str(res.errors[0]) == f"{f}: line 4: field 'user_id': missing user id"
    assert "not in the catalog" in res.errors[2].message
    q = res.events[-1]
    assert q.type is EventType.QUERY and q.query == "red dress" and q.timestamp == pytest.approx(1704103300.0)


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2018-09-20") == parse_timestamp("2018-09-20T00:00:00Z")
    assert parse_timestamp(1_600_000_000_000) == 1_600_000_000.0
    assert EventType.parse("add_to_cart") is EventType.CART


def test_eventlog_time_order_and_split(tiny_log: EventLog) -> None:
    assert np.all(np.diff(tiny_log.timestamp) >= 0)
    early, late = tiny_log.split_by_time(0.5)
    assert len(early) + len(late) == len(tiny_log)
    assert early.timestamp.max() < late.timestamp.min()
    assert set(tiny_log.item.tolist()) <= set(range(12))


def test_event_csv_row_with_too_few_values_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    f.write_text(
        "user_id,item_id,type,timestamp\nu1,p1,purchase,1704103200\nu2,p2,purchase\nu3,p3,view,1704103300\n",
        encoding="utf-8",
    )
    res = load_events(f)
    assert [e.user_id for e in res.events] == ["u1", "u3"]
    assert [str(e) for e in res.errors] == [
        f"{f}: line 3: field 'timestamp': too few values: 3 for 4 columns (missing 'timestamp')"
    ]


def test_event_mapping_nulls_and_errors_name_the_file(tmp_path: Path) -> None:
    m = tmp_path / "event_fields.json"
    m.write_text(
        '{"user_id": "user_id", "item_id": "product_id", "type": null, "default_type": "purchase",'
        ' "timestamp": "order_ts", "session_id": null, "query": null}'
    )
    spec = EventFields.from_json(m)
    assert (spec.type, spec.session_id, spec.query, spec.default_type) == (None, None, None, "purchase")
    m.write_text('{"item_id": "product_id",\n "type": null}')
    with pytest.raises(ConfigError, match=r"^.*event_fields\.json: 'type' is null and no 'default_type' is set"):
        EventFields.from_json(m)
    m.write_text('{"type": null, "default_type": "teleport"}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: 'default_type': unknown event type 'teleport'"):
        EventFields.from_json(m)
    m.write_text('{\n "user_id": "user_id",\n "timestamp": null\n}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: line 3: 'timestamp' must be a column name .* required"):
        EventFields.from_json(m)
    m.write_text('{\n "user_id": "user_id"\n "item_id": "product_id"\n}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: line 3, column 2: invalid JSON: Expecting ','"):
        EventFields.from_json(m)
    with pytest.raises(FileNotFoundError, match=r"nope\.json: fields mapping file not found"):
        EventFields.from_json(tmp_path / "nope.json")
