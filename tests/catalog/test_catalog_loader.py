import argparse
import json
import re
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Filters, Product, ProductFields, load_catalog
from shelfwise.catalog.loader import _parse_row, _price
from shelfwise.cli.common import load_catalog_arg
from shelfwise.errors import ConfigError, DataError, RowError


def test_csv_bad_rows_reported_good_rows_kept(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(
        "id,title,description,category,brand,price,in_stock\n"
        "a1,Black jeans,Slim fit,Men > Trousers,Acme,49.5,true\n"
        "a2,,No title here,Men > Trousers,Acme,10,true\n"
        "a3,Red dress,Summer,Women/Dresses,Flora,abc,true\n"
        "a4,Belt,Leather,Men > Accessories,Acme,-3,true\n"
        "a5,Scarf,Wool,Women > Accessories,Nordic,,maybe\n"
        "a1,Duplicate,,Men,Acme,1,true\n"
        "a6,Hat,Wool hat,Women > Accessories,Nordic,12,0\n",
        encoding="utf-8",
    )
    res = load_catalog(f)
    # unreadable optional fields are warnings: a3's and a4's prices, a5's stock
    assert [(p.id, p.price) for p in res.catalog.products] == [
        ("a1", 49.5),
        ("a3", None),
        ("a4", None),
        ("a5", None),
        ("a6", 12.0),
    ]
    got = {(e.row, e.field) for e in res.errors}
    assert got == {(3, "title"), (7, "id")}  # physical lines
    assert [(w.row, w.field) for w in res.warnings] == [(4, "price"), (5, "price"), (6, "in_stock")]
    assert all(e.file == str(f) for e in res.errors)
    assert str(res.warnings[0]) == f"{f}: line 4: field 'price': not a price: 'abc' (kept without a price)"
    assert str(res.warnings[1]) == f"{f}: line 5: field 'price': negative price '-3' (kept without a price)"
    assert str(res.errors[-1]) == f"{f}: line 7: field 'id': duplicate id 'a1' (first at line 2)"
    assert res.catalog.products[0].category == ("Men", "Trousers")
    assert [p.in_stock for p in res.catalog.products] == [True, True, True, True, False]


def test_strict_raises_with_every_error(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text('{"id": "x", "title": "ok"}\n{"id": "y"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_catalog(f, strict=True)
    msg = str(exc.value)
    assert f"{f}: line 2: field 'title': missing title" in msg
    assert f"{f}: line 3: field '<row>': invalid JSON at column 1: Expecting value" in msg


def test_field_mapping_and_parquet_roundtrip(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "articles.parquet"
    pq.write_table(
        pa.table(
            {
                "article_id": [1, 2],
                "prod_name": ["Top", "Skirt"],
                "detail_desc": ["Jersey top", None],
                "grp": ["Ladies", "Ladies"],
                "ptype": ["Top", "Skirt"],
                "colour": ["Black", "Red"],
            }
        ),
        src,
    )
    mapping = tmp_path / "fields.json"
    mapping.write_text(
        json.dumps(
            {
                "id": "article_id",
                "title": "prod_name",
                "description": ["detail_desc"],
                "category": ["grp", "ptype"],
                "brand": None,
                "price": None,
                "in_stock": None,
                "attributes": ["colour"],
            }
        )
    )
    cat = load_catalog(src, ProductFields.from_json(mapping)).catalog
    assert cat.ids == ["1", "2"]
    assert cat.products[1].category == ("Ladies", "Skirt")
    assert cat.products[0].attributes == {"colour": "Black"}
    out = tmp_path / "saved.parquet"
    cat.save(out)
    again = Catalog.load(out)
    assert again.products == cat.products


def test_unknown_mapping_key(tmp_path: Path) -> None:
    mapping = tmp_path / "fields.json"
    mapping.write_text(json.dumps({"id": "sku", "title": "name", "colour": "c"}))
    with pytest.raises(ValueError, match="colour"):
        ProductFields.from_json(mapping)


def test_filters(tiny_catalog: Catalog) -> None:
    m = tiny_catalog.mask(Filters(category=("men", "trousers")))
    assert m is not None
    assert {tiny_catalog.ids[i] for i in m.nonzero()[0]} == {"p1", "p2", "p11"}
    m = tiny_catalog.mask(Filters(brands=("Flora",), price_max=60))
    assert m is not None and {tiny_catalog.ids[i] for i in m.nonzero()[0]} == {"p5"}
    m = tiny_catalog.mask(Filters(attributes=(("colour", "black"),), category=("Women",)))
    assert m is not None and {tiny_catalog.ids[i] for i in m.nonzero()[0]} == {"p6"}
    assert tiny_catalog.mask(Filters()) is None
    none = tiny_catalog.mask(Filters(attributes=(("no-such-key", "x"),)))
    assert none is not None and not none.any() and "no-such-key" not in tiny_catalog._attr_cols
    with pytest.raises(ValueError):
        Filters(price_min=10, price_max=5)


# Issue 12, part 3: a new user's Instacart-style CSV catalog (tiny made-up rows).
INSTACART_HEADER = "product_id,product_name,aisle,department\n"


def _instacart_fields(tmp_path: Path, **extra: object) -> ProductFields:
    m = tmp_path / "fields.json"
    mapping = {"id": "product_id", "title": "product_name", "category": ["department", "aisle"]}
    m.write_text(json.dumps({**mapping, "description": None, "brand": None, "price": None, "in_stock": None, **extra}))
    return ProductFields.from_json(m)


def test_null_and_empty_list_mean_no_column(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(INSTACART_HEADER + "1,Chocolate Sandwich Cookies,cookies cakes,snacks\n", encoding="utf-8")
    spec = _instacart_fields(tmp_path, attributes=None)  # "description": null copied from the H&M example
    assert spec.description == () and spec.attributes == () and spec.brand is None and spec.price is None
    assert _instacart_fields(tmp_path, description=[]) == spec
    assert ProductFields(id="product_id", title="product_name", description=None).description == ()  # type: ignore[arg-type]
    res = load_catalog(f, spec)
    assert res.errors == []
    p = res.catalog.products[0]
    assert (p.title, p.description, p.category, p.brand) == (
        "Chocolate Sandwich Cookies",
        "",
        ("snacks", "cookies cakes"),
        "",
    )


def test_csv_rows_with_too_few_or_too_many_values(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(
        INSTACART_HEADER
        + "1,Cookies,cookies cakes,snacks\n2,Spring Water\n3,Granola,cereal,breakfast,extra\n4,Tea,tea,beverages\n",
        encoding="utf-8",
    )
    res = load_catalog(f, _instacart_fields(tmp_path))
    assert res.catalog.ids == ["1", "4"]
    assert [str(e) for e in res.errors] == [
        f"{f}: line 3: field 'aisle': too few values: 2 for 4 columns (missing 'aisle', 'department')",
        f"{f}: line 4: field '<row>': too many values: 5 for 4 columns (an unquoted ',' inside a value?)",
    ]


def test_unclosed_quote_is_reported_and_the_next_products_kept(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(
        INSTACART_HEADER
        + '1,"Chocolate Sandwich Cookies,cookies cakes,snacks\n'  # the quote is never closed
        + "2,All-Seasons Salt,spices seasonings,pantry\n"
        + '3,"Robust Golden Unsweetened Oolong Tea",tea,beverages\n'
        + "4,Smart Ones Lasagna,frozen meals,frozen\n",
        encoding="utf-8",
    )
    res = load_catalog(f, _instacart_fields(tmp_path))
    assert res.catalog.ids == ["2", "3", "4"]  # nothing after the bad quote is lost or merged
    assert all("\n" not in p.title for p in res.catalog.products)
    assert [str(e) for e in res.errors] == [
        f"{f}: line 2: field 'product_name': unclosed quote: the quoted value opened on this line is still open at "
        "line 4; the lines after this one are read as rows of their own"
    ]


def test_quote_left_open_to_the_end_of_the_file(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(INSTACART_HEADER + '1,"Cookies,cookies cakes,snacks\n2,Salt,spices,pantry\n', encoding="utf-8")
    res = load_catalog(f, _instacart_fields(tmp_path))
    assert res.catalog.ids == ["2"]
    assert str(res.errors[0]).startswith(
        f"{f}: line 2: field 'product_name': unclosed quote: the quoted value opened on this line is still open "
        "at the end of the file"
    )


def test_multi_line_quoted_description_is_allowed(tmp_path: Path) -> None:
    f = tmp_path / "products.csv"
    f.write_text(
        'id,title,description,price\n1,Jeans,"Slim fit.\nMachine wash, cold",49\n2,Belt,Leather,10\n', encoding="utf-8"
    )
    res = load_catalog(f)
    assert res.errors == [] and res.catalog.ids == ["1", "2"]
    assert res.catalog.products[0].description == "Slim fit.\nMachine wash, cold"


def test_parquet_errors_name_the_row_index(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "products.parquet"
    pq.write_table(pa.table({"id": ["1", "2", "3"], "title": ["Tea", None, "Salt"]}), f)
    res = load_catalog(f)
    assert res.catalog.ids == ["1", "3"]
    assert str(res.errors[0]) == f"{f}: row 2: field 'title': missing title (1-based Parquet row index)"


def test_fields_file_errors_name_the_file(tmp_path: Path) -> None:
    m = tmp_path / "fields.json"
    with pytest.raises(FileNotFoundError, match=r"fields\.json: fields mapping file not found"):
        ProductFields.from_json(m)
    m.write_text('{\n  "id": "product_id",\n  "title": "product_name",\n}\n')
    with pytest.raises(ConfigError) as exc:
        ProductFields.from_json(m)
    assert str(exc.value) == (
        f"{m}: line 4, column 1: invalid JSON: Expecting property name enclosed in double quotes (a trailing comma?)"
    )
    assert (exc.value.file, exc.value.line, exc.value.column) == (str(m), 4, 1)
    m.write_text('{\n  "id": "product_id",\n  "title": null\n}\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(m))}: line 3: 'title' must be a column name"):
        ProductFields.from_json(m)
    m.write_text('{\n  "id": "product_id",\n  "title": "product_name",\n  "descripton": "x"\n}\n')
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(m))}: line 4: unknown .* 'descripton' \(did you mean"):
        ProductFields.from_json(m)


def test_infinite_price_is_a_warning_and_numeric_in_stock_is_read(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "p.csv"
    f.write_text("id,title,price\na,Hat,1e400\nb,Coat,inf\nc,Scarf,12\n", encoding="utf-8")
    res = load_catalog(f)
    assert [(p.id, p.price) for p in res.catalog.products] == [("a", None), ("b", None), ("c", 12.0)]
    assert res.errors == [] and [str(e) for e in res.warnings] == [
        f"{f}: line 2: field 'price': not a price: '1e400' (kept without a price)",
        f"{f}: line 3: field 'price': not a price: 'inf' (kept without a price)",
    ]
    pf = tmp_path / "inf.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "title": ["Hat", "Coat"], "price": [float("inf"), -2.0]}), pf)
    res = load_catalog(pf)
    assert [(p.id, p.price) for p in res.catalog.products] == [("a", None), ("b", None)]
    assert [str(e) for e in res.warnings] == [
        f"{pf}: row 1: field 'price': not a finite number: inf (kept without a price) (1-based Parquet row index)",
        f"{pf}: row 2: field 'price': negative price -2.0 (kept without a price) (1-based Parquet row index)",
    ]
    pf = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "title": ["Hat", "Coat", "Cap"], "in_stock": [1.0, 0.0, 2.0]}), pf)
    res = load_catalog(pf)
    # a stock count (2.0): in stock
    assert [(p.id, p.in_stock) for p in res.catalog.products] == [("a", True), ("b", False), ("c", True)]
    assert res.errors == [] and res.warnings == []


def test_a_nan_stock_cell_reads_as_empty(tmp_path: Path) -> None:
    """A float stock column with NaN where the count is missing (a pandas export writes NaN, not null):
    an empty cell, in stock by default, with no warning ("not a stock value: nan")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = tmp_path / "p.parquet"
    stock = pa.array([3.0, float("nan"), 0.0, None], type=pa.float64())
    pq.write_table(
        pa.table({"id": ["a", "b", "c", "d"], "title": ["Hat", "Coat", "Cap", "Scarf"], "in_stock": stock}), pf
    )
    res = load_catalog(pf)
    got = [(p.id, p.in_stock) for p in res.catalog.products]
    assert got == [("a", True), ("b", True), ("c", False), ("d", True)]
    assert res.errors == [] and res.warnings == []


def test_nested_values_are_row_errors_and_a_boolean_price_a_warning(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(
        '{"id": "a", "title": "Hat", "category": ["Men", "Hats"], "price": "12.5"}\n'
        '{"id": "b", "title": {"en": "Cap"}}\n'
        '{"id": "c", "title": "Scarf", "price": true}\n'
        '{"id": "d", "title": "Coat", "brand": ["Acme"]}\n',
        encoding="utf-8",
    )
    res = load_catalog(f)
    assert [(p.id, p.category, p.price) for p in res.catalog.products] == [
        ("a", ("Men", "Hats"), 12.5),
        ("c", (), None),
    ]
    assert [str(e) for e in res.errors] == [
        f"{f}: line 2: field 'title': must be text or a number, got dict",
        f"{f}: line 4: field 'brand': must be text or a number, got list",
    ]
    assert [str(e) for e in res.warnings] == [f"{f}: line 3: field 'price': not a number: True (kept without a price)"]


def test_default_mapping_on_a_file_without_id_or_title_names_its_columns(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("sku,name,price\nt1,Hat,3\nt2,Cap,4\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_catalog(f)  # every row would fail: one error naming the file's columns, not one per row
    assert str(exc.value).splitlines()[0] == (
        f"{f}: no column 'id', 'title'; its columns are ['name', 'price', 'sku']: "
        "map them with a fields file (--fields, e.g. data/hm/catalog_fields.json)"
    )
    assert [(e.row, e.field) for e in exc.value.errors] == [(0, "id"), (0, "title")]
    res = load_catalog(f, ProductFields(id="sku", title="name", description=(), category=(), brand=None))
    assert [p.id for p in res.catalog.products] == ["t1", "t2"]
    assert [(e.row, e.field) for e in res.errors] == [(0, "in_stock")]  # an explicit mapping's absent column


def test_prices_with_currency_signs_are_read(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        'id,title,price\na,Hat,$3.50\nb,Cap,12 €\nc,Mug,45元\nd,Pen,¥199\ne,Ink,"1,5"\nf,Box,$\n'
        'g,Sofa,"$1,299.00"\nh,Bed,"1.299,00 €"\ni,Lamp,"1,500"\n',
        encoding="utf-8",
    )
    res = load_catalog(f)
    assert [(p.id, p.price) for p in res.catalog.products] == [
        ("a", 3.5),
        ("b", 12.0),
        ("c", 45.0),
        ("d", 199.0),
        ("e", 1.5),  # a comma before one or two digits can only be a decimal comma
        ("f", None),
        ("g", 1299.0),
        ("h", 1299.0),
        ("i", None),
    ]
    assert res.errors == [] and [str(e) for e in res.warnings] == [
        f"{f}: field 'price': price cells show both decimal marks (line 2: '$3.50', a decimal point; line 6: '1,5', "
        "a decimal comma): an ambiguous one such as '1,500' is read alone",  # so '1,500' is not guessed
        f"{f}: line 7: field 'price': not a price: '$' (kept without a price)",
        f"{f}: line 10: field 'price': ambiguous: '1,500' reads 1.500 with a decimal comma, 1500 with a thousands one "
        "(kept without a price)",
    ]


def test_an_unreadable_price_keeps_the_product_and_common_forms_are_read(tmp_path: Path) -> None:
    """A bad price dropped the whole product (a bad stock value keeps it, with a warning); currency
    codes ("12.99 USD", "CNY 59") and prefixed signs ("US$12.99", "CN¥59") were not read."""
    f = tmp_path / "p.csv"
    rows = ["$12.99", "¥59", "59元", "12.99 USD", "USD 12.99", "US$12.99", "CN¥59", "RMB 59", "€ 1.299,00", "abc"]
    rows += ["12 pcs", "10-20"]
    f.write_text("id,title,price\n" + "".join(f'p{i},Item {i},"{v}"\n' for i, v in enumerate(rows)), encoding="utf-8")
    res = load_catalog(f)
    want = [12.99, 59.0, 59.0, 12.99, 12.99, 12.99, 59.0, 59.0, 1299.0, None, None, None]
    assert [p.price for p in res.catalog.products] == want and res.errors == []
    rows = [(w.row, w.field) for w in res.warnings]  # row 0: the file shows both decimal marks
    assert rows == [(0, "price"), (11, "price"), (12, "price"), (13, "price")]
    assert str(res.warnings[2]) == f"{f}: line 12: field 'price': not a price: '12 pcs' (kept without a price)"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("12.5", 12.5),
        ("10,50", 10.5),
        ("1 299,50", 1299.5),
        ("1,234.5", 1234.5),
        ("1,299,000", 1299000.0),
        ("1.299.000", 1299000.0),
        ("1 299", 1299.0),
        ("₹ 2,499.00", 2499.0),
        ("1,500", None),  # decimal comma or thousands separator: refused, not guessed
        ("￥1,299", None),
        ("1.500", 1.5),  # one dot: a decimal point, as every reader of numbers takes it
        ("12.99 usd", 12.99),
        ("R$ 12,99", 12.99),
        ("12,99 zł", 12.99),
        ("$ 12.99 USD", 12.99),
        (".99", 0.99),
        ("12_000", None),  # Python's float() reads it: no export writes it
        ("0x10", None),
        ("USD", None),
        ("12.50/件", None),
        ("1,2,3", None),
        ("1,5.00", None),
        ("12.34.5", None),
    ],
)
def test_price_separators_read_only_where_unambiguous(text: str, want: float | None) -> None:
    if want is None:
        with pytest.raises(ValueError):
            _price(text)
    else:
        assert _price(text) == want


def test_parse_row_reports_a_dropped_image_into_the_warnings_it_is_given() -> None:
    """``warnings`` is required (every caller has a list): a bad image is left out and reported there."""
    warnings: list[RowError] = []
    bad = _parse_row({"id": "a", "title": "Jeans", "image": "ftp://x/a.jpg"}, ProductFields(), "f.csv", 2, warnings)
    good = _parse_row({"id": "b", "title": "Dress", "image": "/b.png"}, ProductFields(), "f.csv", 3, warnings)
    assert isinstance(bad, Product) and bad.image == "" and isinstance(good, Product) and good.image == "/b.png"
    assert [(w.file, w.row, w.field) for w in warnings] == [("f.csv", 2, "image")]
    assert "kept without it" in warnings[0].message


def test_stock_words_counts_and_unreadable_stock_keep_the_product(tmp_path: Path) -> None:
    """A Chinese export's 有/无货, a stock count (Shopify's inventory quantity), Google Merchant's
    availability words are read; a stock cell that is none of these keeps the product (in stock, as an
    empty cell) with a warning naming file, line and field: the product itself is good."""
    f = tmp_path / "goods.csv"
    f.write_text(
        "编号,名称,库存\n"
        "a,T恤,有\nb,牛仔裤,无货\nc,Hat,12\nd,Coat,0\ne,Cap,-2\nf,Scarf,out of stock\n"
        "g,Belt,https://schema.org/InStock\nh,Sock,preorder\ni,Tie,maybe\nj,Bag,售罄\n",
        encoding="utf-8",
    )
    res = load_catalog(f, ProductFields(id="编号", title="名称", in_stock="库存", brand=None, price=None))
    stock = {p.id: p.in_stock for p in res.catalog.products}
    assert stock == {
        "a": True,
        "b": False,
        "c": True,
        "d": False,
        "e": False,
        "f": False,
        "g": True,
        "h": True,
        "i": True,
        "j": False,
    }
    assert [e for e in res.errors if e.row > 0] == []
    assert [str(w) for w in res.warnings] == [
        f"{f}: line 10: field '库存': not a stock value: 'maybe' (kept as in stock, as an empty cell)"
    ]


@pytest.mark.parametrize("text", ["", "id,title\n"])
def test_an_empty_catalog_file_says_so(tmp_path: Path, text: str) -> None:
    f = tmp_path / "products.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="no products: the file is empty or holds only its header"):
        load_catalog(f)


def test_a_key_the_mapping_leaves_out_is_named_as_a_default_not_as_mapped(tmp_path: Path) -> None:
    """{"id": ..., "title": ...} alone: the other keys keep their default column names, which this
    export lacks; the report said "mapped column not in file" for columns the user never mapped."""
    f = tmp_path / "goods.csv"
    f.write_text("编号,名称,品牌\n1,牛仔裤,蓝途\n", encoding="utf-8")
    m = tmp_path / "fields.json"
    m.write_text('{"id": "编号", "title": "名称", "brand": "牌子"}', encoding="utf-8")
    res = load_catalog(f, ProductFields.from_json(m))
    said = {e.field: e.message for e in res.columns}
    assert said["牌子"] == "mapped column not in file; that field is left empty"  # mapped by the user
    assert said["description"] == (
        "no such column, the default for 'description' (your mapping names none): that field is left empty; "
        'set "description": null to say the file has none'
    )
    assert set(said) == {"牌子", "description", "category", "price", "in_stock"} and len(res.catalog) == 1


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("129.000 ₫", 129000.0),  # read 129.0: a thousandth of the price, silently
        ("VND 129.000", 129000.0),
        ("₩12,000", 12000.0),  # refused as ambiguous, though the won has no decimals
        ("12,000 KRW", 12000.0),
        ("1,299円", 1299.0),
        ("JPY 1,299", 1299.0),
        ("JP¥1,299", 1299.0),
        ("-₩12,000", -12000.0),  # negative: the loader warns (kept without a price)
        ("₩12000", 12000.0),
        ("¥1,299", None),  # yuan or yen: still not guessed
        ("1.500 €", 1.5),  # a currency with cents: as before
    ],
)
def test_a_currency_without_minor_units_reads_a_separator_before_three_digits_as_thousands(
    text: str, want: float | None
) -> None:
    """Yen, won and dong have no minor unit (ISO 4217 exponent 0): "129.000 ₫" is 129,000 dong and
    "₩12,000" twelve thousand won; neither can be a decimal."""
    if want is None:
        with pytest.raises(ValueError):
            _price(text)
    else:
        assert _price(text) == want


def test_a_price_cell_of_spaces_is_an_empty_cell(tmp_path: Path) -> None:
    """The stock column reads a cell of spaces as empty (no warning); the price column warned 'not a
    price' on every such row."""
    f = tmp_path / "p.csv"
    f.write_text("id,title,price,in_stock\na,Hat,  ,  \nb,Cap,\u00a0,yes\n", encoding="utf-8")
    res = load_catalog(f)
    assert [p.price for p in res.catalog.products] == [None, None] and res.errors == [] and res.warnings == []


def test_a_minus_before_the_currency_sign_is_a_negative_price(tmp_path: Path) -> None:
    """'-$12.99' warned 'not a price' where '$-12.99' and '-12.99 USD' warned 'negative price': the same
    refund row, told apart by where the export put its minus."""
    f = tmp_path / "p.csv"
    f.write_text('id,title,price\na,Hat,-$12.99\nb,Cap,"- € 5"\nc,Mug,$-12.99\nd,Pen,+$5\n', encoding="utf-8")
    res = load_catalog(f)
    assert [p.price for p in res.catalog.products] == [None, None, None, 5.0] and res.errors == []
    assert [w.message for w in res.warnings] == [
        "negative price '-$12.99' (kept without a price)",
        "negative price '- € 5' (kept without a price)",
        "negative price '$-12.99' (kept without a price)",
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("₹1,29,999.00", 129999.0),
        ("Rs. 1,29,999", 129999.0),
        ("INR 12,34,567.50", 1234567.5),
        ("1,29,999", 129999.0),  # no other reading: groups of two before the last three are lakh grouping
        ("-₹1,29,999", -129999.0),
        ("₹ 99,999", None),  # one comma before three digits: 99.999 or 99999, as "1,500"
        ("1,2,999", None),  # a one-digit group: not a grouping
        ("1,29,99", None),  # the last group must hold three
        ("1,29,999,00", None),
    ],
)
def test_indian_digit_grouping_reads_as_one_amount(text: str, want: float | None) -> None:
    """Indian prices group lakhs and crores in twos ("₹1,29,999.00", one lakh twenty-nine thousand...);
    they were 'not a price' and the product lost its price."""
    if want is None:
        with pytest.raises(ValueError):
            _price(text)
    else:
        assert _price(text) == want


def _prices(tmp_path: Path, cells: list[str]) -> tuple[list[float | None], list[str]]:
    f = tmp_path / "p.csv"
    f.write_text("id,title,price\n" + "".join(f'p{i},Item {i},"{v}"\n' for i, v in enumerate(cells)), encoding="utf-8")
    res = load_catalog(f)
    assert res.errors == []
    return [p.price for p in res.catalog.products], [str(w).removeprefix(f"{f}: ") for w in res.warnings]


def test_a_files_decimal_mark_reads_its_ambiguous_prices(tmp_path: Path) -> None:
    """A German export's '1.299' (1299 EUR beside '12,99' and '1.299,00 €') read 1.299, silently, and
    its '1,500' was refused; a US export's '1,500' beside '12.99' was refused too. A file whose
    unambiguous cells show one decimal mark now reads its ambiguous ones with it, and says so once."""
    de, said = _prices(tmp_path, ["12,99", "1.299,00 €", "1.299", "999.000 €", "1,500", "129.000 ₫", "4,5"])
    assert de == [12.99, 1299.0, 1299.0, 999000.0, 1.5, 129000.0, 4.5]
    assert said == [
        "field 'price': read 3 ambiguous prices with the file's decimal comma (3 of 3 clear cells, as line 2: "
        "'12,99'), e.g. line 4: '1.299' as 1,299.00"
    ]
    us, said = _prices(tmp_path, ["12.99", "$1,299.00", "1,500", "1.299", "4.5"])
    assert us == [12.99, 1299.0, 1500.0, 1.299, 4.5]
    assert said == [
        "field 'price': read 1 ambiguous price with the file's decimal point (3 of 3 clear cells, as line 2: "
        "'12.99'), e.g. line 4: '1,500' as 1,500.00"
    ]
    mixed, said = _prices(tmp_path, ["12,99", "12.99", "1,500", "1.299"])  # each ambiguous cell read alone
    assert mixed == [12.99, 12.99, None, 1.299]
    assert said == [
        "field 'price': price cells show both decimal marks (line 2: '12,99', a decimal comma; line 3: '12.99', "
        "a decimal point): an ambiguous one such as '1,500' is read alone",
        "line 4: field 'price': ambiguous: '1,500' reads 1.500 with a decimal comma, 1500 with a thousands one "
        "(kept without a price)",
    ]
    alone, said = _prices(tmp_path, ["10", "1,500", "-1,500"])  # no mark shown: as before
    assert alone == [10.0, None, None] and len(said) == 2 and "ambiguous" in said[0] and "ambiguous" in said[1]


def test_a_decimal_point_shows_beside_spaced_thousands_as_a_decimal_comma_does(tmp_path: Path) -> None:
    """'1 299,00' (thousands spaced: French, Nordic) read 1299 and showed the file's decimal comma, but
    '1 299.00' (spaced: SI, Canada, South Africa) and "CHF 1'299.00" (Swiss) were 'not a price' (the
    product lost its price) and showed no decimal point, so the file's '1,500' was refused where a
    file with '12.99' reads 1500."""
    for shown in ["1 299.00", "1\u00a0299.00", "1\u202f299.5", "CHF 1'299.00", "ZAR 1 299.00", "1 299 000.00"]:
        got, said = _prices(tmp_path, [shown, shown, shown, "1,500"])  # MIN_CLEAR cells showing it
        assert got == [float(re.sub(r"[^\d.]", "", shown))] * 3 + [1500.0], (shown, said)
    comma, _ = _prices(tmp_path, ["1 299,00", "1 299,00", "1 299,00", "1.299"])  # the comma side, as before
    assert comma == [1299.0, 1299.0, 1299.0, 1299.0]


def test_the_cli_says_a_file_wide_price_note_apart_from_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "p.csv"
    rows = 'a,Hat,"12,99"\nb,Cap,"1.299"\nc,Mug,abc\nd,Pen,"2,5"\ne,Ink,"3,5"\n'
    f.write_text("id,title,price\n" + rows, encoding="utf-8")
    load_catalog_arg(argparse.Namespace(catalog=f, fields=None))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"warning: {f}: field 'price': read 1 ambiguous price with the file's decimal comma")
    assert out[1] == f"{f}: kept 1 row without a bad optional field; first ones:"


def test_a_files_decimal_mark_needs_several_agreeing_clear_cells(tmp_path: Path) -> None:
    """One '1,5' decided every ambiguous cell of the file: '1.299' and '999.000' beside it read 1299 and
    999000. A convention now needs MIN_CLEAR clear cells, AGREE of them showing the same mark; with
    fewer, or no clear majority, each ambiguous cell reads alone ('1,500' unread, with its warning)."""
    one, said = _prices(tmp_path, ["1,5", "1.299", "999.000", "1,500"])
    assert one == [1.5, 1.299, 999.0, None]
    assert said[0].startswith("field 'price': too few price cells show a decimal mark to read the ambiguous ones")
    assert said[1:] == [
        "line 5: field 'price': ambiguous: '1,500' reads 1.500 with a decimal comma, 1500 with a thousands one "
        "(kept without a price)"
    ]
    three, said = _prices(tmp_path, ["1,5", "2,25", "3,99", "1.299"])  # MIN_CLEAR agreeing: read with it
    assert three == [1.5, 2.25, 3.99, 1299.0] and "3 of 3 clear cells" in said[0]
    most = ["12.99"] * 10 + ["1,5", "1,500"]  # 10 of 11 (91%) agree: the decimal point
    got, said = _prices(tmp_path, most)
    assert got[-1] == 1500.0 and "10 of 11 clear cells" in said[0]
    split = ["12.99"] * 9 + ["1,5", "2,5", "1,500"]  # 9 of 11 (82%): both marks, read alone
    got, said = _prices(tmp_path, split)
    assert got[-1] is None and said[0].startswith("field 'price': price cells show both decimal marks")
