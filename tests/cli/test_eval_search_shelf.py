"""``shelfwise eval search --index`` loads the index as the shelf loader does: a shelf indexed with a
multilingual part answers Chinese queries on its multilingual vectors in the eval too (made-up
catalog: Latin-script titles with Chinese words appended)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from shelfwise.catalog import load_catalog
from shelfwise.cli import main
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import evaluate_search, load_judgments
from shelfwise.eval.tune import searcher_fn
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf

COLOURS = {"black": "黑色", "navy": "藏青色", "red": "红色", "olive": "橄榄色", "white": "白色", "grey": "灰色"}
THINGS = {"wool coat": "羊毛大衣", "rain jacket": "防雨夹克", "linen shirt": "亚麻衬衫", "running shoe": "跑步鞋",
          "leather belt": "皮革腰带", "canvas bag": "帆布包", "desk lamp": "台灯"}  # fmt: skip
MATERIALS = ("cotton", "recycled", "organic", "waterproof", "")
MODES = ("bm25", "dense", "hybrid")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A catalog file, queries (Chinese and English) with judgments, and the catalog's index saved
    four ways: a shelf with a multilingual part (``static-minilm`` main encoder, ``hashing``
    multilingual), the same searcher as index folders from before shelves (with and without their
    ``catalog.parquet``), and a shelf without the multilingual part."""
    d = tmp_path_factory.mktemp("eval_shelf")
    rows = [(f"p{n}", f"{m} {c} {t} {zc} {zt}".strip(), t.split()[-1])
            for n, ((c, zc), (t, zt), m) in enumerate((c, t, m) for c in COLOURS.items() for t in THINGS.items()
                                                      for m in MATERIALS)]  # fmt: skip
    with (d / "products.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "title", "category"), *rows])
    qs, js = [("query_id", "query")], [("query_id", "item_id", "grade")]
    for n, ((c, zc), (t, zt)) in enumerate((c, t) for c in COLOURS.items() for t in THINGS.items()):
        qs += [(f"zh{n}", f"{zc}{zt}"), (f"en{n}", f"{c} {t}")]
        for pid, title, _ in rows:
            if t in title:
                js += [(q, pid, "2" if c in title else "1") for q in (f"zh{n}", f"en{n}")]
    zh = [qs[0], *(q for q in qs[1:] if q[0].startswith("zh"))]
    for name, table in (("queries.csv", qs), ("zh.csv", zh), ("judgments.csv", js)):
        with (d / name).open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(table)
    cat = load_catalog(d / "products.csv").catalog
    main_enc, multi = load_encoder("static-minilm"), load_encoder("hashing")
    searcher = HybridSearcher.build(cat, main_enc, encoder_spec="static-minilm", multilingual=multi,
                                    multilingual_spec="hashing")  # fmt: skip
    Shelf(catalog=cat, searcher=searcher).save(d / "shelf")
    searcher.save(d / "old")  # an index folder from before shelves
    cat.save(d / "old" / "catalog.parquet")
    searcher.save(d / "bare")  # one saved without its catalog (demo folders once were)
    plain = HybridSearcher.build(cat, main_enc, encoder_spec="static-minilm")
    Shelf(catalog=cat, searcher=plain).save(d / "plain")
    return {"dir": d, "catalog": d / "products.csv"}


def _eval(files: dict[str, Path], index: str, queries: str = "queries.csv", *extra: str) -> dict[str, dict]:  # type: ignore[type-arg]
    d = files["dir"]
    out = d / f"eval-{index}-{queries}.json"
    args = ["eval", "search", "--catalog", str(files["catalog"]), "--index", str(d / index), "--peers", "none",
            "--queries", str(d / queries), "--judgments", str(d / "judgments.csv"), "--out", str(out),
            "--cache", str(d / "cache.sqlite"), *extra]  # fmt: skip
    assert main(args) == 0
    return dict(json.loads(out.read_text()))


def test_eval_search_uses_the_shelfs_multilingual_vectors(files: dict[str, Path]) -> None:
    d = files["dir"]
    got = _eval(files, "shelf")
    assert got["encoder_spec"] == "static-minilm" and got["multilingual_spec"] == "hashing"
    judgments = load_judgments(d / "queries.csv", d / "judgments.csv")
    loaded = Shelf.load(d / "shelf").searcher
    assert loaded.multilingual is not None
    for mode in MODES:  # the metrics of the shelf as it loads
        assert got["metrics"][mode] == evaluate_search(searcher_fn(loaded, mode=mode), judgments).summary()
    assert got["metrics"]["hybrid"]["ndcg@10"] > 0.3
    # an index folder from before shelves with the same vectors gives the same numbers
    assert _eval(files, "old")["metrics"] == got["metrics"]
    # without the multilingual part, the Chinese queries rank otherwise
    zh, zh_plain = _eval(files, "shelf", "zh.csv"), _eval(files, "plain", "zh.csv")
    assert zh_plain["multilingual_spec"] is None
    assert zh["metrics"]["bm25"] == zh_plain["metrics"]["bm25"]
    assert zh["metrics"]["dense"] != zh_plain["metrics"]["dense"]
    assert zh["metrics"]["hybrid"] != zh_plain["metrics"]["hybrid"]


def test_old_index_folder_without_its_catalog_reads_the_catalog_file(files: dict[str, Path]) -> None:
    assert not (files["dir"] / "bare" / "catalog.parquet").exists()
    got = _eval(files, "bare")
    assert got["multilingual_spec"] == "hashing" and got["metrics"] == _eval(files, "old")["metrics"]


def test_eval_search_refuses_a_catalog_other_than_the_index(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    d = files["dir"]
    lines = files["catalog"].read_text(encoding="utf-8").splitlines()
    (d / "fewer.csv").write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    args = ["eval", "search", "--catalog", str(d / "fewer.csv"), "--index", str(d / "shelf"), "--peers", "none",
            "--queries", str(d / "queries.csv"), "--judgments", str(d / "judgments.csv"),
            "--out", str(d / "x.json"), "--cache", str(d / "cache.sqlite")]  # fmt: skip
    assert main(args) == 2
    assert "evaluate with the catalog the index was built from" in capsys.readouterr().err


def test_eval_search_says_the_shelfs_reranker_is_not_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Path(__file__).resolve().parents[2] / "examples" / "tiny_store"
    cat = ["--catalog", str(store / "products.csv"), "--fields", str(store / "fields.json"), "--encoder", "hashing"]
    judged = ["--queries", str(store / "queries.csv"), "--judgments", str(store / "judgments.csv")]
    assert main(["index", *cat, *judged, "--out", str(tmp_path / "idx"), "--cache", str(tmp_path / "c.sqlite")]) == 0
    capsys.readouterr()
    args = ["eval", "search", *cat, *judged, "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "e.json")]
    assert main([*args, "--index", str(tmp_path / "idx")]) == 0
    assert "reranker is not applied here (this measures retrieval)" in capsys.readouterr().out
    assert main(args) == 0  # built now: no reranker, no note
    assert "reranker" not in capsys.readouterr().out
