"""Hard negatives, role prefixes and the frozen token table of the contrastive trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.eval.judgments import Judgments
from shelfwise.finetune import FinetuneConfig, PairSet, mine_pairs, pairs_from_judgments
from shelfwise.finetune.pipeline import base_for_encoder, base_prefixes


def test_judgment_pairs_carry_a_judged_irrelevant_product_of_the_same_query(tiny_catalog: Catalog) -> None:
    j = Judgments(
        {"q1": "black trousers", "q2": "red dress"},
        {"q1": {"p1": 2.0, "p2": 0.0, "p3": 0.0}, "q2": {"p5": 2.0}},
    )
    p = pairs_from_judgments(j, tiny_catalog)
    texts = tiny_catalog.texts()
    assert p.anchors == ("black trousers", "red dress")
    assert p.negatives[0] in (texts[tiny_catalog.row("p2")], texts[tiny_catalog.row("p3")])
    assert p.negative(1) == ""  # q2 has no judged-irrelevant product
    assert pairs_from_judgments(j, tiny_catalog, hard_negatives=False).negatives == ()


def test_negatives_stay_aligned_through_add_sample_split_and_prefixes() -> None:
    a = PairSet(("q1", "q2", "q3"), ("p1", "p2", "p3"), "judgments", ("n1", "", "n3"))
    b = PairSet(("x1",), ("y1",), "co-user")
    both = a + b
    assert both.negatives == ("n1", "", "n3", "") and both.source == "judgments+co-user"
    assert (b + b).negatives == ()
    s = both.sample(4, seed=3)
    assert {(x, y, n) for x, y, n in zip(s.anchors, s.positives, s.negatives, strict=True)} == {
        ("q1", "p1", "n1"), ("q2", "p2", ""), ("q3", "p3", "n3"), ("x1", "y1", ""),
    }  # fmt: skip
    tr, va = both.split(0.5, seed=0)
    for part in (tr, va):
        for x, n in zip(part.anchors, part.negatives, strict=True):
            assert n == {"q1": "n1", "q3": "n3"}.get(x, "")
    pre = a.prefixed("query: ", "passage: ")
    assert pre.anchors[0] == "query: q1" and pre.positives[0] == "passage: p1"
    assert pre.negatives == ("passage: n1", "", "passage: n3")
    with pytest.raises(ValueError, match="negatives"):
        PairSet(("q",), ("p",), "", ("n", "m"))


def test_mine_pairs_puts_query_and_passage_prefixes_where_search_does(tiny_catalog: Catalog) -> None:
    queries = {f"q{i}": f"query {i}" for i in range(8)}
    rel = {f"q{i}": {tiny_catalog.ids[i]: 2.0} for i in range(8)}
    data = mine_pairs(tiny_catalog, Judgments(queries, rel), prefixes=base_prefixes("e5"))
    pairs = data.train + data.val + data.holdout
    assert all(a.startswith("query: ") for a in pairs.anchors)
    assert all(p.startswith("passage: ") for p in pairs.positives)
    plain = mine_pairs(tiny_catalog, Judgments(queries, rel), prefixes=base_prefixes("minilm"))
    assert not any(a.startswith("query: ") for a in (plain.train + plain.val).anchors)


def test_the_base_to_train_follows_the_index_encoder(tmp_path: Path) -> None:
    assert base_for_encoder("e5-onnx")[0] == "e5" and base_for_encoder("minilm-onnx-q8")[0] == "minilm"
    assert base_for_encoder("static-minilm")[0] == "minilm"
    base, why = base_for_encoder("hashing")
    assert base == "e5" and "hashing is not trainable" in why
    assert base_for_encoder(None, "all-MiniLM-L6-v2")[0] == "minilm"  # an older index: only its name
    assert base_for_encoder(None, None)[0] == "e5"
    folder = tmp_path / "ft"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    assert base_for_encoder(str(folder))[0] == str(folder)
    base, why = base_for_encoder(str(tmp_path / "gone"))
    assert base == "e5" and "is not here" in why


def test_per_base_defaults_fill_only_what_is_unset() -> None:
    cfg = FinetuneConfig()
    assert cfg.lr == 5e-5 and cfg.softmax_scale == 20.0
    e5 = cfg.for_base("e5")
    assert e5.lr == 2e-5 and e5.softmax_scale == 50.0
    assert FinetuneConfig(learning_rate=1e-4, scale=30.0).for_base("e5").lr == 1e-4
    assert FinetuneConfig(scale=30.0).for_base("e5").softmax_scale == 30.0
    assert FinetuneConfig(mode="lora").for_base("e5").lr == 5e-4
    assert cfg.for_base("minilm") == cfg


def test_training_refuses_pairs_without_the_bases_prefixes(tiny_catalog: Catalog, tmp_path: Path) -> None:
    from shelfwise.finetune import ModelStore, train_and_publish

    queries = {f"q{i}": f"query {i}" for i in range(8)}
    rel = {f"q{i}": {tiny_catalog.ids[i]: 2.0} for i in range(8)}
    plain = mine_pairs(tiny_catalog, Judgments(queries, rel))
    with pytest.raises(ValueError, match="prefixes"):
        train_and_publish(tiny_catalog, plain, ModelStore(tmp_path / "m"), base="e5")


def test_info_nce_adds_hard_negatives_to_every_anchors_candidates() -> None:
    torch = pytest.importorskip("torch")
    from shelfwise.finetune.trainer import info_nce

    vecs = {"a": [1.0, 0.0], "b": [0.0, 1.0], "pa": [0.9, 0.1], "pb": [0.1, 0.9], "n": [0.8, 0.2]}

    class Lookup:
        def tokenize(self, texts: list[str]) -> list[str]:
            return texts

        def __call__(self, feats: list[str]) -> dict[str, object]:
            return {"sentence_embedding": torch.tensor([vecs[t] for t in feats])}

    scale = 10.0
    got = float(info_nce(Lookup(), ["a", "b"], ["pa", "pb"], scale, ["n", ""]))
    norm = {k: np.array(v) / np.linalg.norm(v) for k, v in vecs.items()}
    logits = scale * np.array([[norm[q] @ norm[d] for d in ("pa", "pb", "n")] for q in ("a", "b")])
    want = float(np.mean([np.log(np.exp(r).sum()) - r[i] for i, r in enumerate(logits)]))
    assert got == pytest.approx(want, rel=1e-5)
    assert float(info_nce(Lookup(), ["a", "b"], ["pa", "pb"], scale)) < got  # the negative makes it harder


@pytest.mark.parametrize("freeze", [True, False])
def test_full_tuning_freezes_the_token_table_by_default(tiny_st: Path, freeze: bool) -> None:
    pytest.importorskip("torch")
    from shelfwise.finetune import fine_tune
    from shelfwise.finetune.trainer import load_st

    base = load_st(tiny_st)
    before = {k: v.detach().clone() for k, v in base.state_dict().items()}
    train = PairSet(("red shoe", "blue hat", "green bag", "black coat"), ("rojo zapato", "azul sombrero",
                    "verde bolso", "negro abrigo"), "test", ("azul sombrero", "", "", "rojo zapato"))  # fmt: skip
    cfg = FinetuneConfig(batch_size=4, max_steps=3, learning_rate=0.01, eval_every=10, freeze_embeddings=freeze)
    tm = fine_tune(base, train, None, cfg)
    after = tm.model.state_dict()
    table = next(k for k in after if k.endswith("word_embeddings.weight"))
    assert torch_equal(before[table], after[table]) == freeze
    moved = [k for k in after if k != table and not torch_equal(before[k], after[k])]
    assert moved  # the layers above the table learnt either way
    assert all(p.requires_grad for p in tm.model.parameters())  # the returned model is not left frozen


def torch_equal(a: object, b: object) -> bool:
    import torch

    return bool(torch.equal(a, b))  # type: ignore[arg-type]


def test_the_current_searchs_top_unjudged_results_become_hard_negatives(tiny_catalog: Catalog) -> None:
    ids = tiny_catalog.ids
    j = Judgments({"q1": "black trousers"}, {"q1": {ids[0]: 2.0, ids[1]: 1.0}})
    ranked = lambda q: [ids[1], ids[0], ids[4], ids[5]]  # noqa: E731 - relevant ones first, then misses
    texts = tiny_catalog.texts()
    p = pairs_from_judgments(j, tiny_catalog, ranked=ranked, seed=1)
    assert p.negatives[0] in (texts[4], texts[5])  # never a product judged relevant (grade 1 or 2)
    seen = {pairs_from_judgments(j, tiny_catalog, ranked=ranked, seed=s).negatives[0] for s in range(20)}
    assert seen == {texts[4], texts[5]}
    assert pairs_from_judgments(j, tiny_catalog, ranked=ranked, hard_negatives=False).negatives == ()


def test_validation_ranks_positives_against_the_hard_negatives_too() -> None:
    from shelfwise.finetune.metrics import eval_size

    val = PairSet(("q1", "q2"), ("p1", "p2"), "", ("n1", ""))
    assert eval_size(val, ["d1", "d2"]) == (2, 5)  # p1, p2, n1, d1, d2
    assert eval_size(PairSet(("q1",), ("p1",)), ["d1"]) == (1, 2)
