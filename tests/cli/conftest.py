"""Fixtures of the command-line tests: a small shelf folder built by `shelfwise index`."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main

N_ITEMS = 24
# each shopper buys a run of four neighbouring products: co-purchases give the tail evidence
BASKETS = {f"u{u}": [(u + j) % N_ITEMS for j in range(4)] for u in range(N_ITEMS)}
T0 = 1_700_000_000


@pytest.fixture
def shelf_dir(tmp_path: Path) -> Path:
    cat = tmp_path / "products.csv"
    rows = "".join(f"p{i},Item {i} lamp {i % 5},Home > Lamps {i % 3}\n" for i in range(N_ITEMS))
    cat.write_text("id,title,category\n" + rows, encoding="utf-8")
    ev = tmp_path / "events.csv"
    lines = [
        f"{u},p{i},purchase,{T0 + n * 60 + j}\n"
        for n, (u, items) in enumerate(BASKETS.items())
        for j, i in enumerate(items)
    ]
    ev.write_text("user_id,item_id,type,timestamp\n" + "".join(lines), encoding="utf-8")
    out = tmp_path / "idx"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--out", str(out), "--events", str(ev)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    return out
