from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.errors import DataError
from shelfwise.eval.judgments import attribute_judgments, evaluate_search, load_judgments
from shelfwise.eval.tune import searcher_fn, tune_fusion
from shelfwise.retrieve import HybridSearcher


def _files(tmp_path: Path, queries: str, judgments: str) -> tuple[Path, Path]:
    """A queries.csv and a judgments.csv holding the given lines (headers added)."""
    q, j = tmp_path / "q.csv", tmp_path / "j.csv"
    q.write_text("query_id,query\n" + queries, encoding="utf-8")
    j.write_text("query_id,item_id,grade\n" + judgments, encoding="utf-8")
    return q, j


def test_load_judgments_errors_name_rows(tmp_path: Path) -> None:
    q, j = _files(tmp_path, "1,black jeans\n2,\n", "1,p1,2\n1,p2,x\n9,p1,1\n1,p3,-1\n")
    with pytest.raises(DataError) as exc:
        load_judgments(q, j, strict=True)
    msg = str(exc.value)
    assert f"{q}: line 3: field 'query'" in msg and f"{j}: line 3: field 'grade'" in msg and "unknown query id" in msg
    ok = load_judgments(q, j)
    assert ok.relevance == {"1": {"p1": 2.0}}
    assert [(e.row, e.field) for e in ok.errors] == [(3, "query"), (3, "grade"), (4, "query_id"), (5, "grade")]


def test_load_judgments_duplicates_and_infinite_grades_are_row_errors(tmp_path: Path) -> None:
    q, j = _files(tmp_path, "q1,black jeans\nq1,red dress\n", "q1,t1,2\nq1,t2,inf\nq1,t1,0\nq1,t3,nan\nq1,t4,-inf\n")
    got = load_judgments(q, j)
    assert got.queries == {"q1": "black jeans"}  # the first row is kept
    assert got.relevance == {"q1": {"t1": 2.0}}
    assert [(e.file, e.row, e.field) for e in got.errors] == [
        (str(q), 3, "query_id"),
        (str(j), 3, "grade"),
        (str(j), 4, "item_id"),
        (str(j), 5, "grade"),
        (str(j), 6, "grade"),
    ]
    text = [str(e) for e in got.errors]
    assert text[0] == f"{q}: line 3: field 'query_id': duplicate query id 'q1' (first at line 2; kept)"
    assert "finite" in text[1] and "'inf'" in text[1]
    assert text[2] == f"{j}: line 4: field 'item_id': item 't1' judged twice for query 'q1' (first at line 2; kept)"
    with pytest.raises(DataError, match="duplicate query id"):
        load_judgments(q, j, strict=True)


def test_files_without_the_columns_fail_once_listing_theirs(tmp_path: Path) -> None:
    q, j = _files(tmp_path, "1,black jeans\n", "1,p1,2\n")
    bad_q = tmp_path / "bq.csv"
    bad_q.write_text("qid,text\n1,shoe\n2,hat\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bq\.csv: no column 'query_id', 'query'; its columns are \['qid', 'text'\]"):
        load_judgments(bad_q, j)
    bad_j = tmp_path / "bj.csv"
    bad_j.write_text("query_id,sku,relevance\n1,p1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bj\.csv: no column 'item_id', 'grade'; its columns are") as exc:
        load_judgments(q, bad_j)
    assert [(e.row, e.field) for e in exc.value.errors] == [(0, "item_id"), (0, "grade")]
    jl = tmp_path / "q.jsonl"  # JSON Lines rows may omit keys: checked per row, as before
    jl.write_text('{"query_id": "1", "query": "black jeans"}\n{"query": "no id"}\n', encoding="utf-8")
    got = load_judgments(jl, j)
    assert got.queries == {"1": "black jeans"} and [(e.row, e.field) for e in got.errors] == [(2, "query_id")]


def test_attribute_judgments_and_eval(tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path) -> None:
    j = attribute_judgments(tiny_catalog, "colour", min_items=1, max_queries=None)
    assert "black trousers" in j.queries.values()
    qid = next(k for k, v in j.queries.items() if v == "black trousers")
    assert j.relevance[qid]["p1"] == 2.0 and j.relevance[qid]["p2"] == 1.0
    m = evaluate_search(searcher_fn(tiny_searcher), j)
    assert 0.0 < m.ndcg_at_10 <= 1.0 and m.n_queries == len(j.judged())
    j.save(tmp_path / "q.parquet", tmp_path / "j.parquet")
    again = load_judgments(tmp_path / "q.parquet", tmp_path / "j.parquet")
    assert again.relevance == j.relevance
    dev, test = j.split(0.5)
    assert not set(dev.queries) & set(test.queries) and len(dev) + len(test) == len(j)
    tuned = tune_fusion(tiny_searcher, dev, weights=(0.3, 0.7))
    assert len(tuned.trials) == 6 and tuned.best.mode == "hybrid"
