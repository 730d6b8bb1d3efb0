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
from typing import Any

import numpy as np
import numpy.typing as npt
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


def real_events(row_of: dict[str, int]) -> tuple[Any, dict[str, Any]]:
    """Every real purchase under ../shared/data whose product is in the catalog (``row_of``: catalog
    id -> row), as one time-sorted ``EventLog``: Complete Journey transactions (household, basket,
    timestamp), H&M transactions (customer, day) and the Instacart prior orders (user, order). The
    sources' clocks differ (Complete Journey and H&M dates; Instacart has per-user day offsets only,
    placed from 2019-01-01 here), so each source is shifted to end at the same instant and the
    latest sessions (what fit-time tuning validates on) come from all three. All three are real
    behaviour on real products, none on the synthetic variants. Returns the log and per-source counts."""
    from shelfwise.events import EventLog, EventType

    END = float(np.datetime64("2020-01-01", "s").astype(np.int64))
    users: dict[str, int] = {}
    sessions: dict[str, int] = {}
    cols: dict[str, list[Any]] = {"user": [], "item": [], "ts": [], "session": []}
    info: dict[str, Any] = {}

    def add(source: str, user: list[str], item: list[str], ts: npt.NDArray[np.float64], session: list[str]) -> None:
        rows = np.array([row_of.get(i, -1) for i in item], dtype=np.int64)
        keep = rows >= 0
        info[source] = {"events": int(keep.sum()), "dropped_not_in_catalog": int((~keep).sum())}
        idx = np.flatnonzero(keep).tolist()
        cols["user"].append(np.array([users.setdefault(user[i], len(users)) for i in idx], dtype=np.int64))
        cols["session"].append(np.array([sessions.setdefault(session[i], len(sessions)) for i in idx], dtype=np.int64))
        cols["item"].append(rows[keep])
        mine = np.asarray(ts, dtype=np.float64)[keep]
        cols["ts"].append(mine + (END - mine.max()) if len(mine) else mine)  # every source ends at END

    cj = pq.read_table(
        SHARED / "cj_transactions.parquet", columns=["household_id", "basket_id", "product_id", "transaction_timestamp"]
    )
    ts = cj.column("transaction_timestamp").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy().astype(np.float64)
    hh = [f"cj-{h}" for h in cj.column("household_id").to_pylist()]
    add("complete_journey", hh, [f"cj-{p}" for p in cj.column("product_id").to_pylist()], ts,
        [f"cj-b{b}" for b in cj.column("basket_id").to_pylist()])  # fmt: skip
    del cj, hh
    hm = pq.read_table(SHARED / "hm_transactions_train.parquet", columns=["t_dat", "customer_id", "article_id"])
    day = np.array([np.datetime64(d, "s").astype(np.int64) for d in hm.column("t_dat").to_pylist()], dtype=np.float64)
    cust = [f"hm-{c}" for c in hm.column("customer_id").to_pylist()]
    add("hm", cust, [f"hm-{a}" for a in hm.column("article_id").to_pylist()], day + np.arange(len(day)) * 1e-3,
        [f"{c}-{d}" for c, d in zip(cust, day.tolist(), strict=True)])  # fmt: skip
    orders = pq.read_table(SHARED / "insta_repo_orders.parquet").to_pydict()
    start = float(np.datetime64("2019-01-01", "s").astype(np.int64))
    when: dict[int, tuple[int, float]] = {}
    for uid in sorted(set(orders["user_id"])):  # per-user clock: cumulative days since the first order
        mine = sorted(
            (n, o, d or 0.0, h)
            for o, u, n, d, h in zip(orders["order_id"], orders["user_id"], orders["order_number"],
                                     orders["days_since_prior_order"], orders["order_hour_of_day"], strict=True)
            if u == uid
        )  # fmt: skip
        days = np.cumsum([d for _, _, d, _ in mine])
        for (_, o, _, h), dd in zip(mine, days.tolist(), strict=True):
            when[o] = (uid, start + dd * 86400.0 + h * 3600.0)
    op = pq.read_table(SHARED / "insta_repo_order_products__prior.parquet").to_pydict()
    known = [j for j, o in enumerate(op["order_id"]) if o in when]
    add(
        "instacart",
        [f"ic-u{when[op['order_id'][j]][0]}" for j in known],
        [f"ic-{op['product_id'][j]}" for j in known],
        np.array([when[op["order_id"][j]][1] + op["add_to_cart_order"][j] for j in known], dtype=np.float64),
        [f"ic-o{op['order_id'][j]}" for j in known],
    )
    ts_all = np.concatenate(cols["ts"])
    order = np.argsort(ts_all, kind="stable")
    n = len(order)
    log = EventLog(
        user=np.concatenate(cols["user"])[order],
        item=np.concatenate(cols["item"])[order],
        type=np.full(n, int(EventType.PURCHASE), dtype=np.int8),
        timestamp=ts_all[order],
        session=np.concatenate(cols["session"])[order],
        queries=("",) * n,
        users=tuple(users),
    )
    info["total"] = {
        "events": n,
        "users": len(users),
        "sessions": len(sessions),
        "items": len(np.unique(log.item)),
    }
    return log, info
