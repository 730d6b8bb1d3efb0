"""The optional product image: loaded from a column, validated, saved and reloaded."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.catalog import Catalog, Product, ProductFields, load_catalog
from shelfwise.catalog.schema import is_image_url


def test_image_column_loads_and_round_trips(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "id,title,image\na,Jeans,https://cdn.example/a.jpg\nb,Dress,/img/b.png\nc,Hat,\nd,Belt,javascript:alert(1)\n",
        encoding="utf-8",
    )
    res = load_catalog(f)
    # a bad image is left out, the product kept (its other fields are good), and the row reported
    assert [p.image for p in res.catalog.products] == ["https://cdn.example/a.jpg", "/img/b.png", "", ""]
    assert [p.id for p in res.catalog.products] == ["a", "b", "c", "d"]
    assert res.errors == []
    assert [(e.row, e.field) for e in res.warnings] == [(5, "image")]
    assert "kept without it" in str(res.warnings[0]) and "javascript:alert(1)" in str(res.warnings[0])
    res.catalog.save(tmp_path / "c.parquet")
    assert [p.image for p in Catalog.load(tmp_path / "c.parquet").products] == [p.image for p in res.catalog.products]


def test_mapped_image_column_and_missing_default(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("sku,name,pic\n1,Jeans,https://x.example/1.jpg\n", encoding="utf-8")
    res = load_catalog(f, ProductFields(id="sku", title="name", image="pic", brand=None, price=None, in_stock=None))
    assert res.catalog.products[0].image == "https://x.example/1.jpg"
    # an explicit mapping without an image column is not reported for the default-named one
    res = load_catalog(
        f, ProductFields(id="sku", title="name", description=(), category=(), brand=None, price=None, in_stock=None)
    )
    assert res.errors == [] and res.catalog.products[0].image == ""


def test_catalog_saved_before_the_image_field_still_loads(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "id": ["a"],
                "title": ["Jeans"],
                "description": [""],
                "category": [["Men"]],
                "brand": [""],
                "price": [None],
                "attributes": ["{}"],
                "in_stock": [True],
            }
        ),
        tmp_path / "old.parquet",
    )
    assert Catalog.load(tmp_path / "old.parquet").products[0].image == ""


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.b/c.jpg", True),
        ("/static/x.png", True),
        ("//evil.example/x", False),
        ("data:image/png;base64,x", False),
        ("javascript:x", False),
        ("https://a.b/c d.jpg", False),
        ('https://a.b/"x', False),
    ],
)
def test_image_url_rule(url: str, ok: bool) -> None:
    assert is_image_url(url) is ok
    if not ok:
        with pytest.raises(ValueError, match="image"):
            Product(id="x", title="t", image=url)
