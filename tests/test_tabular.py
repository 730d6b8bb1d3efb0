import json
from pathlib import Path

import pytest

from shelfwise.catalog import ProductFields, load_catalog
from shelfwise.errors import ConfigError, DataError, RowError
from shelfwise.eval.judgments import load_judgments
from shelfwise.events import EventFields, load_events
from shelfwise.tabular import read_rows


def test_non_utf8_row_is_reported_and_others_kept(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_bytes(b"id,title\n1,Jeans\n2,Caf\xe9 mug\n3,Scarf\n")
    rows = list(read_rows(f))
    assert isinstance(rows[1][1], RowError) and rows[1][1].row == 3 and rows[1][1].field == "title"
    assert str(rows[1][1]) == f"{f}: line 3: field 'title': not valid UTF-8 text"
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
    res = load_catalog(
        f,
        ProductFields(
            id="sku", title="name", description=("desc",), brand=None, price=None, in_stock=None, category=()
        ),
    )
    assert res.catalog.ids == ["1"] and [(e.row, e.field) for e in res.errors] == [(0, "desc")]
    with pytest.raises(DataError, match="no column 'article_id'; its columns are"):
        load_catalog(f, ProductFields(id="article_id", title="name"))


def test_non_finite_timestamp_is_a_row_error(tmp_path: Path) -> None:
    f = tmp_path / "e.csv"
    f.write_text("user_id,item_id,type,timestamp\nu1,p1,view,nan\nu1,p1,view,inf\nu1,p1,view,5\n", encoding="utf-8")
    res = load_events(f)
    assert len(res.events) == 1 and [(e.row, e.field) for e in res.errors] == [(2, "timestamp"), (3, "timestamp")]


def _read(f: Path) -> list[tuple[int, object]]:
    return [(n, str(r) if isinstance(r, RowError) else dict(r)) for n, r in read_rows(f)]


def test_row_numbers_are_physical_lines(tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text('id,title\n\n1,"Jeans\nslim"\n2,Belt\n', encoding="utf-8")  # blank line, 2-line value
    assert [n for n, _ in read_rows(csv_file)] == [3, 5]
    tsv_file = tmp_path / "p.tsv"
    tsv_file.write_text("id\ttitle\n1\tJeans\n2\n", encoding="utf-8")
    assert _read(tsv_file)[1] == (
        3,
        f"{tsv_file}: line 3: field 'title': too few values: 1 for 2 columns (missing 'title')",
    )
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"id": 1}\n\n{"id": 2, "title": "a\u2028b"}\n[1]\n', encoding="utf-8")
    assert _read(jsonl) == [
        (1, {"id": 1}),
        (3, {"id": 2, "title": "a\u2028b"}),  # U+2028 inside a string is not a line break
        (4, f"{jsonl}: line 4: field '<row>': not a JSON object"),
    ]
    array = tmp_path / "p.json"
    array.write_text('[\n  {"id": 1},\n\n  {"id": 2}, 3\n]\n', encoding="utf-8")
    assert _read(array) == [(2, {"id": 1}), (4, {"id": 2}), (4, f"{array}: line 4: field '<row>': not a JSON object")]
    array.write_text('[\n  {"id": 1},\n  {"id": 2\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"p\.json: line 4: field '<file>': invalid JSON at column 1: Expecting ','"):
        list(read_rows(array))


def test_csv_value_count_must_match_the_header(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("id,title,price\n1,Jeans,10\n2,Belt\n3,Hat,5,wool\n4,Cap,7\n", encoding="utf-8")
    assert _read(f) == [
        (2, {"id": "1", "title": "Jeans", "price": "10"}),
        (3, f"{f}: line 3: field 'price': too few values: 2 for 3 columns (missing 'price')"),
        (4, f"{f}: line 4: field '<row>': too many values: 4 for 3 columns (an unquoted ',' inside a value?)"),
        (5, {"id": "4", "title": "Cap", "price": "7"}),
    ]


def test_semicolon_and_tab_delimited_csv_are_read(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"  # as spreadsheets in many locales save "CSV"
    f.write_bytes('\ufeffid;title;price\n1;Jeans, slim;10\n2;"Belt; brown";5\n3;Hat\n'.encode())
    assert _read(f) == [
        (2, {"id": "1", "title": "Jeans, slim", "price": "10"}),
        (3, {"id": "2", "title": "Belt; brown", "price": "5"}),
        (4, f"{f}: line 4: field 'price': too few values: 2 for 3 columns (missing 'price')"),
    ]
    f.write_text("\nid\ttitle\n1\tCap\n", encoding="utf-8")  # a tab-separated file named .csv
    assert _read(f) == [(3, {"id": "1", "title": "Cap"})]
    t = tmp_path / "p.tsv"
    t.write_text("id,title\n1,Cap\n", encoding="utf-8")  # a comma-separated file named .tsv
    assert _read(t) == [(2, {"id": "1", "title": "Cap"})]
    f.write_text("id,title;alt\n1,a;b\n", encoding="utf-8")  # several columns on ',': ',' it stays
    assert _read(f) == [(2, {"id": "1", "title;alt": "a;b"})]
    f.write_text("query\nred; blue\n", encoding="utf-8")  # one column every way: ','
    assert _read(f) == [(2, {"query": "red; blue"})]
    f.write_text("sep=;\nid;title\n1;Cap, wool\n", encoding="utf-8")  # Excel's delimiter hint line
    assert _read(f) == [(3, {"id": "1", "title": "Cap, wool"})]


def test_csv_quote_problems_are_row_errors(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        'id,title,price\n1,"12" monitor",99\n2,"Hat, wool",5\n3,"Jeans,10\n4,Belt,3\n5,Cap,4",\n6,Sock,1\n',
        encoding="utf-8",
    )
    assert _read(f) == [
        (
            2,
            f"{f}: line 2: field 'title': bad quoting (',' expected after '\"'); "
            'write a quote inside a quoted value as ""',
        ),
        (3, {"id": "2", "title": "Hat, wool", "price": "5"}),
        (
            4,
            f"{f}: line 4: field 'title': unclosed quote: the quoted value opened on this line runs on to line 6, "
            "taking in other rows; the lines after this one are read as rows of their own",
        ),
        (5, {"id": "4", "title": "Belt", "price": "3"}),
        (6, f"{f}: line 6: field '<row>': too many values: 4 for 3 columns (an unquoted ',' inside a value?)"),
        (7, {"id": "6", "title": "Sock", "price": "1"}),
    ]


def test_duplicate_header_column_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("id,title,title\n1,Jeans,Shirt\n", encoding="utf-8")
    assert _read(f) == [
        (1, f"{f}: line 1: field 'title': column appears twice in the header; the first one is used"),
        (2, {"id": "1", "title": "Jeans"}),
    ]


def test_mapping_file_errors_name_the_file(tmp_path: Path) -> None:
    m = tmp_path / "event_fields.json"
    with pytest.raises(FileNotFoundError, match=r"event_fields\.json: fields mapping file not found"):
        EventFields.from_json(m)
    m.write_text('{"user_id": "uid",\n "item_id": "sku" "type": "kind"}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: line 2, column 19: invalid JSON: Expecting ','"):
        EventFields.from_json(m)
    m.write_text('{"user_id": "uid",\n "user_id": "customer"}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: line 2: key 'user_id' is given twice"):
        EventFields.from_json(m)
    m.write_text("[]")
    with pytest.raises(ConfigError, match=r"event_fields\.json: expected a JSON object .* got an array"):
        EventFields.from_json(m)
    m.write_bytes(b'{"user_id": "\xe9"}')
    with pytest.raises(ConfigError, match=r"event_fields\.json: not UTF-8 text \(byte 13\)"):
        EventFields.from_json(m)
    m.write_bytes(b'\xef\xbb\xbf{"user_id": "uid"}')  # a BOM, as Windows Notepad writes it, is fine
    assert EventFields.from_json(m).user_id == "uid"


def test_judgments_rows_use_the_same_reader(tmp_path: Path) -> None:
    q = tmp_path / "queries.csv"
    q.write_text('query_id,query\n1,black jeans\n2,"red dress\n3,wool hat\n', encoding="utf-8")
    j = tmp_path / "judgments.tsv"
    j.write_text("query_id\titem_id\tgrade\n1\tp1\t2\n3\tp9\n3\tp2\t1\n", encoding="utf-8")
    res = load_judgments(q, j)
    assert res.queries == {"1": "black jeans", "3": "wool hat"} and res.relevance == {
        "1": {"p1": 2.0},
        "3": {"p2": 1.0},
    }
    assert [str(e) for e in res.errors] == [
        f"{q}: line 3: field 'query': unclosed quote: the quoted value opened on this line is still open at the end "
        "of the file; the lines after this one are read as rows of their own",
        f"{j}: line 3: field 'grade': too few values: 2 for 3 columns (missing 'grade')",
    ]


def test_missing_columns_are_named_once_in_one_line(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("sku,name\n1,Jeans\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_catalog(f, ProductFields(id="article_id", title="prod_name"))
    msg = str(info.value)
    assert "\n" not in msg.strip(), msg  # no per-column lines repeating the summary
    assert msg.startswith(f"{f}: no column 'article_id', 'prod_name'; its columns are")
    assert msg.count("article_id") == 1 and msg.count("prod_name") == 1 and "['name', 'sku']" in msg
    assert [(e.row, e.field) for e in info.value.errors] == [(0, "article_id"), (0, "prod_name")]


def test_a_chinese_excel_csv_in_gbk_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "商品.csv"  # Excel on Chinese Windows saves "CSV" in GBK, header included
    f.write_bytes("编号,标题,价格\np1,儿童保温杯 吸管,39.9\np2,苹果手机壳（透明）,19\n".encode("gbk"))
    with caplog.at_level("WARNING", logger="shelfwise.tabular"):
        rows = [r for _, r in read_rows(f)]
    assert rows == [
        {"编号": "p1", "标题": "儿童保温杯 吸管", "价格": "39.9"},
        {"编号": "p2", "标题": "苹果手机壳（透明）", "价格": "19"},
    ]
    assert "GB18030" in caplog.text and str(f) in caplog.text
    res = load_catalog(f, ProductFields(id="编号", title="标题", price="价格"))
    assert res.catalog.ids == ["p1", "p2"] and res.catalog.products[1].price == 19.0
    assert all("UTF-8" not in e.message for e in res.errors)


def test_a_latin1_csv_is_not_taken_for_gbk(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"  # every accent here is followed by a letter, so the bytes do decode as GBK
    f.write_bytes("id,title\n1,Crème brûlée\n2,Pâtés\n".encode("latin-1"))
    rows = [r for _, r in read_rows(f)]
    assert all(isinstance(r, RowError) and r.message == "not valid UTF-8 text" for r in rows)
