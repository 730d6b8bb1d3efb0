"""What a catalog load pays for reading its price cells' decimal-mark convention (DecimalMarks).

A synthetic CSV (made up, not real data) of N products whose prices are text in one convention
(US "1,299.00" / "12.99", or German "1.299,00" / "12,99", one cell in 50 ambiguous: "1.299" / "1,500")
is loaded with the file-level convention (the loader as shipped) and with each cell read alone (its
notes and deferrals switched off: the loader before the convention), alternating, best of R each.

    PYTHONPATH=src python bench/bench_price_marks.py [--rows 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import shelfwise.catalog.loader as loader
from shelfwise.catalog import load_catalog
from shelfwise.catalog.price_text import DecimalMarks

from common import print_table, write_json


class _Alone(DecimalMarks):
    """Each cell read alone: nothing noted, nothing deferred (the loader before the convention)."""

    def note(self, value: str, amount: str, row: int) -> None:
        return None

    def defer(self, value: str, row: int) -> bool:
        return False


def _cell(rng: random.Random, german: bool) -> str:
    if rng.random() < 0.02:  # ambiguous: one mark before three digits
        return rng.choice(["1.299", "2.499"] if german else ['"1,500"', '"2,000"'])
    whole, cents = rng.randint(1, 2999), rng.randint(0, 99)
    if german:
        w = f"{whole:,}".replace(",", ".")
        return f'"{w},{cents:02d} €"'
    return f'"${whole:,}.{cents:02d}"'


def _write(path: Path, rows: int, german: bool, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("id,title,price\n")
        for i in range(rows):
            f.write(f"p{i},Item {i},{_cell(rng, german)}\n")


def _time(path: Path, marks: type[DecimalMarks]) -> tuple[float, Any]:
    loader.DecimalMarks = marks  # type: ignore[misc]
    try:
        t0 = time.perf_counter()
        got = load_catalog(path)
        return time.perf_counter() - t0, got
    finally:
        loader.DecimalMarks = DecimalMarks  # type: ignore[misc]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="price_marks_s19")
    args = ap.parse_args()
    out: dict[str, Any] = {"rows": args.rows, "repeats": args.repeats, "loadavg_start": os.getloadavg()}
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, german in (("us", False), ("de", True)):
            path = Path(tmp) / f"{name}.csv"
            _write(path, args.rows, german)
            best = {"convention": float("inf"), "alone": float("inf")}
            priced = {}
            for _ in range(args.repeats):
                for label, marks in (("convention", DecimalMarks), ("alone", _Alone)):
                    s, got = _time(path, marks)
                    best[label] = min(best[label], s)
                    priced[label] = sum(p.price is not None for p in got.catalog.products)
            out[name] = {
                "convention_s": best["convention"],
                "alone_s": best["alone"],
                "overhead": best["convention"] / best["alone"] - 1.0,
                "priced_convention": priced["convention"],
                "priced_alone": priced["alone"],
            }
            table.append([name, f"{best['alone']:.2f}", f"{best['convention']:.2f}", f"{out[name]['overhead']:+.1%}"])
            table[-1] += [priced["alone"], priced["convention"]]
    out["loadavg_end"] = os.getloadavg()
    print_table(
        f"catalog load, {args.rows:,} text prices",
        ["file", "alone s", "convention s", "overhead", "priced alone", "priced conv."],
        table,
    )
    write_json(args.out, out)


if __name__ == "__main__":
    main()
