"""A shelf saves as one folder with a manifest, loads back whole, refuses bad folders naming the
file, and resumes the event log after its snapshot (tiny made-up catalog and events)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog, EventStore, EventType
from shelfwise.shelf import Shelf, enable_live
from shelfwise.snapshot import LoadOptions, ShelfConfig, ShelfFormatError
from shelfwise.snapshot.manifest import publish, staging_dir


def _events(catalog: Catalog, n: int, start: int = 0) -> list[Event]:
    ids = catalog.ids
    return [
        Event(
            user_id=f"u{i % 4}",
            item_id=ids[(i * 5) % len(ids)],
            type=EventType.PURCHASE,
            timestamp=float(i),
            session_id=f"s{i % 4}",
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def built(tiny_catalog: Catalog, tiny_log: EventLog) -> Shelf:
    return Shelf.build(tiny_catalog, tiny_log, ShelfConfig(encoder="hashing", progress=False))


def test_round_trip_keeps_every_part(built: Shelf, tmp_path: Path) -> None:
    manifest = built.save(tmp_path / "shelf")
    assert sorted(manifest.parts) == ["catalog", "recommender", "searcher", "suggester"]
    again = Shelf.load(tmp_path / "shelf")
    assert again.source == tmp_path / "shelf" and again.recommender is not None
    assert again.catalog.ids == built.catalog.ids
    assert again.searcher.search("trousers", 3).ids.tolist() == built.searcher.search("trousers", 3).ids.tolist()
    assert again.recommender.recommend("u1", 3).ids.tolist() == built.recommender.recommend("u1", 3).ids.tolist()
    assert again.suggester is not None and again.suggester.suggest("tro") == built.suggestions().suggest("tro")
    raw = json.loads((tmp_path / "shelf" / "shelf.json").read_text())
    assert raw["format"] == "shelfwise-shelf" and all({"kind", "format", "version"} <= set(p) for p in raw["parts"])


def test_live_snapshot_resumes_after_its_offset(built: Shelf, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "ev.sqlite")
    store.append(_events(built.catalog, 20))
    live = enable_live(built, store, start=False)
    assert live.consumer.drain() == 20
    manifest = built.save(tmp_path / "shelf")
    assert manifest.parts["live"].extra["offset"] == 20 and "bandit" in manifest.parts
    store.append(_events(built.catalog, 5, start=20))
    again = Shelf.load(tmp_path / "shelf")
    assert again.saved_live is not None and again.bandit is not None
    restored = enable_live(again, store, start=False)
    assert restored.consumer.applied_seq == 20  # only the events after the snapshot are replayed
    assert len(restored.sessions) == len(live.sessions) and again.recommender is not None
    assert built.recommender is not None  # live popularity: the recommender's own, saved with it
    np.testing.assert_allclose(again.recommender.popularity.counts, built.recommender.popularity.counts)
    assert restored.consumer.drain() == 5
    live.consumer.drain()  # the original, fed the same 5, agrees with the restored one
    np.testing.assert_allclose(again.recommender.popularity.counts, built.recommender.popularity.counts)
    assert restored.sessions.seen("u1") == live.sessions.seen("u1")
    np.testing.assert_allclose(restored.sessions.vector("u1"), live.sessions.vector("u1"), rtol=1e-6)  # type: ignore[arg-type]


def test_snapshot_of_another_log_replays_in_full(built: Shelf, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "a.sqlite")
    store.append(_events(built.catalog, 10))
    enable_live(built, store, start=False).consumer.drain()
    built.save(tmp_path / "shelf")
    other = EventStore(tmp_path / "b.sqlite")
    other.append(_events(built.catalog, 12, start=100))
    live = enable_live(Shelf.load(tmp_path / "shelf"), other, start=False)
    assert live.consumer.applied_seq == 0 and live.consumer.drain() == 12


def test_saving_while_the_consumer_runs_records_what_it_applied(built: Shelf, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "ev.sqlite")
    live = enable_live(built, store)
    try:
        seq = live.consumer.ingest(_events(built.catalog, 8), wait_s=5).last_seq
        manifest = built.save(tmp_path / "shelf")
        assert manifest.parts["live"].extra["offset"] == seq
        assert live.consumer.stats().running  # paused for the copy, then running again
    finally:
        live.consumer.stop()


def test_newer_part_version_is_refused_naming_the_manifest(built: Shelf, tmp_path: Path) -> None:
    built.save(tmp_path / "shelf")
    f = tmp_path / "shelf" / "shelf.json"
    raw = json.loads(f.read_text())
    raw["parts"][1]["version"] = 99
    f.write_text(json.dumps(raw))
    with pytest.raises(ShelfFormatError, match=r"shelf\.json.*searcher.*version 99.*upgrade shelfwise"):
        Shelf.load(tmp_path / "shelf")
    raw["version"] = 7
    f.write_text(json.dumps(raw))
    with pytest.raises(
        ShelfFormatError, match="shelf format is version 7; this Shelfwise reads versions 1 to 1: upgrade"
    ):
        Shelf.load(tmp_path / "shelf")


def test_corrupt_or_missing_file_is_named(built: Shelf, tmp_path: Path) -> None:
    built.save(tmp_path / "shelf")
    f = tmp_path / "shelf" / "recommender" / "hybrid.npz"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ShelfFormatError, match=r"recommender/hybrid\.npz: checksum mismatch"):
        Shelf.load(tmp_path / "shelf")
    f.unlink()
    with pytest.raises(ShelfFormatError, match=r"recommender/hybrid\.npz: missing file"):
        Shelf.load(tmp_path / "shelf")
    (tmp_path / "shelf" / "shelf.json").write_text("{not json")
    with pytest.raises(ShelfFormatError, match=r"shelf\.json: corrupt manifest"):
        Shelf.load(tmp_path / "shelf")


def test_unreadable_part_is_named_even_without_checksums(built: Shelf, tmp_path: Path) -> None:
    from shelfwise.snapshot import LoadOptions

    built.save(tmp_path / "shelf")
    f = tmp_path / "shelf" / "catalog" / "catalog.parquet"
    size = f.stat().st_size
    f.write_bytes(b"x" * size)  # same size: only the checksum, or the loader, can tell
    with pytest.raises(ShelfFormatError, match=r"part 'catalog' failed to load.*catalog"):
        Shelf.load(tmp_path / "shelf", LoadOptions(checksums=False))


def test_index_folder_from_before_shelves_still_loads(built: Shelf, tmp_path: Path) -> None:
    old = tmp_path / "old"
    built.searcher.save(old)
    built.catalog.save(old / "catalog.parquet")
    shelf = Shelf.load(old)
    assert len(shelf.catalog) == len(built.catalog) and shelf.recommender is None
    with pytest.raises(ShelfFormatError, match="re-run `shelfwise index`"):
        Shelf.load(tmp_path / "nothing")


def test_publish_replaces_a_shelf_whole_but_never_another_folder(built: Shelf, tmp_path: Path) -> None:
    built.save(tmp_path / "shelf")
    (tmp_path / "shelf" / "stale.txt").write_text("left over")
    built.save(tmp_path / "shelf")
    assert not (tmp_path / "shelf" / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shelf")]  # no staging left behind
    other = tmp_path / "photos"
    other.mkdir()
    (other / "a.jpg").write_text("x")
    with pytest.raises(FileExistsError, match="not a shelf"):
        publish(staging_dir(other), other)
    assert (other / "a.jpg").exists()


def test_build_time_recorded(built: Shelf) -> None:
    assert {"index_build_s", "recommender_fit_s"} <= set(built.timings)


def test_readers_of_the_search_part_find_it_in_either_layout(built: Shelf, tmp_path: Path) -> None:
    from shelfwise.snapshot.io import catalog_file, searcher_folder

    built.save(tmp_path / "shelf")
    assert (searcher_folder(tmp_path / "shelf") / "searcher.json").is_file()
    assert catalog_file(tmp_path / "shelf").is_file()
    built.searcher.save(tmp_path / "old")
    assert searcher_folder(tmp_path / "old") == tmp_path / "old"
    assert catalog_file(tmp_path / "old") == tmp_path / "old" / "catalog.parquet"


def test_events_logged_but_not_yet_applied_at_the_snapshot_are_replayed(built: Shelf, tmp_path: Path) -> None:
    from shelfwise.events import ConsumerConfig, attach_live

    store = EventStore(tmp_path / "ev.sqlite")
    store.append(_events(built.catalog, 10))
    built.live = attach_live(
        built.updatables,
        built.catalog,
        built.searcher.item_vectors,
        store,
        consumer=ConsumerConfig(batch_size=4),
        start=False,
    )
    assert built.live.consumer.run_once() == 4  # 6 acknowledged events still waiting for the consumer
    assert built.save(tmp_path / "shelf").parts["live"].extra["offset"] == 4
    live = enable_live(Shelf.load(tmp_path / "shelf"), store, start=False)
    assert live.consumer.applied_seq == 4 and live.consumer.drain() == 6  # none lost, none applied twice


def test_publish_searcher_keeps_the_other_parts(built: Shelf, tiny_log: EventLog, tmp_path: Path) -> None:
    from shelfwise.encode import HashingEncoder
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.snapshot.publish import publish_searcher

    store = EventStore(tmp_path / "ev.sqlite")
    store.append(_events(built.catalog, 7))
    enable_live(built, store, start=False).consumer.drain()
    built.save(tmp_path / "shelf")
    same_dim = HybridSearcher.build(built.catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    manifest = publish_searcher(tmp_path / "shelf", same_dim)
    assert {"recommender", "bandit", "live", "suggester"} <= set(manifest.parts) and manifest.parts["live"].extra[
        "offset"
    ] == 7
    again = Shelf.load(tmp_path / "shelf", LoadOptions(encoder="hashing"))
    assert again.recommender is not None and again.saved_live is not None and again.saved_live.offset == 7
    other_dim = HybridSearcher.build(built.catalog, HashingEncoder(dim=64))
    assert "recommender" not in publish_searcher(tmp_path / "shelf", other_dim).parts  # its vectors changed shape
    refit = publish_searcher(tmp_path / "shelf", other_dim, events=tiny_log)
    assert "recommender" in refit.parts and "live" in refit.parts


def test_reranker_option_skips_loading_the_saved_reranker(
    tiny_catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shelfwise.eval.judgments import Judgments
    from shelfwise.rank.ltr import LTRReranker
    from shelfwise.snapshot import io

    queries = {"a": "black trousers", "b": "summer dress", "c": "leather belt"}
    relevance = {"a": {"p1": 2.0, "p11": 1.0}, "b": {"p5": 2.0, "p12": 1.0}, "c": {"p3": 2.0}}
    judged = Judgments(queries, relevance)
    shelf = Shelf.build(tiny_catalog, None, ShelfConfig(encoder="hashing", progress=False, judgments=judged))
    assert shelf.searcher.reranker is not None
    assert "reranker" in shelf.save(tmp_path / "shelf").parts
    old = tmp_path / "old"  # an index folder from before shelves, its reranker at the top
    shelf.searcher.save(old)
    shelf.catalog.save(old / "catalog.parquet")
    assert isinstance(shelf.searcher.reranker, LTRReranker)
    shelf.searcher.reranker.save(old / "reranker")
    for folder in (tmp_path / "shelf", old):
        assert Shelf.load(folder).searcher.reranker is not None  # loaded by default
    shelf.searcher.reranker = None
    want = shelf.searcher.search("black trousers", 5).ids.tolist()  # the retrieval alone
    monkeypatch.setattr(io, "load_reranker", lambda *a: pytest.fail("reranker loaded"))
    for folder in (tmp_path / "shelf", old):
        plain = Shelf.load(folder, LoadOptions(reranker=False))
        assert plain.searcher.reranker is None and plain.searcher.search("black trousers", 5).ids.tolist() == want


def test_publish_searcher_keeps_the_stores_synonyms_and_rules(built: Shelf, tmp_path: Path) -> None:
    from shelfwise.encode import HashingEncoder
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.retrieve.rules import Rule as MerchRule
    from shelfwise.retrieve.rules import Rules
    from shelfwise.retrieve.synonyms import Rule, Synonyms
    from shelfwise.snapshot.publish import publish_searcher

    built.searcher.synonyms = Synonyms([Rule(("pants", "trousers"), ("pants", "trousers"))])
    built.rules = Rules(
        [MerchRule("r", "pants", "is", pin=("p2",))], {pid: i for i, pid in enumerate(built.catalog.ids)}
    )
    built.save(tmp_path / "shelf")
    rebuilt = HybridSearcher.build(built.catalog, HashingEncoder(dim=256), encoder_spec="hashing")
    assert rebuilt.synonyms is None
    publish_searcher(tmp_path / "shelf", rebuilt)
    again = Shelf.load(tmp_path / "shelf", LoadOptions(encoder="hashing"))
    assert again.searcher.synonyms is not None and again.searcher.synonyms.added("pants") == "trousers"
    assert again.rules is not None and again.rules.applied("pants").pin == (built.catalog.row("p2"),)
