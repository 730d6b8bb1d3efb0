"""The large-catalog memory paths give the recommendations of the full ones.

Text-graph rows only for items with events (``ContentConfig.all_rows_max_items``), an
event-less item's neighbours found at request time, and item vectors read through the vector
index instead of a float32 copy: compared, on a small made-up store, with the full graph and
the matrix they replace."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.recommend import Context, Interactions
from shelfwise.recommend.content import ContentConfig, ContentRecommender, approx_knn_graph
from shelfwise.recommend.hybrid import HybridConfig, HybridRecommender, build_recommender
from shelfwise.recommend.persist import StateFileError
from shelfwise.recommend.vectors import ItemVectors

N, DIM, ACTIVE = 300, 16, 90  # items 0..89 have events, the other 210 only text
CFG = ContentConfig(neighbours=8, min_similarity=0.1)
COMPACT = replace(CFG, all_rows_max_items=0)


def _vectors(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, DIM))
    v = centres[rng.integers(0, 12, N)] + 0.6 * rng.standard_normal((N, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _store(seed: int = 0) -> tuple[Catalog, EventLog]:
    rng = np.random.default_rng(seed)
    catalog = Catalog([Product(id=f"i{j}", title=f"item {j}") for j in range(N)])
    events = [  # every one of the first ACTIVE items is bought
        Event(f"u{u}", EventType.PURCHASE, float(1000 * u + t), f"i{(3 * u + int(j)) % ACTIVE}", session_id=f"s{u}")
        for u in range(40)
        for t, j in enumerate([0, 1, 2, *rng.choice(np.arange(3, 12), 3, replace=False)])
    ]
    return catalog, EventLog.from_events(events, catalog)


@pytest.fixture(scope="module")
def data() -> Interactions:
    catalog, log = _store()
    return Interactions.from_log(log, catalog)


def _fit(cfg: ContentConfig, data: Interactions, vectors: object) -> ContentRecommender:
    m = ContentRecommender(vectors, cfg)  # type: ignore[arg-type]
    m.fit(data)
    return m


def _assert_same_row(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    ra, sa = a[0][np.argsort(a[0])], a[1][np.argsort(a[0])]
    rb, sb = b[0][np.argsort(b[0])], b[1][np.argsort(b[0])]
    assert ra.tolist() == rb.tolist()
    np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-6)


def test_compact_graph_keeps_rows_of_items_with_events_and_finds_the_others(data: Interactions) -> None:
    v = _vectors()
    full, compact = _fit(CFG, data, v), _fit(COMPACT, data, v)
    assert full.has_row.all() and compact.has_row.sum() == ACTIVE
    assert compact.graph.nnz < full.graph.nnz / 2
    for item in range(N):  # rows kept from the graph, rows found on request: the same neighbours
        _assert_same_row(compact.neighbours(item), full.neighbours(item))
    contexts = [Context.of([1, 2, 3], [1.0, 2.0, 1.0]), Context.of([5, 250, 120]), Context.of([299])]
    for ctx in contexts:
        np.testing.assert_allclose(compact.score(ctx), full.score(ctx), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(compact.score_many(contexts), full.score_many(contexts), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(compact.score_many(contexts), np.stack([compact.score(c) for c in contexts]))
    for item in (4, 200):
        np.testing.assert_allclose(compact.score_item(item), full.score_item(item), rtol=1e-5, atol=1e-6)


def test_approximate_graph_rows_subset_is_the_full_graphs_rows() -> None:
    pytest.importorskip("faiss")
    v = _vectors(1)
    rows = np.arange(0, N, 7)
    full = approx_knn_graph(v, 8, 0.1, 3, cells=10)
    part = approx_knn_graph(v, 8, 0.1, 3, cells=10, rows=rows)
    assert np.diff(part.indptr)[np.setdiff1d(np.arange(N), rows)].sum() == 0
    for r in rows.tolist():
        a, b, c, d = full.indptr[r], full.indptr[r + 1], part.indptr[r], part.indptr[r + 1]
        _assert_same_row((part.indices[c:d], part.data[c:d]), (full.indices[a:b], full.data[a:b]))


@pytest.mark.parametrize("storage", ["fp32", "sq8"])
def test_vectors_read_through_the_index_are_the_decoded_matrix(storage: str, data: Interactions) -> None:
    pytest.importorskip("faiss")
    cfg = VectorIndexConfig(kind="flat", storage=storage)
    index = VectorIndex(cfg).fit(_vectors())
    decoded = np.array(index.vectors)  # what serving handed the recommender before
    rows = ItemVectors(index)
    assert rows.shape == decoded.shape
    np.testing.assert_array_equal(rows[[3, 9, 250]], decoded[[3, 9, 250]])
    np.testing.assert_array_equal(rows[5], decoded[5])
    np.testing.assert_array_equal(rows.matrix(), decoded)
    np.testing.assert_allclose(rows.scores(decoded[7]), decoded @ decoded[7], rtol=1e-5, atol=1e-6)
    via_index, via_matrix = _fit(COMPACT, data, index), _fit(COMPACT, data, decoded)
    for item in (2, 150):
        _assert_same_row(via_index.neighbours(item), via_matrix.neighbours(item))
    ctx = Context.of([4, 180], query_vector=decoded[11])
    np.testing.assert_allclose(via_index.score(ctx), via_matrix.score(ctx), rtol=1e-5, atol=1e-6)


def _hybrid_cfg(content: ContentConfig) -> HybridConfig:
    cfg = HybridConfig(content=content)
    return replace(cfg, tune=replace(cfg.tune, enabled=False))


def test_hybrid_on_the_index_with_compact_rows_recommends_as_the_full_one(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    pytest.importorskip("implicit")
    catalog, log = _store()
    v = _vectors()
    index = VectorIndex(VectorIndexConfig(kind="flat", storage="fp32")).fit(v)
    old = build_recommender(catalog, log, v, _hybrid_cfg(CFG))
    new = build_recommender(catalog, log, index, _hybrid_cfg(COMPACT))
    assert new.content.has_row.sum() == ACTIVE and new.als.factors.shape[0] <= ACTIVE
    for user in ("u1", "u7", "u30"):
        a, b = old.recommend(user, 10), new.recommend(user, 10)
        assert a.ids.tolist() == b.ids.tolist()
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
    for item in (3, 60, 150, 299):  # items with events, and text-only ones
        assert old.similar(item, 10).ids.tolist() == new.similar(item, 10).ids.tolist()
    sess = [5, 200]
    assert old.recommend_session(sess, 10).ids.tolist() == new.recommend_session(sess, 10).ids.tolist()
    new.save(tmp_path / "rec")
    saved = json.loads((tmp_path / "rec" / "hybrid.json").read_text())
    assert saved["format_version"] >= 3  # compact ALS rows: format 3 on
    back = HybridRecommender.load(tmp_path / "rec", catalog, index)
    assert back.content.has_row.sum() == ACTIVE
    assert back.recommend("u7", 10).ids.tolist() == new.recommend("u7", 10).ids.tolist()
    assert back.similar(150, 10).ids.tolist() == new.similar(150, 10).ids.tolist()


def test_version_2_folder_loads_and_bad_rows_are_named(tmp_path: Path) -> None:
    pytest.importorskip("implicit")
    catalog, log = _store()
    v = _vectors()
    cfg = _hybrid_cfg(CFG)  # a version 2 model had no walk: its saved weights name none
    rec = build_recommender(catalog, log, v, replace(cfg, weights=tuple(w for w in cfg.weights if w[0] != "walk")))
    d = tmp_path / "rec"
    rec.save(d)
    # the version 2 layout: a full item-factor matrix, a content graph without ``rows``
    als = dict(np.load(d / "als.npz"))
    np.savez(d / "als.npz", item_factors=rec.als.item_factors, user_factors=als["user_factors"],
             known=als["known"], user_ids=als["user_ids"])  # fmt: skip
    content = {k: x for k, x in np.load(d / "content.npz").items() if k != "rows"}
    np.savez(d / "content.npz", **content)
    meta = json.loads((d / "hybrid.json").read_text())
    meta["format_version"] = 2
    (d / "hybrid.json").write_text(json.dumps(meta))
    back = HybridRecommender.load(d, catalog, v)
    assert back.content.has_row.all()
    assert back.recommend("u3", 10).ids.tolist() == rec.recommend("u3", 10).ids.tolist()
    np.savez(d / "content.npz", rows=np.arange(5), **content)  # rows that leave graph entries out
    with pytest.raises(StateFileError, match=r"content\.npz: graph has entries in rows not listed"):
        HybridRecommender.load(d, catalog, v)


def test_tuning_folds_reuse_the_rows_built_on_all_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hybrid builds the text graph once, on every item with events, before tuning's folds
    (which see fewer items) fit on their earlier rows."""
    pytest.importorskip("implicit")
    catalog, log = _store()
    builds: list[int] = []
    real = ContentRecommender._build

    def counted(self: ContentRecommender, rows: np.ndarray | None) -> object:
        builds.append(N if rows is None else len(rows))
        return real(self, rows)

    monkeypatch.setattr(ContentRecommender, "_build", counted)
    cfg = replace(HybridConfig(content=COMPACT), tune=replace(HybridConfig().tune, min_cases=1))
    rec = build_recommender(catalog, log, _vectors(), cfg)
    assert builds == [ACTIVE] and rec.content.has_row.sum() == ACTIVE


def test_a_lists_reasons_read_the_contexts_rows_once(data: Interactions, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("faiss")
    index = VectorIndex(VectorIndexConfig(kind="flat", storage="sq8")).fit(_vectors())
    m = _fit(COMPACT, data, index)
    calls: list[int] = []
    real = VectorIndex.rows

    def counted(self: VectorIndex, ids: np.ndarray) -> np.ndarray:
        calls.append(len(ids))
        return real(self, ids)

    monkeypatch.setattr(VectorIndex, "rows", counted)
    ctx = Context.of([1, 2, 3, 4, 5])
    reasons = [m.explain(ctx, item) for item in (10, 20, 30)]
    assert calls.count(5) == 1 and all(r.startswith("similar text to") for r in reasons)
    assert m.explain(Context.of([1, 2, 3, 4, 5]), 10) == reasons[0] and calls.count(5) == 2  # a new context


def test_typed_query_above_the_exact_size_scores_the_index_top_candidates(data: Interactions) -> None:
    v = _vectors(2)
    index = VectorIndex(VectorIndexConfig(kind="flat")).fit(v)  # exact search: the same top as all cosines
    exact = _fit(CFG, data, index)
    ann = _fit(replace(CFG, exact_max_items=0, query_candidates=40), data, index)
    qv = v[17]
    for ctx in (Context.of([], query_vector=qv), Context.of([3, 250], query_vector=qv)):
        e, a = exact.score(ctx), ann.score(ctx)
        top = np.argsort(-(v @ qv))[:40]  # the items the query's term reaches
        np.testing.assert_allclose(a[top], e[top], rtol=1e-5, atol=1e-6)
        assert np.argsort(-a, kind="stable")[:10].tolist() == np.argsort(-e, kind="stable")[:10].tolist()
        np.testing.assert_array_equal(ann.score_many([ctx])[0], a)
    alone = ann.score(Context.of([], query_vector=qv))
    matches = ann.query_matches(Context.of([], query_vector=qv))
    assert matches is not None and len(matches) == np.isfinite(alone).sum() < 40  # only its matches get a score,
    assert set(matches.rows.tolist()) <= set(np.argsort(-(v @ qv))[:40].tolist())  # found among the candidates
    with pytest.raises(ValueError, match="query_candidates"):
        ContentConfig(query_candidates=0)
