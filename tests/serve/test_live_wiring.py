"""The composed shelf: an event POSTed over HTTP changes recommendations and search right away."""

from dataclasses import replace
from pathlib import Path

from _servekit import LOCAL
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.events import EventLog, EventStore
from shelfwise.recommend import build_recommender
from shelfwise.recommend.explore import EXPLORE_REASON
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, enable_live


def test_event_changes_recommendations_and_search(
    tmp_path: Path, tiny_catalog: Catalog, tiny_log: EventLog, tiny_searcher: HybridSearcher
) -> None:
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    tiny_searcher.config = SearchConfig(personal_weight=5.0)
    shelf = Shelf(tiny_catalog, tiny_searcher, tiny_log, recommender=rec, user_profiles=rec.profiles)
    consumer = enable_live(shelf, tmp_path / "events.sqlite", explore_share=0.2).consumer
    try:
        client = TestClient(create_app(shelf), base_url="http://localhost")
        before = client.get("/search", params={"q": "dress", "k": 3, "user": "newbie"}).json()["items"]
        r = client.post(
            "/events",
            params={"wait_ms": 2000},
            json={"user_id": "newbie", "type": "purchase", "item_id": "p1", "session_id": "s9"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1 and r.json()["applied"]
        items = client.get("/recommend/user/newbie", params={"k": 5}).json()["items"]
        ids = [it["id"] for it in items]
        assert "p1" not in ids  # just bought: excluded as seen
        assert ids[0] == "p3" and "bought together" in items[0]["reason"]  # p1+p3 co-purchased in the log
        explored = [i for i, it in enumerate(items) if it["reason"] == EXPLORE_REASON]
        assert len(explored) == 1 and explored[0] >= 2
        assert [i for i, it in enumerate(items) if it["explored"]] == explored  # flagged for programs, not only said
        ranked = [it["score"] for it in items if not it["explored"]]  # its own score, outside the model's top 5
        assert items[explored[0]]["score"] <= min(ranked) and ranked == sorted(ranked, reverse=True)
        plain = client.get("/recommend/user/newbie", params={"k": 5, "explore": False}).json()["items"]
        assert all(it["reason"] != EXPLORE_REASON and not it["explored"] for it in plain)
        zh = client.get("/recommend/user/newbie", params={"k": 5, "lang": "zh"}).json()["items"]
        assert sum(it["explored"] for it in zh) == 1  # the flag does not depend on the reason's language
        after = client.get("/search", params={"q": "dress", "k": 3, "user": "newbie"}).json()["items"]
        assert [it["id"] for it in after] != [it["id"] for it in before]  # taste vector now exists
    finally:
        consumer.stop()


def test_shutdown_closes_the_event_log(tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """A server that stops closes its SQLite log, which then folds its write-ahead log back in and
    leaves no ``-wal`` / ``-shm`` files beside it (they were left behind by every stopped server)."""
    db = tmp_path / "live.sqlite"
    shelf = Shelf(catalog=tiny_catalog, searcher=tiny_searcher)
    enable_live(shelf, EventStore(db), explore_share=0)
    with TestClient(create_app(shelf, warmup=False), base_url=LOCAL) as client:
        r = client.post("/events", json={"user_id": "u", "type": "view", "item_id": "p1"})
        assert r.status_code == 200 and (tmp_path / "live.sqlite-wal").exists()
    assert not (tmp_path / "live.sqlite-wal").exists() and not (tmp_path / "live.sqlite-shm").exists()
    assert EventStore(db).last_seq() == 1  # the event is in the file itself


def test_a_gated_explored_item_is_flagged_and_says_why(
    tmp_path: Path, tiny_catalog: Catalog, tiny_log: EventLog, tiny_searcher: HybridSearcher
) -> None:
    """With the relevance gate, an explored item's reason names its evidence after the exploration
    words; the route still flags it ``explored`` (it compared the reason to the plain words)."""
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    shelf = Shelf(tiny_catalog, tiny_searcher, tiny_log, recommender=rec, user_profiles=rec.profiles)
    consumer = enable_live(shelf, tmp_path / "events.sqlite", explore_share=0.2).consumer
    try:
        assert shelf.bandit is not None
        shelf.bandit.config = replace(shelf.bandit.config, candidates=3)
        client = TestClient(create_app(shelf), base_url="http://localhost")
        items = client.get("/recommend/user/u1", params={"k": 5}).json()["items"]
        explored = [it for it in items if it["explored"]]
        assert len(explored) == 1 and explored[0]["reason"].startswith(EXPLORE_REASON + " (")
        assert sum(it["reason"].startswith(EXPLORE_REASON) for it in items) == 1
        zh = client.get("/recommend/user/u1", params={"k": 5, "lang": "zh"}).json()["items"]
        assert sum(it["explored"] for it in zh) == 1 and not any(EXPLORE_REASON in it["reason"] for it in zh)
    finally:
        consumer.stop()
