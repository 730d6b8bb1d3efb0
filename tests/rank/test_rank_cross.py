"""Cross-encoder reranker on the tiny made-up catalog.

Fast tests use a tiny randomly initialised BERT (2 layers, width 32) with the packaged MiniLM
tokenizer, written to a temporary folder, so training takes seconds; one slow test starts from the
real packaged all-MiniLM-L6-v2 weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.rank import CrossConfig, CrossReranker, LTRReranker, fit_cross_reranker, fit_reranker
from shelfwise.rank.cross import FORMAT, MANIFEST, WEIGHTS, Blend, read_manifest
from shelfwise.rank.ltr import LTRConfig
from shelfwise.rank.saved import load_reranker, saved_kind
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, Reranker

pytest.importorskip("transformers")
pytest.importorskip("torch")

QUERIES = {"a": "black trousers", "b": "red dress", "c": "running shoes", "d": "black dress", "e": "wool jumper"}
REL = {
    "a": {"p1": 2.0, "p11": 2.0, "p2": 1.0},
    "b": {"p5": 2.0, "p12": 2.0, "p6": 1.0},
    "c": {"p9": 2.0},
    "d": {"p6": 2.0, "p5": 1.0},
    "e": {"p7": 2.0},
}


@pytest.fixture(scope="module")
def tiny_catalog_module() -> Catalog:
    from shelfwise.catalog import Product
    from tiny_products import PRODUCTS as _PRODUCTS  # the made-up products of the tiny_catalog fixture

    return Catalog(
        [
            Product(id=i, title=t, description=d, category=c, brand=b, price=p, attributes={"colour": col})
            for i, t, d, c, b, p, col in _PRODUCTS
        ]
    )


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, tiny_catalog_module: Catalog) -> Path:
    """A 2-layer, 64-wide BERT with random weights and a word-level vocabulary of the tiny catalog."""
    import torch
    import transformers

    words = sorted(
        {w for t in tiny_catalog_module.texts() + list(QUERIES.values()) for w in re.findall(r"\w+", t.lower())}
    )
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *(c for c in chars if c not in words)]
    vocab += [f"##{c}" for c in chars]
    folder = tmp_path_factory.mktemp("tiny_bert")
    transformers.BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=1,
    )
    transformers.BertForSequenceClassification(cfg).save_pretrained(str(folder), safe_serialization=True)
    return folder


def tiny_config(**fields: Any) -> CrossConfig:
    """A config for the tiny base: one thread, head and body at one learning rate, the tiny
    catalog's 12 products as candidates; ``fields`` set the rest."""
    return CrossConfig(head_lr_multiplier=1.0, depth=12, threads=1, **fields)


FAST = tiny_config(epochs=60, learning_rate=4e-3, batch_size=64, negatives=8, blend=1.0, max_seq_length=32)


@pytest.fixture(scope="module")
def trained(tiny_base: Path, tiny_catalog_module: Catalog) -> CrossReranker:
    from shelfwise.encode import HashingEncoder

    searcher = HybridSearcher.build(tiny_catalog_module, HashingEncoder(dim=128))
    return fit_cross_reranker(searcher, QUERIES, REL, config=FAST, base=tiny_base)


def _rank_of(catalog: Catalog, res: Results, item: str) -> int:
    return res.ids.tolist().index(catalog.row(item))


def test_training_moves_relevant_items_up(
    tiny_base: Path, trained: CrossReranker, tiny_catalog_module: Catalog
) -> None:
    from shelfwise.rank.cross import load_base

    untrained = CrossReranker(*load_base(tiny_base), tiny_catalog_module.texts(), FAST, Blend("fixed", 1.0, 0.0))
    every = Results(np.arange(len(tiny_catalog_module), dtype=np.int64), np.zeros(12, dtype=np.float32))
    before, after = [], []
    for qid, q in QUERIES.items():
        for item in (i for i, g in REL[qid].items() if g == 2):
            before.append(_rank_of(tiny_catalog_module, untrained.rerank(q, every), item))
            after.append(_rank_of(tiny_catalog_module, trained.rerank(q, every), item))
    assert np.mean(after) < np.mean(before) - 2  # the grade-2 items rose by more than two places on average
    top2 = trained.rerank("black trousers", every).ids[:2].tolist()
    assert {tiny_catalog_module.ids[r] for r in top2} == {"p1", "p11"}
    assert trained.log.steps > 0 and trained.log.n_positive > 0


def test_reranker_protocol_contract(trained: CrossReranker, tiny_catalog_module: Catalog) -> None:
    as_protocol: Reranker = trained  # structural: CrossReranker satisfies the Reranker protocol
    assert len(as_protocol.rerank("anything", Results.empty())) == 0
    n = len(tiny_catalog_module)
    res = Results(np.arange(n, dtype=np.int64)[::-1].copy(), np.linspace(1, 0, n).astype(np.float32))
    short = CrossReranker(trained.model, trained.tokenizer, trained.texts, CrossConfig(rerank_depth=5), trained.blend)
    out = short.rerank("black trousers", res)
    assert sorted(out.ids.tolist()) == sorted(res.ids.tolist())  # a permutation, nothing lost
    assert np.all(np.diff(out.scores) <= 0)  # best first
    assert out.ids[5:].tolist() == res.ids[5:].tolist()  # beyond rerank_depth: first-stage order kept
    assert set(out.ids[:5].tolist()) == set(res.ids[:5].tolist())


def test_searcher_uses_it(trained: CrossReranker, tiny_catalog_module: Catalog) -> None:
    from shelfwise.encode import HashingEncoder

    searcher = HybridSearcher.build(tiny_catalog_module, HashingEncoder(dim=128))
    searcher.reranker = trained
    res = searcher.search("black trousers", 3)
    assert len(res) == 3 and {tiny_catalog_module.ids[r] for r in res.ids[:2].tolist()} == {"p1", "p11"}


def test_save_load_round_trip_identical_scores(
    trained: CrossReranker, tiny_catalog_module: Catalog, tmp_path: Path
) -> None:
    trained.save(tmp_path / "rr")
    raw = json.loads((tmp_path / "rr" / MANIFEST).read_text())
    assert list(raw)[:2] == ["format", "version"] and raw["format"] == FORMAT
    assert not list((tmp_path / "rr").glob("*.bin")) and not list((tmp_path / "rr").glob("*.pkl"))
    loaded = CrossReranker.load(tmp_path / "rr", tiny_catalog_module.texts())
    assert loaded.config == trained.config and loaded.blend == trained.blend
    rows = list(range(len(tiny_catalog_module)))
    for q in QUERIES.values():
        np.testing.assert_array_equal(loaded.logits(q, rows), trained.logits(q, rows))


def test_learned_blend_keeps_first_stage_weight(tiny_base: Path, tiny_searcher: HybridSearcher) -> None:
    cfg = tiny_config(epochs=5, learning_rate=3e-3, batch_size=64, blend=None, blend_fraction=0.5)
    many = {f"{q}{i}": t for q, t in QUERIES.items() for i in range(2)}
    rel = {f"{q}{i}": r for q, r in REL.items() for i in range(2)}
    rr = fit_cross_reranker(tiny_searcher, many, rel, config=cfg, base=tiny_base)
    assert rr.blend.kind in ("learned", "fixed")
    assert rr.blend.cross >= 0 and rr.blend.first >= 0
    assert rr.log.blend_queries == 5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: (p / MANIFEST).write_text("{not json"), "corrupt"),
        (lambda p: _patch(p, format="something-else"), "format"),
        (lambda p: _patch(p, version=99), "version"),
        (lambda p: _patch(p, n_items=3), "products"),
        (lambda p: _patch(p, config={"epochs": -1}), "bad config"),
        (lambda p: (p / WEIGHTS).write_bytes((p / WEIGHTS).read_bytes()[:-8] + b"garbage!"), "checksum"),
        (lambda p: (p / MANIFEST).unlink(), "not a saved cross-encoder"),
    ],
)
def test_corrupt_or_mismatched_folder_names_the_file(
    trained: CrossReranker, tiny_catalog_module: Catalog, tmp_path: Path, edit: object, message: str
) -> None:
    folder = tmp_path / "rr"
    trained.save(folder)
    edit(folder)  # type: ignore[operator]
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        CrossReranker.load(folder, tiny_catalog_module.texts())
    text = str(err.value)
    assert message in text
    assert str(folder) in text


def _patch(folder: Path, **changes: object) -> None:
    raw = json.loads((folder / MANIFEST).read_text())
    raw.update(changes)
    (folder / MANIFEST).write_text(json.dumps(raw))


def test_config_validation() -> None:
    for bad in ({"loss": "hinge"}, {"blend": 1.5}, {"rerank_depth": 0}, {"max_seq_length": 4}, {"epochs": 0}):
        with pytest.raises(ValueError):
            CrossConfig(**bad)  # type: ignore[arg-type]


def test_listwise_loss_trains(tiny_base: Path, tiny_searcher: HybridSearcher) -> None:
    cfg = tiny_config(epochs=3, learning_rate=3e-3, batch_size=16, loss="listwise", blend=0.5)
    rr = fit_cross_reranker(tiny_searcher, QUERIES, REL, config=cfg, base=tiny_base)
    assert rr.log.steps >= 3 and all(np.isfinite(rr.log.loss_curve))


def test_saved_kind_and_load_reranker(
    trained: CrossReranker, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    trained.save(tmp_path / "cross")
    ltr = fit_reranker(tiny_searcher, QUERIES, REL, config=LTRConfig(depth=12))
    ltr.save(tmp_path / "ltr")
    assert saved_kind(tmp_path / "cross") == "cross" and saved_kind(tmp_path / "ltr") == "ltr"
    assert isinstance(load_reranker(tmp_path / "cross", tiny_searcher), CrossReranker)
    assert isinstance(load_reranker(tmp_path / "ltr", tiny_searcher), LTRReranker)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        saved_kind(tmp_path / "nothing")
    read_manifest(tmp_path / "cross")


@pytest.mark.slow
def test_packaged_minilm_cross_encoder_learns(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    cfg = CrossConfig(epochs=4, learning_rate=5e-5, batch_size=16, depth=12, blend=1.0, threads=1)
    rr = fit_cross_reranker(tiny_searcher, QUERIES, REL, config=cfg)
    every = Results(np.arange(len(tiny_catalog), dtype=np.int64), np.zeros(len(tiny_catalog), dtype=np.float32))
    out = rr.rerank("running shoes", every)
    assert tiny_catalog.ids[int(out.ids[0])] == "p9"


def test_cli_index_reranker_cross_then_serve_loads_it(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import shelfwise.snapshot.build as shelf_build
    from shelfwise.cli import main
    from shelfwise.cli.serve_cmd import load_shelf

    # the tiny base keeps this fast; the real command trains from the packaged MiniLM
    fast = CrossConfig(epochs=1, batch_size=16, depth=4, blend=0.5, threads=1)
    monkeypatch.setattr(
        shelf_build, "fit_cross_reranker", functools.partial(fit_cross_reranker, config=fast, base=tiny_base)
    )
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,description,category\n"
        "1,Black jeans,slim denim,Men > Trousers\n2,Red dress,summer,Women > Dresses\n"
        "3,Blue jeans,wide denim,Men > Trousers\n4,Wool scarf,warm,Women > Accessories\n",
        encoding="utf-8",
    )
    q = tmp_path / "q.csv"
    q.write_text("query_id,query\na,jeans\nb,dress\n", encoding="utf-8")
    j = tmp_path / "j.csv"
    j.write_text("query_id,item_id,grade\na,1,2\na,3,2\nb,2,1\n", encoding="utf-8")
    common = ["--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    judged = ["--queries", str(q), "--judgments", str(j)]
    idx = tmp_path / "idx"
    assert main(["index", *common, "--out", str(idx), *judged]) == 0
    assert saved_kind(idx / "reranker") == "ltr"
    assert main(["index", *common, "--out", str(idx), *judged, "--reranker", "cross"]) == 0
    assert saved_kind(idx / "reranker") == "cross" and not (idx / "reranker" / "ltr.json").exists()
    shelf = load_shelf(idx, "hashing")
    assert isinstance(shelf.searcher.reranker, CrossReranker)
    assert len(shelf.searcher.search("jeans", 2)) == 2


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")
def test_int8_copy_ranks_alike_and_refuses_to_save(trained: CrossReranker, tmp_path: Path) -> None:
    q8 = trained.int8()
    rows = list(range(len(trained.texts)))
    a, b = trained.logits("black trousers", rows), q8.logits("black trousers", rows)
    assert np.corrcoef(a, b)[0, 1] > 0.9
    with pytest.raises(ValueError, match="int8"):
        q8.save(tmp_path / "q8")


def test_fewer_layers_round_trip(tiny_base: Path, tiny_searcher: HybridSearcher, tmp_path: Path) -> None:
    cfg = CrossConfig(epochs=1, batch_size=16, depth=12, blend=0.5, layers=1, head_lr_multiplier=10.0, threads=1)
    rr = fit_cross_reranker(tiny_searcher, QUERIES, REL, config=cfg, base=tiny_base)
    assert rr.model.config.num_hidden_layers == 1
    rr.save(tmp_path / "rr")
    loaded = CrossReranker.load(tmp_path / "rr", tiny_searcher)
    assert loaded.model.config.num_hidden_layers == 1 and loaded.config.layers == 1
    rows = list(range(len(rr.texts)))
    np.testing.assert_array_equal(loaded.logits("red dress", rows), rr.logits("red dress", rows))
