"""HybridRecommender.save/load round-trips on the tiny fixtures (npz + JSON, no refit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    CooccurrenceConfig,
    CrossConfig,
    HybridConfig,
    HybridRecommender,
    Recommendation,
    build_recommender,
)
from shelfwise.recommend.persist import StateFileError, config_from_json, config_to_json
from shelfwise.retrieve import HybridSearcher

CFG = HybridConfig(
    als=ALSConfig(factors=4, iterations=3),
    cooccurrence=CooccurrenceConfig(alpha=0.3),
    cross=CrossConfig(category_depth=2, text_penalty=0.5),
    half_life_days=10.0,
)


@pytest.fixture
def rec(tiny_catalog: Catalog, tiny_log: EventLog, tiny_searcher: HybridSearcher) -> HybridRecommender:
    return build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors, CFG, encoder=tiny_searcher.encoder)


def _new_events() -> list[Event]:
    ev = [
        ("u5", "p7", EventType.PURCHASE, 20.0, "s-u5"),
        ("u5", "p8", EventType.PURCHASE, 21.0, "s-u5"),
        ("u2", "p7", EventType.CART, 22.0, "s-u2b"),
        ("u2", "p5", EventType.PURCHASE, 23.0, "s-u2b"),
        ("u3", "p2", EventType.CLICK, 24.0, "s-u3"),
        ("u3", "missing", EventType.PURCHASE, 25.0, "s-u3"),
    ]
    return [Event(user_id=u, item_id=i, type=t, timestamp=ts, session_id=s) for u, i, t, ts, s in ev]


def _same(a: Recommendation, b: Recommendation) -> None:
    assert a.ids.tolist() == b.ids.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.reasons == b.reasons


def _assert_same_outputs(a: HybridRecommender, b: HybridRecommender) -> None:
    n = a.n_items
    assert a.profiles is not None and b.profiles is not None
    for user in [*a.profiles.users(), "nobody"]:
        _same(a.recommend(user, 5), b.recommend(user, 5))
        _same(a.recommend(user, n, exclude_seen=False), b.recommend(user, n, exclude_seen=False))
        _same(a.recommend(user, 5, Filters(category=("Men",))), b.recommend(user, 5, Filters(category=("Men",))))
    for item in range(n):
        _same(a.similar(item, n), b.similar(item, n))
        _same(a.cross(item, n), b.cross(item, n))
    _same(a.recommend_session([0, 2], 5), b.recommend_session([0, 2], 5))
    _same(a.recommend_session([], 5, query="black dress"), b.recommend_session([], 5, query="black dress"))


def test_round_trip_gives_identical_recommendations(
    rec: HybridRecommender, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    rec.save(tmp_path / "rec")
    back = HybridRecommender.load(tmp_path / "rec", tiny_catalog, tiny_searcher.item_vectors, tiny_searcher.encoder)
    assert back.config == rec.config  # nested configs included
    assert back.profiles is not None and back.profiles.users() == rec.profiles.users()  # type: ignore[union-attr]
    assert len(rec.recommend("u1", 5)) > 0 and len(rec.cross(0, 5)) > 0  # the comparison is not vacuous
    _assert_same_outputs(rec, back)
    assert not list((tmp_path / "rec").glob("*.pkl"))


def test_round_trip_after_updates_and_weight_change(
    rec: HybridRecommender, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    events = _new_events()
    rec.update(events[:3])
    rec.update(events[3:])
    rec.set_weights({"repeat": 0.5, "cooccurrence": 1.0, "content": 0.2, "popularity": 0.1}, penalty=0.3)
    rec.save(tmp_path / "rec")
    back = HybridRecommender.load(tmp_path / "rec", tiny_catalog, tiny_searcher.item_vectors, tiny_searcher.encoder)
    assert back.config.popularity_penalty == 0.3 and back.config == rec.config
    assert "u5" in back.profiles  # type: ignore[operator]
    _assert_same_outputs(rec, back)
    # Later events land identically: open sessions and the re-delivery guard were saved too.
    more = [
        Event(user_id="u5", item_id="p9", type=EventType.PURCHASE, timestamp=30.0, session_id="s-u5"),
        events[0],  # re-delivered: profiles count it once
    ]
    rec.update(more)
    back.update(more)
    assert (rec.cooccurrence.pairs != back.cooccurrence.pairs).nnz == 0
    _assert_same_outputs(rec, back)


def test_load_checks_vectors_catalog_and_encoder(
    rec: HybridRecommender, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    rec.save(tmp_path / "rec")
    vecs = tiny_searcher.item_vectors
    with pytest.raises(
        ValueError,
        match=r"128-wide item vectors of 12 products, the shelf's index has 64-wide .*--encoder",
    ):
        HybridRecommender.load(tmp_path / "rec", tiny_catalog, vecs[:, :64])
    with pytest.raises(ValueError, match=r"hybrid\.json: .* has 128-wide vectors of 13"):
        HybridRecommender.load(tmp_path / "rec", tiny_catalog, np.vstack([vecs, vecs[:1]]))
    other = Catalog([Product(id=f"x{i}", title=f"thing {i}") for i in range(len(tiny_catalog))])
    with pytest.raises(ValueError, match="different catalog"):
        HybridRecommender.load(tmp_path / "rec", other, vecs)

    class OtherEncoder:
        name = "other"

    with pytest.raises(ValueError, match=r"saved with encoder .*same --encoder"):
        HybridRecommender.load(tmp_path / "rec", tiny_catalog, vecs, OtherEncoder())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["cooccurrence.npz", "als.npz", "profiles.json", "content.npz", "hybrid.npz"])
def test_missing_or_corrupt_file_is_named(
    rec: HybridRecommender, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path, name: str
) -> None:
    rec.save(tmp_path / "rec")
    (tmp_path / "rec" / name).write_bytes(b"\x00garbage")
    with pytest.raises(StateFileError, match=name.replace(".", r"\.")):
        HybridRecommender.load(tmp_path / "rec", tiny_catalog, tiny_searcher.item_vectors)
    (tmp_path / "rec" / name).unlink()
    with pytest.raises(StateFileError, match=name.replace(".", r"\.") + ": file is missing"):
        HybridRecommender.load(tmp_path / "rec", tiny_catalog, tiny_searcher.item_vectors)


def test_wrong_array_shape_and_newer_format_are_rejected(
    rec: HybridRecommender, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tmp_path: Path
) -> None:
    d = tmp_path / "rec"
    rec.save(d)
    np.savez(d / "popularity.npz", counts=np.zeros(3, dtype=np.float32), t_ref=np.float64(0.0))
    with pytest.raises(StateFileError, match=r"popularity\.npz: counts has shape"):
        HybridRecommender.load(d, tiny_catalog, tiny_searcher.item_vectors)
    rec.save(d)
    meta = json.loads((d / "hybrid.json").read_text())
    meta["format_version"] = 99
    (d / "hybrid.json").write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match="format version 99 is newer"):
        HybridRecommender.load(d, tiny_catalog, tiny_searcher.item_vectors)
    meta["format_version"] = 1
    meta["config"]["als"]["factors"] = "four"
    (d / "hybrid.json").write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match=r"config\.als\.factors"):
        HybridRecommender.load(d, tiny_catalog, tiny_searcher.item_vectors)


def test_unfitted_recommender_cannot_be_saved(tiny_searcher: HybridSearcher, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        HybridRecommender(tiny_searcher.item_vectors, CFG).save(tmp_path / "rec")


def test_config_json_round_trip_and_validation() -> None:
    data = json.loads(json.dumps(config_to_json(CFG)))
    assert config_from_json(HybridConfig, data) == CFG
    assert isinstance(config_from_json(HybridConfig, data).weights[0], tuple)
    assert config_from_json(HybridConfig, {"half_life_days": None}).half_life_days is None  # defaults fill in
    with pytest.raises(ValueError, match=r"HybridConfig: unknown field\(s\) \['bogus'\]"):
        config_from_json(HybridConfig, {**data, "bogus": 1})
    with pytest.raises(ValueError, match=r"HybridConfig\.cooccurrence: CooccurrenceConfig\.alpha must be in"):
        config_from_json(HybridConfig, {**data, "cooccurrence": {"alpha": 2.0}})  # __post_init__ runs
    with pytest.raises(ValueError, match="unknown component"):
        config_from_json(HybridConfig, {**data, "weights": [["magic", 1.0]]})
    with pytest.raises(ValueError, match=r"HybridConfig\.als\.iterations: expected int"):
        config_from_json(HybridConfig, {"als": {"iterations": True}})
