import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shelfwise.demo import DemoConfig, run_demo

ROOT = Path(__file__).resolve().parents[2]


def _tiny_hm(dir_: Path) -> None:
    """A made-up catalog in the H&M column layout (the demo's field mappings are reused)."""
    types = ["Trousers", "Dress", "Sweater"]
    colours = ["Black", "Red", "Blue", "White"]
    rows = []
    n = 0
    for t in types:
        for c in colours:
            for k in range(3):
                n += 1
                rows.append(
                    {
                        "article_id": 1000 + n,
                        "prod_name": f"{c} {t.lower()} {k}",
                        "product_type_name": t,
                        "product_group_name": "Garment",
                        "index_group_name": "Ladieswear",
                        "colour_group_name": c,
                        "perceived_colour_master_name": c,
                        "graphical_appearance_name": "Solid",
                        "department_name": "Dept",
                        "section_name": "Section",
                        "garment_group_name": "Group",
                        "detail_desc": f"A {c.lower()} {t.lower()} made of cotton.",
                    }
                )
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    pq.write_table(pa.table(cols), dir_ / "articles.parquet")
    pq.write_table(
        pa.table(
            {
                "t_dat": ["2018-09-20"] * 4,
                "customer_id": ["c1", "c1", "c2", "c2"],
                "article_id": [1001, 1002, 1003, 1001],
                "price": [0.1] * 4,
                "sales_channel_id": [2] * 4,
                "request_id": ["", "not an id", "", ""],  # kept without it, with a warning the demo prints
            }
        ),
        dir_ / "transactions.parquet",
    )
    for name in ("catalog_fields.json", "event_fields.json"):
        (dir_ / name).write_text((ROOT / "data" / "hm" / name).read_text())


def test_demo_end_to_end_on_tiny_data(tmp_path: Path) -> None:
    data = tmp_path / "hm"
    data.mkdir()
    _tiny_hm(data)
    out = tmp_path / "out"
    logs: list[str] = []
    res = run_demo(
        DemoConfig(data_dir=data, out_dir=out, encoder="hashing", multilingual=None, cache=None), log=logs.append
    )
    assert set(res.metrics) == {"bm25", "dense", "hybrid", "hybrid + LTR rerank"}
    assert (out / "index" / "reranker" / "ltr.json").exists()
    from shelfwise.cli.serve_cmd import load_shelf

    served = load_shelf(out / "index", "hashing")
    assert served.recommender is not None  # the demo's recommender is saved with the shelf: serve recommends
    assert served.searcher.reranker is not None and len(served.searcher.search("black trousers", 3)) == 3
    assert all(0.0 < m["ndcg@10"] <= 1.0 for m in res.metrics.values())
    saved = json.loads((out / "search_eval.json").read_text())
    assert saved["search"] == res.metrics
    assert (out / "index" / "searcher" / "searcher.json").exists() and (out / "index" / "shelf.json").exists()
    assert "data:image/png;base64" in (out / "report.html").read_text()
    assert "| hybrid |" in (out / "report.md").read_text()
    # the number of buyers is a count: "| users | 2 |", not "2.0000" (and 2, not 2.0, in the JSON)
    assert "| users | 2 |" in (out / "report.md").read_text() and saved["recommend"]["users"] == 2
    assert isinstance(saved["recommend"]["users"], int) and res.recommend_metrics["users"] == 2
    # the note on the recommendation figures sits in their section, not under search
    md = (out / "report.md").read_text()
    search_part, rec_part = md.split("## Recommendations", 1)
    assert "catalogue-level" not in search_part and "catalogue-level" in rec_part.split("## ", 1)[0]
    html = (out / "report.html").read_text()  # the exposure sections `shelfwise report` writes for any store
    assert "Exposure, long tail and diversity" in html and "Fairness of exposure by top-level category" in html
    # real sale prices: each sold article gets the median price of its sales, the rest stay unpriced
    assert served.catalog.products[served.catalog.row("1001")].price == 0.1
    assert served.catalog.products[served.catalog.row("1004")].price is None
    assert res.shelf.events is not None and len(res.shelf.events) == 4
    assert logs[0].startswith("catalog: 36 products")
    kept = f"{data / 'transactions.parquet'}: kept 1 event without a bad optional field; first ones:"
    assert kept in logs and "'not an id'" in logs[logs.index(kept) + 1]  # EventLoad.warnings were not printed
    saved = json.loads((out / "index" / "searcher" / "searcher.json").read_text())["config"]
    assert saved["fusion"] == res.shelf.searcher.config.fusion and saved["personal_weight"] == 0.1
    assert res.recommend_metrics["users"] == 2 and 0 < res.recommend_metrics["coverage"] <= 1
    rec, profiles = res.shelf.recommender, res.shelf.user_profiles
    assert rec is not None and profiles is not None
    assert len(rec.recommend("c1", 5)) > 0 and profiles.vector("c1") is not None


def test_demo_command_prints_counts_as_counts_and_names_the_html_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from shelfwise.cli import demo as demo_cmd
    from shelfwise.demo.pipeline import DemoResult

    fake = DemoResult(
        shelf=None,  # type: ignore[arg-type]  # not served (--no-serve)
        metrics={"hybrid": {"ndcg@10": 0.5, "recall@100": 0.25, "mrr": 1.0}},
        recommend_metrics={"users": 2954, "coverage": 0.85091},
    )
    monkeypatch.setattr(demo_cmd, "run_demo", lambda config: fake)
    args = argparse.Namespace(no_serve=True, out=tmp_path, encoder="hashing", multilingual="none")
    assert demo_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "recommendations: users 2954, coverage 0.851" in out  # was "users 2954.000"
    assert f"report: {tmp_path / 'report.html'} (+ report.md)" in out


def test_the_demo_prints_load_warnings_as_a_count_and_the_first_few() -> None:
    """Catalog file-wide notes as 'warning:' lines, rows kept without a bad optional field as a count
    and the first five: a file with thousands of them does not flood the demo's log."""
    from shelfwise.demo.pipeline import say_warnings
    from shelfwise.errors import RowError

    logs: list[str] = []
    note = RowError("a.csv", 0, "price", "price cells show both decimal marks")
    rows = [RowError("a.csv", r, "image", "not a URL (kept without it)") for r in range(2, 1002)]
    say_warnings(logs.append, Path("a.csv"), [note, *rows], "row")
    assert logs[0] == "warning: a.csv: field 'price': price cells show both decimal marks"
    assert logs[1] == "a.csv: kept 1,000 rows without a bad optional field; first ones:" and len(logs) == 2 + 5
    assert logs[2] == "  a.csv: line 2: field 'image': not a URL (kept without it)"
    logs.clear()
    say_warnings(logs.append, Path("a.csv"), [], "row")
    assert logs == []
