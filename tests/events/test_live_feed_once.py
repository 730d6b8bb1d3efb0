"""Each committed event reaches each stage once: profiles the recommender keeps are fed by its own
``update``, not a second time as ``shelf.user_profiles``; live sessions are fed once too."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.events import Event, EventLog, EventStore, EventType
from shelfwise.recommend import ALSConfig, HybridConfig, UserProfiles, build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf, enable_live


class Counting:
    """Wraps an object's ``update`` and counts the calls and the events it was given."""

    def __init__(self, obj: object, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls, self.events = 0, 0
        inner = obj.update  # type: ignore[attr-defined]

        def update(events: Sequence[Event]) -> None:
            self.calls += 1
            self.events += len(events)
            inner(events)

        monkeypatch.setattr(obj, "update", update)


def _events() -> list[Event]:
    return [Event("u9", EventType.PURCHASE, 20.0 + i, f"p{i + 1}", session_id="s9") for i in range(3)]


@pytest.fixture
def shelf(tiny_catalog: Catalog, tiny_log: EventLog, tiny_searcher: HybridSearcher) -> Shelf:
    vectors = tiny_searcher.item_vectors
    rec = build_recommender(tiny_catalog, tiny_log, vectors, HybridConfig(als=ALSConfig(factors=4, iterations=2)),
                            encoder=HashingEncoder(dim=128))  # fmt: skip
    return Shelf(catalog=tiny_catalog, searcher=tiny_searcher, recommender=rec, user_profiles=rec.profiles)


def test_recommender_profiles_fed_once_per_batch(shelf: Shelf, monkeypatch: pytest.MonkeyPatch) -> None:
    assert shelf.recommender is not None and shelf.recommender.profiles is shelf.user_profiles
    assert shelf.updatables() == [shelf.recommender]
    profiles = Counting(shelf.user_profiles, monkeypatch)
    live = enable_live(shelf, EventStore(":memory:"), explore_share=0, start=False)
    sessions = Counting(live.sessions, monkeypatch)
    live.consumer.store.append(_events())
    assert live.consumer.drain() == 3
    assert (profiles.calls, profiles.events) == (1, 3) and (sessions.calls, sessions.events) == (1, 3)
    ctx = shelf.recommender.profiles.context("u9")  # type: ignore[union-attr]
    assert ctx is not None and len(ctx.ordered) == 3  # each event in the history once


def test_separate_profiles_are_still_fed(shelf: Shelf, monkeypatch: pytest.MonkeyPatch) -> None:
    own = UserProfiles(shelf.catalog)
    shelf.user_profiles = own
    assert shelf.updatables() == [shelf.recommender, own]
    counted = Counting(own, monkeypatch)
    live = enable_live(shelf, EventStore(":memory:"), explore_share=0, start=False)
    live.consumer.store.append(_events())
    live.consumer.drain()
    assert (counted.calls, counted.events) == (1, 3) and own.seen("u9") == {0, 1, 2}


def test_live_state_of_version_1_still_loads(tiny_catalog: Catalog, tmp_path: Path) -> None:
    """Snapshots from before live popularity/co-occurrence were dropped keep their sessions."""
    import json

    from shelfwise.events import LiveConfig, LiveSessions, attach_live
    from shelfwise.snapshot.livestate import LogPosition, read_live, restore_live, save_live

    store = EventStore(":memory:")
    live = attach_live(lambda: [], tiny_catalog, np.eye(12, dtype=np.float32), store, start=False)
    live.sessions.update(_events())
    save_live(live, tmp_path / "live", LogPosition())
    meta = json.loads((tmp_path / "live" / "live.json").read_text())
    meta["version"] = 1
    meta["config"].update(half_life_s=604800.0, max_pairs=2_000_000)
    meta["recent_keys"] = []
    (tmp_path / "live" / "live.json").write_text(json.dumps(meta))
    with np.load(tmp_path / "live" / "live.npz") as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(tmp_path / "live" / "live.npz", popularity=np.zeros(12), pair_lo=np.zeros(0, np.int64), **arrays)
    saved = read_live(tmp_path / "live", len(tiny_catalog))
    assert saved.config == LiveConfig()
    fresh = attach_live(lambda: [], tiny_catalog, np.eye(12, dtype=np.float32), store, start=False)
    restore_live(fresh, saved)
    assert isinstance(fresh.sessions, LiveSessions) and fresh.sessions.seen("u9") == live.sessions.seen("u9")
