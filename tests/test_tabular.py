import json
from pathlib import Path

import pytest

from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.errors import DataError, RowError
from shelfwise.events import EventFields, load_events
from shelfwise.tabular import read_rows


def test_non_utf8_row_is_reported_and_others_kept(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_bytes(b"id,title\n1,Jeans\n2,Caf\xe9 mug\n3,Scarf\n")
    rows = list(read_rows(f))
    assert isinstance(rows[1][1], RowError) and rows[1][1].row == 2 and rows[1][1].field == "title"
    res = load_catalog(f)
    assert res.catalog.ids == ["1", "3"] and "UTF-8" in res.errors[0].message


def test_mapping_string_for_tuple_field_and_type_errors(tmp_path: Path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"id": "sku", "title": "name", "description": "desc"}))
    assert ProductFields.from_json(m).description == ("desc",)
    m.write_text(json.dumps({"id": ["a", "b"], "title": "name"}))
    with pytest.raises(ValueError, match="'id' takes one column"):
        ProductFields.from_json(m)
    m.write_text(json.dumps({"user_id": 3}))
    with pytest.raises(ValueError, match="'user_id' must be a column name"):
        EventFields.from_json(m)


def test_explicit_mapping_with_missing_columns(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("sku,name\n1,Jeans\n", encoding="utf-8")
    res = load_catalog(f, ProductFields(id="sku", title="name", description=("desc",), brand=None, price=None,
                                        in_stock=None, category=()))
    assert res.catalog.ids == ["1"] and [(e.row, e.field) for e in res.errors] == [(0, "desc")]
    with pytest.raises(DataError, match="required column"):
        load_catalog(f, ProductFields(id="article_id", title="name"))


def test_non_finite_timestamp_is_a_row_error(tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("user_id,item_id,type,timestamp\nu1,p1,view,nan\nu1,p1,view,inf\nu1,p1,view,5\n", encoding="utf-8")
    res = load_events(f)
    assert len(res.events) == 1 and [(e.row, e.field) for e in res.errors] == [(1, "timestamp"), (2, "timestamp")]
