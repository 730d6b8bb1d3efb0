"""The served-search gate: held-out pairs as judgments, the old and the new searcher compared on them,
and `shelfwise train` leaving a shelf as it was when its search would get worse."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.finetune.pairs import PairSet
from shelfwise.finetune.served_gate import ServedCheck, held_out_judgments, served_check
from shelfwise.retrieve import HybridSearcher

PREFIXES = {"query": "query: ", "passage": "passage: "}


def _catalog() -> Catalog:
    return Catalog(
        [
            Product("a", "red shoe"),
            Product("b", "blue shirt"),
            Product("c", "green hat"),
            Product("d", "red shoe"),  # the same text as "a": both count as the positive
        ]
    )


def test_held_out_pairs_become_judgments_over_catalog_ids() -> None:
    catalog = _catalog()
    pairs = PairSet(
        ("query: rojo zapato", "query: rojo zapato", "query: camisa", "passage: green hat", "query: nada"),
        ("passage: red shoe", "passage: red shoe", "passage: blue shirt", "passage: blue shirt", "passage: gone"),
    )
    judged = held_out_judgments(pairs, catalog, PREFIXES)
    assert judged is not None
    by_text = {judged.queries[q]: rel for q, rel in judged.relevance.items()}
    # prefixes stripped; a product anchor (item-to-item pair) and a positive not in the catalog left out
    assert by_text == {"rojo zapato": {"a": 1.0, "d": 1.0}, "camisa": {"b": 1.0}}
    only_items = PairSet(("passage: green hat",), ("passage: blue shirt",))
    assert held_out_judgments(only_items, catalog, PREFIXES) is None


def test_the_check_compares_both_searchers_first_stage_on_the_held_out_queries() -> None:
    catalog = _catalog()
    pairs = PairSet(("query: shirt", "query: hat"), ("passage: blue shirt", "passage: green hat"))
    judged = held_out_judgments(pairs, catalog, PREFIXES)
    assert judged is not None
    good = HybridSearcher.build(catalog, HashingEncoder(32))
    same = served_check(good, good, judged)
    assert same.before == same.after == 1.0 and same.passed and same.n_queries == 2  # a tie passes
    assert "NDCG@10 1.0000 with the new version vs 1.0000 now" in same.summary()
    worse = ServedCheck(before=0.8, after=0.75, stderr=0.01, n_queries=19)
    assert not worse.passed and "(-0.0500 ± 0.0100 s.e.)" in worse.summary()


def test_train_leaves_the_shelf_as_it_was_when_its_search_would_get_worse(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_finetune_cli import _files, _index_shelf, _store, _to_shelf

    from shelfwise.cli.main import main
    from shelfwise.cli.train_cmd import EXIT_NOT_PUBLISHED
    from shelfwise.finetune import ModelStore, served_gate

    def worse(before: HybridSearcher, after: HybridSearcher, judged: object) -> ServedCheck:
        return ServedCheck(before=0.8, after=0.7, stderr=0.02, n_queries=10)

    monkeypatch.setattr(served_gate, "served_check", worse)
    args = _store(tmp_path, learnable=True)
    shelf = _index_shelf(tmp_path)
    before = _files(shelf)
    capsys.readouterr()
    argv = [*_to_shelf(args, shelf), "--base", str(tiny_st), "--events", str(tmp_path / "events.csv")]
    assert main(argv) == EXIT_NOT_PUBLISHED
    out = capsys.readouterr().out
    mv = ModelStore(tmp_path / "models").latest()
    assert mv is not None  # the model's own gate passed: the version is stored
    assert f"not published into {shelf}: served search (hybrid, no reranker) on 10 held-out queries" in out
    assert f"--publish {mv.version} publishes it later" in out
    assert _files(shelf) == before  # the shelf, byte for byte
    runs = ModelStore(tmp_path / "models").runs()  # the store is also the experiment log
    assert runs[-2]["version"] == mv.version and runs[-2]["gate"]["passed"] is True  # type: ignore[index]
    assert runs[-1] == {**runs[-1], "version": mv.version, "published_into": False}
    assert runs[-1]["served"]["after"] == 0.7  # type: ignore[index]
    assert main([*argv, "--force"]) == 0  # --force publishes anyway
    assert "--force: publishing it although the served search got worse" in capsys.readouterr().out
    assert _files(shelf) != before
    forced = ModelStore(tmp_path / "models").runs()[-1]  # the forced publish keeps the comparison it overrode
    assert forced["published_into"] is True and forced["forced"] is True
    assert forced["served"]["after"] == 0.7 and forced["served"]["before"] == 0.8  # type: ignore[index]


def test_train_says_when_the_shelfs_search_cannot_be_compared(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No held-out query pair (a co-purchase-only holdout): the shelf was replaced without the second
    gate and without a word."""
    from test_finetune_cli import _index_shelf, _store, _to_shelf

    from shelfwise.cli.main import main
    from shelfwise.finetune import served_gate

    monkeypatch.setattr(served_gate, "held_out_judgments", lambda *a: None)
    args = _store(tmp_path, learnable=True)
    shelf = _index_shelf(tmp_path)
    capsys.readouterr()
    argv = [*_to_shelf(args, shelf), "--base", str(tiny_st), "--events", str(tmp_path / "events.csv"), "--force"]
    assert main(argv) == 0
    assert "the shelf's own search is not compared: the held-out pairs hold no query -> product pair" in (
        capsys.readouterr().out
    )
