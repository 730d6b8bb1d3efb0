"""The memory-lean catalog load (streamed Parquet batches, one string per repeated value, slotted
products) gives the same products and filters as parsing each row on its own."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shelfwise.catalog import Catalog, Filters, ProductFields, load_catalog
from shelfwise.catalog.loader import _parse_row
from shelfwise.tabular import read_rows

ROWS = [
    {"id": f"p{i}", "title": f"Item {i}", "category": ["Home > Paint", "Grocery > Frozen", "Fashion"][i % 3],
     "brand": ["Behr", "", "ACME"][i % 3], "price": float(i % 7), "colour": ["Black", "Grey"][i % 2],
     "size": "" if i % 5 == 0 else f"{i % 4}-pack"}
    for i in range(40)
]  # fmt: skip
FIELDS = ProductFields(description=(), attributes=("colour", "size"), category_separators=(" > ",), in_stock=None)


def _write(tmp_path: Path) -> Path:
    f = tmp_path / "catalog.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), f, row_group_size=7)  # several row groups
    return f


def test_same_products_as_row_by_row_parse(tmp_path: Path) -> None:
    f = _write(tmp_path)
    loaded = load_catalog(f, FIELDS)
    whole = pq.read_table(f).to_pylist()  # the whole table at once, as the loader read it before
    alone = [_parse_row(rec, FIELDS, str(f), row, []) for row, rec in enumerate(whole, 1)]
    assert loaded.errors == [] and loaded.catalog.products == alone
    assert [rec for _, rec in read_rows(f)] == whole
    assert [p.text() for p in loaded.catalog.products] == [p.text() for p in alone]  # type: ignore[union-attr]


def test_repeated_values_are_one_object(tmp_path: Path) -> None:
    products = load_catalog(_write(tmp_path), FIELDS).catalog.products
    a, b = products[0], products[6]  # same category, brand and colour
    assert a.category == b.category and all(x is y for x, y in zip(a.category, b.category, strict=True))
    assert a.brand is b.brand and a.attributes["colour"] is b.attributes["colour"]
    assert not hasattr(a, "__dict__")


def test_filters_unchanged(tmp_path: Path) -> None:
    cat = load_catalog(_write(tmp_path), FIELDS).catalog
    plain = Catalog([_parse_row(r, FIELDS, "x", i, []) for i, r in enumerate(ROWS, 1)])  # type: ignore[misc]
    for flt in (
        Filters(category=("Home",)),
        Filters(brands=("acme",)),
        Filters(attributes=(("colour", "black"),)),
        Filters(price_max=3.0, category=("Grocery", "Frozen")),
    ):
        assert np.array_equal(cat.mask(flt), plain.mask(flt)), flt
    assert json.dumps(sorted(cat.attribute_column("size").tolist())) == json.dumps(
        sorted(plain.attribute_column("size").tolist())
    )
