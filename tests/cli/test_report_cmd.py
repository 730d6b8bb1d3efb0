"""`shelfwise report` on a tiny made-up store: index, judged files, events, valuation -> HTML."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.cli import main
from shelfwise.valuation import Values
from shelfwise.valuation.report import ValuationReport


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category,brand,price\n1,Black jeans,Men > Trousers,Acme,40\n2,Blue jeans,Men > Trousers,Denimco,50\n"
        "3,Red dress,Women > Dresses,Flora,60\n4,Wool scarf,Women > Accessories,Nordic,20\n"
        "5,Leather belt,Men > Accessories,Acme,25\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    rows = [("a", 1, 1, "s1"), ("a", 5, 2, "s1"), ("a", 2, 9000, "s2"), ("b", 3, 3, "s3"), ("b", 4, 9500, "s4")]
    ev.write_text(
        "user_id,item_id,type,timestamp,session_id\n" + "".join(f"{u},{i},purchase,{t},{s}\n" for u, i, t, s in rows),
        encoding="utf-8",
    )
    q = tmp_path / "q.csv"
    q.write_text("query_id,query\nq1,jeans\nq2,dress\n", encoding="utf-8")
    j = tmp_path / "j.csv"
    j.write_text("query_id,item_id,grade\nq1,1,2\nq1,2,2\nq2,3,1\n", encoding="utf-8")
    idx = tmp_path / "idx"
    argv = ["index", "--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main([*argv, "--out", str(idx)]) == 0
    val = ValuationReport("events by category")
    val.values["groups: loo"] = Values("loo", "group", ("Men", "Women"), np.array([0.3, -0.1]))
    val.write(tmp_path / "val")
    out = tmp_path / "rep" / "report.html"
    args = ["report", "--index", str(idx), "--queries", str(q), "--judgments", str(j), "--events", str(ev)]
    assert main([*args, "--valuation", str(tmp_path / "val"), "--k", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hybrid weights:")]
    assert len(said) == 1  # the served model's verdict; the time split's second fit does not repeat it
    assert "search peer:bm25s" in printed and f"--report {out}" in printed
    hint = f"`shelfwise serve --shelf {idx} --events {ev} --valuation {tmp_path / 'val'} --report {out}`"
    assert hint in printed  # serves the recommender and valuation it measured
    html = out.read_text()
    for part in ("peer:bm25s", "Recommendations (time split)", "Fairness of exposure by brand", "events by category"):
        assert part in html
    figures = json.loads(out.with_suffix(".json").read_text())
    assert figures["search"]["bm25"]["ndcg@10"] == 1.0 and figures["store"]["with a price"].startswith("5")
    valued = figures["valuation"]  # the summary's figures, not only the folder's path
    assert valued["folder"] == str(tmp_path / "val") and valued["title"] == "events by category"
    loo = valued["values"]["groups: loo"]
    assert loo["players"] == 2 and loo["most_valuable"][0][:2] == ["Men", pytest.approx(0.3)]
    assert loo["least_valuable"][0][:2] == ["Women", pytest.approx(-0.1)]
    assert (tmp_path / "rep" / "report_plots" / "long_tail.png").is_file()
    assert main(["report", "--index", str(idx), "--queries", str(q), "--out", str(out)]) == 2  # judgments missing
    assert main(["report", "--index", str(idx), "--valuation", str(tmp_path), "--out", str(out)]) == 2
