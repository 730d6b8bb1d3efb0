import json
from pathlib import Path

import pytest

from shelfwise.cli import main


def test_index_then_eval_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,description,category\n"
        "1,Black jeans,slim denim,Men > Trousers\n2,Red dress,summer,Women > Dresses\n"
        "3,Blue jeans,wide denim,Men > Trousers\n4,Wool scarf,warm,Women > Accessories\n",
        encoding="utf-8",
    )
    q = tmp_path / "q.jsonl"
    q.write_text('{"query_id": "a", "query": "jeans"}\n{"query_id": "b", "query": "dress"}\n', encoding="utf-8")
    j = tmp_path / "j.csv"
    j.write_text("query_id,item_id,grade\na,1,2\na,3,2\nb,2,1\n", encoding="utf-8")
    out = tmp_path / "eval.json"
    common = ["--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main(["index", *common, "--out", str(tmp_path / "idx")]) == 0
    assert (
        main(
            [
                "eval",
                "search",
                *common,
                "--queries",
                str(q),
                "--judgments",
                str(j),
                "--out",
                str(out),
                "--index",
                str(tmp_path / "idx"),
            ]
        )
        == 0
    )
    res = json.loads(out.read_text())["metrics"]
    capsys.readouterr()
    assert main(["index", *common, "--out", str(tmp_path / "idx2"), "--queries", str(q), "--judgments", str(j)]) == 0
    said = capsys.readouterr()
    assert "trained the reranker on 2 judged queries" in said.out + said.err
    assert "warning: 2 judged queries are few to learn a ranking from" in said.out + said.err
    from shelfwise.cli.serve_cmd import load_shelf

    assert load_shelf(tmp_path / "idx2", "hashing").searcher.reranker is not None
    assert load_shelf(tmp_path / "idx", "hashing").searcher.reranker is None
    assert set(res) == {"peer:bm25s", "bm25", "dense", "hybrid"}
    assert res["bm25"]["ndcg@10"] == 1.0 and res["bm25"]["queries"] == 2
    assert res["peer:bm25s"]["ndcg@10"] == 1.0
    # serve reloads the encoder the index was built with when --encoder is not given
    assert load_shelf(tmp_path / "idx", None).searcher.encoder_spec == "hashing"


def test_eval_search_chinese_catalog_runs_the_character_peer(tmp_path: Path) -> None:
    cat = tmp_path / "products.csv"
    cat.write_text("id,title\n1,海尔洗碗机家用全自动\n2,专业护膝运动男膝盖\n3,改装轮毂15寸16寸\n", encoding="utf-8")
    q = tmp_path / "q.csv"
    q.write_text("query_id,query\na,洗碗机\nb,护漆\n", encoding="utf-8")
    j = tmp_path / "j.csv"
    j.write_text("query_id,item_id,grade\na,1,1\nb,2,1\n", encoding="utf-8")
    out = tmp_path / "eval.json"
    args = ["eval", "search", "--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main([*args, "--queries", str(q), "--judgments", str(j), "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["language"]["language"] == "zh"
    assert {"peer:bm25s", "peer:bm25s-char", "hybrid"} <= set(saved["metrics"])
    assert saved["metrics"]["bm25"]["mrr"] == 1.0  # the misspelt 护漆 still finds 护膝 by its shared character


def test_cli_reports_bad_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(
        ["index", "--catalog", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), "--encoder", "hashing"]
    )
    assert rc == 2 and "missing.csv" in capsys.readouterr().err


def test_serve_loads_index_with_recommendations(tmp_path: Path) -> None:
    from shelfwise.cli.serve_cmd import load_shelf

    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category\n1,Black jeans,Men > Trousers\n2,Leather belt,Men > Accessories\n"
        "3,Red dress,Women > Dresses\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    ev.write_text(
        "user_id,item_id,type,timestamp\nu1,1,purchase,1\nu1,2,purchase,2\nu2,1,purchase,3\nu3,999,purchase,4\n",
        encoding="utf-8",
    )
    assert (
        main(
            [
                "index",
                "--catalog",
                str(cat),
                "--encoder",
                "hashing",
                "--cache",
                str(tmp_path / "c.sqlite"),
                "--out",
                str(tmp_path / "idx"),
            ]
        )
        == 0
    )
    shelf = load_shelf(tmp_path / "idx", "hashing", ev)
    assert shelf.events is not None and len(shelf.events) == 3  # the unknown item row is skipped
    assert shelf.recommender is not None
    rec = shelf.recommender.recommend("u2", 2)
    assert shelf.catalog.ids[int(rec.ids[0])] == "2" and "bought together" in rec.reasons[0]


def test_serve_loads_saved_recommender(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from shelfwise.cli.serve_cmd import load_shelf

    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,category\n1,Black jeans,Men > Trousers\n2,Leather belt,Men > Accessories\n"
        "3,Red dress,Women > Dresses\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    ev.write_text(
        "user_id,item_id,type,timestamp\nu1,1,purchase,1\nu1,2,purchase,2\nu2,1,purchase,3\n", encoding="utf-8"
    )
    common = ["--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main(["index", *common, "--out", str(tmp_path / "idx")]) == 0
    saved = tmp_path / "rec"
    assert main(["recommend", "user", *common, "--events", str(ev), "u2", "--save", str(saved)]) == 0
    assert (saved / "hybrid.json").is_file() and "saved recommender" in capsys.readouterr().out
    loaded = load_shelf(tmp_path / "idx", "hashing", recommender=saved)
    fitted = load_shelf(tmp_path / "idx", "hashing", ev)
    assert loaded.recommender is not None and fitted.recommender is not None and loaded.events is None
    assert loaded.user_profiles is loaded.recommender.profiles
    a, b = loaded.recommender.recommend("u2", 2), fitted.recommender.recommend("u2", 2)
    assert loaded.catalog.ids[int(a.ids[0])] == "2" and a.ids.tolist() == b.ids.tolist()
    assert a.scores.tolist() == b.scores.tolist() and a.reasons == b.reasons
    with pytest.raises(ValueError, match="not both"):
        load_shelf(tmp_path / "idx", "hashing", ev, recommender=saved)
    (saved / "als.npz").unlink()
    assert main(["serve", "--index", str(tmp_path / "idx"), "--encoder", "hashing", "--recommender", str(saved)]) == 2
    assert "als.npz: file is missing" in capsys.readouterr().err


def test_serve_reloads_multilingual_vectors_recorded_in_the_index(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from shelfwise.catalog.schema import Catalog, Product
    from shelfwise.cli.serve_cmd import load_shelf
    from shelfwise.encode.hashing import HashingEncoder
    from shelfwise.retrieve import HybridSearcher

    cat = Catalog([Product("1", "Black jeans"), Product("2", "Red dress")])
    with_multi = HybridSearcher.build(
        cat, HashingEncoder(256), encoder_spec="hashing", multilingual=HashingEncoder(256), multilingual_spec="hashing"
    )
    with_multi.save(tmp_path / "multi")
    cat.save(tmp_path / "multi" / "catalog.parquet")
    assert load_shelf(tmp_path / "multi", None).searcher.multilingual is not None  # no flag needed
    plain = HybridSearcher.build(cat, HashingEncoder(256), encoder_spec="hashing")
    plain.save(tmp_path / "plain")
    cat.save(tmp_path / "plain" / "catalog.parquet")
    shelf = load_shelf(tmp_path / "plain", None, multilingual="hashing")
    assert shelf.searcher.multilingual is None
    assert "has no multilingual vectors" in capsys.readouterr().out  # never a silent no-op


def test_index_title_weight_is_kept_in_the_shelf(tmp_path: Path) -> None:
    from shelfwise.shelf import Shelf

    cat = tmp_path / "products.csv"
    cat.write_text("id,title,description\n1,Cordless drill,battery tool\n2,Bit set,drill bits for a wood drill\n")
    out = tmp_path / "shelf"
    common = ["--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main(["index", *common, "--out", str(out), "--title-weight", "3"]) == 0
    assert Shelf.load(out).searcher.lexical.config.title_weight == 3
    with pytest.raises(SystemExit) as bad:  # argparse names the flag before anything loads
        main(["index", *common, "--out", str(tmp_path / "bad"), "--title-weight", "9"])
    assert bad.value.code == 2 and not (tmp_path / "bad").exists()
