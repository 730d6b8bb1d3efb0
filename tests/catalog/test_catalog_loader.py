import json
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Filters, ProductFields, load_catalog
from shelfwise.errors import DataError


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
    assert [p.id for p in res.catalog.products] == ["a1", "a6"]
    got = {(e.row, e.field) for e in res.errors}
    assert got == {(2, "title"), (3, "price"), (4, "price"), (5, "in_stock"), (6, "id")}
    assert all(e.file == str(f) for e in res.errors)
    assert "row 3" in str(res.errors[1]) and "price" in str(res.errors[1])
    assert res.catalog.products[0].category == ("Men", "Trousers")
    assert res.catalog.products[1].in_stock is False


def test_strict_raises_with_every_error(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text('{"id": "x", "title": "ok"}\n{"id": "y"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_catalog(f, strict=True)
    msg = str(exc.value)
    assert "row 2" in msg and "title" in msg and "row 3" in msg and "invalid JSON" in msg


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
