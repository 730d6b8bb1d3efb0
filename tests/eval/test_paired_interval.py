"""Paired-bootstrap interval of a search run's NDCG@10 ratio to a peer (``shelfwise eval search``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from shelfwise.cli import main
from shelfwise.eval.judgments import SearchMetrics, paired_ratio_interval


def _run(per_query: list[float]) -> SearchMetrics:
    m = sum(per_query) / len(per_query)
    return SearchMetrics(m, m, m, len(per_query), {"ndcg@10": per_query})


def test_interval_is_paired_and_brackets_the_ratio() -> None:
    peer = _run([0.2, 0.9, 0.5, 0.1, 0.7, 0.4, 0.3, 0.8])
    same = paired_ratio_interval(_run([x * 1.5 for x in peer.per_query["ndcg@10"]]), peer)
    assert same == pytest.approx((1.5, 1.5))  # every query 1.5x: no spread, however hard the queries
    noisy = _run([0.3, 0.8, 0.7, 0.1, 0.9, 0.4, 0.2, 0.9])
    lo, hi = paired_ratio_interval(noisy, peer, seed=3)
    assert lo < noisy.ndcg_at_10 / peer.ndcg_at_10 < hi and hi - lo > 0.05
    assert all(math.isnan(x) for x in paired_ratio_interval(_run([0.5, 0.5]), peer))  # other queries


def test_eval_search_prints_and_writes_the_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kinds = ["shoe", "shirt", "hat", "bag", "dress", "sock"]
    colours = ["red", "blue", "green", "black"]
    rows = [(f"p{i}{j}", f"{c} {k}") for i, k in enumerate(kinds) for j, c in enumerate(colours)]
    (tmp_path / "p.csv").write_text("id,title\n" + "".join(f"{i},{t}\n" for i, t in rows))
    (tmp_path / "q.csv").write_text("query_id,query\n" + "".join(f"q{n},{t}\n" for n, (_, t) in enumerate(rows)))
    (tmp_path / "j.csv").write_text(
        "query_id,item_id,grade\n" + "".join(f"q{n},{i},2\n" for n, (i, _) in enumerate(rows))
    )
    out = tmp_path / "eval.json"
    argv = ["eval", "search", "--catalog", str(tmp_path / "p.csv"), "--queries", str(tmp_path / "q.csv")]
    argv += ["--judgments", str(tmp_path / "j.csv"), "--encoder", "hashing", "--out", str(out)]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    text = capsys.readouterr().out
    assert "95% CI" in text and "paired bootstrap over the same queries" in text
    saved = json.loads(out.read_text())["ratio_to_peer"]
    assert set(saved) == {"bm25", "dense", "hybrid"} and saved["hybrid"]["peer"] == "peer:bm25s"
    lo, hi = saved["hybrid"]["ci95"]
    assert lo <= saved["hybrid"]["ndcg@10"] <= hi
    hybrid_line = next(line for line in text.splitlines() if line.startswith("hybrid "))
    assert f"[{lo:.3f}, {hi:.3f}]" in hybrid_line


def test_a_missing_interval_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Few judged queries, one the peer scores 0 on (the tiny store's Chinese query for bm25s): some
    resamples hold only that one, so there is no interval; the '-' says why instead of nothing."""
    (tmp_path / "p.csv").write_text("id,title\np1,red shoe\np2,blue hat\np3,green bag\n")
    (tmp_path / "q.csv").write_text("query_id,query\nq1,red shoe\nq2,blu hatt\n")
    (tmp_path / "j.csv").write_text("query_id,item_id,grade\nq1,p1,2\nq2,p2,2\n")
    argv = ["eval", "search", "--catalog", str(tmp_path / "p.csv"), "--queries", str(tmp_path / "q.csv")]
    argv += ["--judgments", str(tmp_path / "j.csv"), "--encoder", "hashing", "--out", str(tmp_path / "e.json")]
    assert main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.split(" ")[0] in ("bm25", "dense", "hybrid")]
    assert rows and all(line.split()[-2] == "-" for line in rows)
    assert "95% CI '-' (bm25, dense, hybrid): no interval, as some of the 1,000 resamples held only queries" in text
