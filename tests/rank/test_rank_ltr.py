"""LTR reranker over cheap features, on the tiny made-up catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.rank import (
    ALL_FEATURE_NAMES,
    FEATURE_NAMES,
    FeatureExtractor,
    LTRConfig,
    LTRReranker,
    PairwiseRanker,
    fit_reranker,
)
from shelfwise.retrieve import HybridSearcher, Reranker

QUERIES = {"a": "black trousers", "b": "red dress", "c": "running shoes", "d": "black dress"}
REL = {
    "a": {"p1": 2.0, "p11": 2.0, "p2": 1.0},
    "b": {"p5": 2.0, "p12": 2.0, "p6": 1.0},
    "c": {"p9": 2.0},
    "d": {"p6": 2.0, "p5": 1.0},
}


def test_features_shape_and_field_matches(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    tok = tiny_searcher.lexical.tokenizer
    ex = FeatureExtractor(tiny_catalog, tok, popularity=np.arange(len(tiny_catalog)))
    res = tiny_searcher.search("black trousers", 12, match_features=True)
    x = ex.features("black trousers", res)
    assert x.shape == (len(res), len(FEATURE_NAMES))
    assert "category_match" not in FEATURE_NAMES and "attribute_match" not in FEATURE_NAMES  # opt-in only
    row = {r: i for i, r in enumerate(res.ids.tolist())}
    p1 = row[tiny_catalog.row("p1")]
    assert x[p1, FEATURE_NAMES.index("title_match")] == 1.0
    assert x[p1, FEATURE_NAMES.index("all_terms_matched")] == 1.0
    assert x[:, FEATURE_NAMES.index("inv_rank")][0] == 1.0
    # the retrieval signals are the ones the first stage attached to its hits, not recomputed
    np.testing.assert_allclose(x[:, FEATURE_NAMES.index("bm25")], res.features["bm25"])
    np.testing.assert_allclose(x[:, FEATURE_NAMES.index("cosine")], res.features["cosine"])
    full = FeatureExtractor(tiny_catalog, tok, names=ALL_FEATURE_NAMES).features("black trousers", res)
    assert full.shape == (len(res), len(ALL_FEATURE_NAMES))


def test_match_features_travel_with_hits_through_reordering(tiny_searcher: HybridSearcher) -> None:
    res = tiny_searcher.search("black dress", 12, match_features=True)
    assert set(res.features) == {"bm25", "lexical", "cosine"}
    cos = tiny_searcher.dense.index.rows(res.ids) @ tiny_searcher.dense.embed("black dress")
    np.testing.assert_allclose(res.features["cosine"], cos, rtol=1e-5)
    lex = tiny_searcher.lexical.scores("black dress")[res.ids]
    np.testing.assert_allclose(res.features["lexical"], lex)
    top = res.top(3)
    assert top.features["cosine"].shape == (3,) and np.allclose(top.features["cosine"], cos[:3])
    assert not tiny_searcher.search("black dress", 12).features  # computed only when asked for


def test_extractor_refuses_hits_without_match_features(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    ex = FeatureExtractor(tiny_catalog, tiny_searcher.lexical.tokenizer)
    with pytest.raises(ValueError, match="match_features=True"):
        ex.features("black dress", tiny_searcher.search("black dress", 5))
    with pytest.raises(ValueError, match="unknown features"):
        FeatureExtractor(tiny_catalog, tiny_searcher.lexical.tokenizer, names=("bm25", "colour_match"))


def test_pairwise_ranker_learns_a_separable_preference() -> None:
    rng = np.random.default_rng(0)
    groups, labels = [], []
    for _ in range(20):
        x = rng.normal(size=(15, 3)).astype(np.float32)
        groups.append(x)
        labels.append((x[:, 1] > 0.3).astype(np.float32) + (x[:, 1] > 1.0))
    m = PairwiseRanker(LTRConfig(l2=1e-4), ("a", "b", "c")).fit(groups, labels)
    assert int(np.argmax(np.abs(m.weights))) == 1 and m.weights[1] > 0


def test_reranker_protocol_save_load_and_improves(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    rr = fit_reranker(tiny_searcher, QUERIES, REL, config=LTRConfig(depth=12))
    as_protocol: Reranker = rr  # structural: LTRReranker satisfies the Reranker protocol
    res = tiny_searcher.search("black trousers", 12, match_features=True)
    out = as_protocol.rerank("black trousers", res)
    assert sorted(out.ids.tolist()) == sorted(res.ids.tolist())
    assert np.all(np.diff(out.scores) <= 0)
    top2 = {tiny_catalog.ids[r] for r in out.ids[:2].tolist()}
    assert top2 == {"p1", "p11"}
    rr.model.save(tmp_path / "ltr")
    loaded = LTRReranker(rr.extractor, PairwiseRanker.load(tmp_path / "ltr"))
    np.testing.assert_allclose(loaded.rerank("black trousers", res).scores, out.scores, rtol=1e-6)
    tiny_searcher.reranker = rr
    got = {tiny_catalog.ids[r] for r in tiny_searcher.search("red dress", 2).ids.tolist()}
    assert got == {"p5", "p12"}


def test_fit_rejects_unlabelled_groups() -> None:
    with pytest.raises(ValueError, match="differently graded"):
        PairwiseRanker().fit([np.zeros((3, 2), dtype=np.float32)], [np.zeros(3)])


def test_reranker_save_load_roundtrip(tiny_searcher: HybridSearcher, tmp_path: Path) -> None:
    from shelfwise.rank import LTRReranker

    pop = np.arange(len(tiny_searcher.catalog), dtype=np.float64)
    rr = fit_reranker(tiny_searcher, QUERIES, REL, popularity=pop, config=LTRConfig(depth=12))
    rr.save(tmp_path / "rr")
    again = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    res = tiny_searcher.search("black dress", 12, match_features=True)
    a, b = rr.rerank("black dress", res), again.rerank("black dress", res)
    assert a.ids.tolist() == b.ids.tolist() and np.allclose(a.scores, b.scores)
    with pytest.raises(FileNotFoundError, match="not a saved reranker"):
        LTRReranker.load(tmp_path, tiny_searcher)


def test_reranker_records_its_lexical_settings_and_warns_on_another_index(
    tiny_searcher: HybridSearcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An LTR model reads bm25 scores as features: loaded onto a lexical index built with other
    BM25 (or analyser) settings, it says so naming both values; one saved before the settings were
    recorded loads as before, unchecked."""
    import json
    from dataclasses import replace

    from shelfwise.index.bm25 import BM25Config
    from shelfwise.rank import LTRReranker

    rr = fit_reranker(tiny_searcher, QUERIES, REL, config=LTRConfig(depth=12))
    rr.save(tmp_path / "rr")
    saved = json.loads((tmp_path / "rr" / "ltr.json").read_text())
    cfg = tiny_searcher.lexical.config
    assert saved["lexical"]["bm25"] == {"k1": cfg.bm25.k1, "b": cfg.bm25.b, "method": cfg.bm25.method}
    with caplog.at_level("INFO", logger="shelfwise.rank.ltr"):
        same = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    assert same.lexical == cfg and not caplog.records

    monkeypatch.setattr(tiny_searcher.lexical, "config", replace(cfg, bm25=BM25Config(k1=1.2, b=0.75)))
    with caplog.at_level("INFO", logger="shelfwise.rank.ltr"):
        other = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    (rec,) = caplog.records
    assert rec.levelname == "WARNING" and "bm25 features are shifted" in rec.getMessage()
    assert f"bm25.k1 {cfg.bm25.k1!r} (trained) vs 1.2 (this index)" in rec.getMessage()
    assert f"bm25.b {cfg.bm25.b!r} (trained) vs 0.75 (this index)" in rec.getMessage()
    assert other.lexical == cfg  # re-saved, it still names the index it was trained on
    other.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "ltr.json").read_text())["lexical"] == saved["lexical"]

    del saved["lexical"]  # saved before the settings were recorded
    (tmp_path / "rr" / "ltr.json").write_text(json.dumps(saved))
    caplog.clear()
    with caplog.at_level("WARNING", logger="shelfwise.rank.ltr"):
        old = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    assert old.lexical is None and not caplog.records
    res = tiny_searcher.search("black dress", 12, match_features=True)
    assert old.rerank("black dress", res).ids.tolist() == rr.rerank("black dress", res).ids.tolist()

    saved["lexical"] = "bm25 k1=0.9"  # not an object: unreadable, so a warning, not a crash
    (tmp_path / "rr" / "ltr.json").write_text(json.dumps(saved))
    with caplog.at_level("WARNING", logger="shelfwise.rank.ltr"):
        odd = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    (rec,) = caplog.records
    assert odd.lexical is None and "unreadable lexical index settings" in rec.getMessage()


def test_ltr_load_reads_its_manifest_once(
    tiny_searcher: HybridSearcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LTRReranker.load`` hands the ``ltr.json`` it read to the model and to the lexical check."""
    from shelfwise.rank import LTRReranker
    from shelfwise.rank.ltr import LTRManifest

    rr = fit_reranker(tiny_searcher, QUERIES, REL, config=LTRConfig(depth=12))
    rr.save(tmp_path / "rr")
    reads: list[Path] = []
    real = Path.read_text

    def counting(self: Path, *args: object, **kwargs: object) -> str:
        reads.append(self)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counting)
    loaded = LTRReranker.load(tmp_path / "rr", tiny_searcher)
    assert [f.name for f in reads] == ["ltr.json"]
    assert loaded.lexical == tiny_searcher.lexical.config
    manifest = LTRManifest.read(tmp_path / "rr")
    assert manifest.features == rr.extractor.names and manifest.config == rr.model.config


def test_a_feature_nearly_constant_in_training_cannot_decide_the_list() -> None:
    """The demo's reranker: all query words in a title held for ~1 candidate in 7,500 of its training lists
    (std 0.0115) and got weight -0.05; unclipped, a title matching every word reached z ~ 87 (-4.3 on its
    score) and fell from the top to rank 45. Clipped at z_clip (3) standard deviations it costs at most 0.15."""
    model = PairwiseRanker(feature_names=("lexical", "all_terms_matched"))
    model.mean, model.std, model.weights = np.array([0.5, 1.3e-4]), np.array([0.25, 0.0115]), np.array([1.0, -0.05])
    exact = np.array([[1.0, 1.0], [0.8, 0.0], [0.6, 0.0]])  # the best lexical match also holds every word
    unclipped = ((exact - model.mean) / model.std) @ model.weights
    assert int(np.argmax(unclipped)) == 1  # what it scored before the clip
    assert np.abs(model._standardise(exact)).max() == model.config.z_clip == 3.0
    assert model.score(exact).argsort()[::-1].tolist() == [0, 1, 2]
    raw = PairwiseRanker(LTRConfig(z_clip=float("inf")), ("lexical", "all_terms_matched"))  # the clip off: as before
    raw.mean, raw.std, raw.weights = model.mean, model.std, model.weights
    assert int(np.argmax(raw.score(exact))) == 1
    with pytest.raises(ValueError, match="z_clip"):
        LTRConfig(z_clip=0.0)


def test_the_clip_is_saved_with_the_model(tmp_path: Path) -> None:
    model = PairwiseRanker(LTRConfig(z_clip=2.5), ("a", "b"))
    model.mean, model.std, model.weights = np.zeros(2), np.ones(2), np.array([1.0, -1.0])
    model.save(tmp_path)
    assert PairwiseRanker.load(tmp_path).config.z_clip == 2.5


def test_the_reranker_records_the_judged_queries_it_was_fitted_on(
    tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    """A new encoder changes the cosine and fused-score features: the reranker must be refittable,
    so it keeps what it learnt from (reranker/judgments.json); one saved before loads with None."""
    import json

    from shelfwise.rank.ltr import TRAINED_ON

    rr = fit_reranker(tiny_searcher, QUERIES, REL)
    assert rr.trained_on is not None and rr.trained_on.queries == QUERIES and rr.trained_on.relevance == REL
    rr.save(tmp_path / "r")
    back = LTRReranker.load(tmp_path / "r", tiny_searcher)
    assert back.trained_on is not None and back.trained_on.relevance == REL and back.trained_on.queries == QUERIES
    (tmp_path / "r" / TRAINED_ON).unlink()
    assert LTRReranker.load(tmp_path / "r", tiny_searcher).trained_on is None  # saved before they were recorded
    (tmp_path / "r" / TRAINED_ON).write_text(json.dumps({"queries": QUERIES, "relevance": {"a": ["p1"]}}))
    damaged = LTRReranker.load(tmp_path / "r", tiny_searcher)  # read when a refit or a save asks, not at load
    with pytest.raises(ValueError, match=r"judgments\.json: field 'relevance'"):
        _ = damaged.trained_on
