"""A 1M-product catalog for ``bench_million.py``: every real product title found under
../shared/data, plus SYNTHETIC variants of them (clearly labelled).

Real rows (~161k): Home Depot titles (evaluation-only licence: read from ../shared, never copied),
H&M article names, Instacart product names, Complete Journey product text (department, category,
type, package size). Their ids start with the source name (``hd-``, ``hm-``, ``ic-``, ``cj-``) and
their attribute ``origin`` is ``real``.

Synthetic rows fill the rest: a real title recombined with a colour and a size/pack attribute
("... - Navy, 2-pack"), keeping the real row's category and brand, with a made-up price. Ids start
with ``syn``, attribute ``origin`` is ``synthetic``. They stand in for the variant explosion of a
large store (the same product in many colours and sizes): near-duplicate titles, which is the hard
case for ANN recall. Real prices do not exist in these sources, so every price is made up
(real rows get one too, drawn the same way) and only price *filters* use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
COLOURS = (
    "Black", "White", "Navy", "Grey", "Red", "Green", "Beige", "Brown",
    "Blue", "Pink", "Yellow", "Orange", "Silver", "Bronze", "Olive", "Teal",
)  # fmt: skip
SIZES = (
    "Small", "Medium", "Large", "XL", "2-pack", "4-pack", "6-pack", "12-pack",
    "Compact", "Family size", "Travel size", "Value pack",
)  # fmt: skip


def _col(table: pa.Table, name: str) -> list[str]:
    return ["" if v is None else str(v).strip() for v in table.column(name).to_pylist()]


def real_rows() -> dict[str, list[str]]:
    """Columns id, title, category (top > sub, as one string), brand, origin of every real product."""
    out: dict[str, list[str]] = {"id": [], "title": [], "category": [], "brand": []}

    def add(pid: str, title: str, category: str, brand: str) -> None:
        if title:
            out["id"].append(pid)
            out["title"].append(title)
            out["category"].append(category)
            out["brand"].append(brand)

    hd = pq.read_table(SHARED / "homedepot" / "products.parquet")
    for pid, title in zip(_col(hd, "id"), _col(hd, "title"), strict=True):
        add(f"hd-{pid}", title, "Home Improvement", "")
    hm = pq.read_table(
        SHARED / "hm_articles.parquet", columns=["article_id", "prod_name", "product_type_name", "index_group_name"]
    )
    for pid, name, ptype, group in zip(
        _col(hm, "article_id"), _col(hm, "prod_name"), _col(hm, "product_type_name"), _col(hm, "index_group_name"),
        strict=True,
    ):  # fmt: skip
        add(f"hm-{pid}", f"{name} {ptype}".strip(), f"Fashion > {group}", "H&M")
    ic = pq.read_table(SHARED / "insta_repo_products.parquet")
    aisles = pq.read_table(SHARED / "insta_repo_aisles.parquet").to_pydict()
    depts = pq.read_table(SHARED / "insta_repo_departments.parquet").to_pydict()
    aisle = dict(zip(aisles["aisle_id"], aisles["aisle"], strict=True))
    dept = dict(zip(depts["department_id"], depts["department"], strict=True))
    for pid, name, a, d in zip(
        _col(ic, "product_id"), _col(ic, "product_name"), ic.column("aisle_id").to_pylist(),
        ic.column("department_id").to_pylist(), strict=True,
    ):  # fmt: skip
        add(f"ic-{pid}", name, f"Grocery > {dept.get(d, 'other')} > {aisle.get(a, 'other')}", "")
    cj = pq.read_table(SHARED / "cj_products.parquet")
    for pid, d, b, c, t, s in zip(
        _col(cj, "product_id"), _col(cj, "department"), _col(cj, "brand"), _col(cj, "product_category"),
        _col(cj, "product_type"), _col(cj, "package_size"), strict=True,
    ):  # fmt: skip
        title = " ".join(x for x in (t.title(), c.title(), s) if x)
        add(f"cj-{pid}", title, f"Grocery > {d.title() or 'Other'}", b)
    return out


def million_table(n: int, seed: int = 0) -> tuple[pa.Table, int]:
    """``n`` rows: all real rows first (or the first ``n`` of them), then synthetic variants.
    Returns the table and how many of its rows are real."""
    real = real_rows()
    n_real = min(n, len(real["id"]))
    rng = np.random.default_rng(seed)
    n_syn = n - n_real
    base = rng.integers(0, len(real["id"]), n_syn)
    colour = rng.integers(0, len(COLOURS), n)
    size = rng.integers(0, len(SIZES), n)
    price = np.round(rng.lognormal(3.0, 1.0, n), 2)
    ids = real["id"][:n_real] + [f"syn{i}-{real['id'][b]}" for i, b in enumerate(base)]
    titles = real["title"][:n_real] + [
        f"{real['title'][b]} - {COLOURS[colour[n_real + i]]}, {SIZES[size[n_real + i]]}" for i, b in enumerate(base)
    ]
    cats = real["category"][:n_real] + [real["category"][b] for b in base]
    brands = real["brand"][:n_real] + [real["brand"][b] for b in base]
    origin = ["real"] * n_real + ["synthetic"] * n_syn
    table = pa.table(
        {
            "id": ids,
            "title": titles,
            "category": cats,
            "brand": brands,
            "price": price,
            "colour": [COLOURS[c] for c in colour],
            "size": [SIZES[s] for s in size],
            "origin": origin,
        }
    )
    return table, n_real


FIELDS = {
    "id": "id",
    "title": "title",
    "description": [],
    "category": ["category"],
    "category_separators": [" > "],
    "brand": "brand",
    "price": "price",
    "in_stock": None,
    "attributes": ["colour", "size", "origin"],
}


def write_catalog(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path, int]:
    """Write ``catalog.parquet`` + ``fields.json`` under ``folder``; returns both paths and the real-row count."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    table, n_real = million_table(n, seed)
    data, fields = folder / "catalog.parquet", folder / "fields.json"
    pq.write_table(table, data)
    fields.write_text(json.dumps(FIELDS))
    return data, fields, n_real
