"""/recommend/user logs each list with explored slots (under the request id it answers) with each
explored item's propensity; a later click joins it as the reward, and `shelfwise ope --impressions`
reads the two logs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _servekit import LOCAL
from fastapi.testclient import TestClient

from shelfwise.bandit.impression_log import ImpressionLogger
from shelfwise.bandit.impression_ope import evaluate_impressions, join_rewards
from shelfwise.catalog import Catalog
from shelfwise.cli.main import main
from shelfwise.events import EventLog, EventStore
from shelfwise.events.impressions import ImpressionStore, impressions_path
from shelfwise.recommend import build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.shelf import Shelf, enable_live


def test_served_lists_are_logged_and_rewarded(
    tmp_path: Path,
    tiny_catalog: Catalog,
    tiny_log: EventLog,
    tiny_searcher: HybridSearcher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "events.db"
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    shelf = Shelf(tiny_catalog, tiny_searcher, tiny_log, recommender=rec, user_profiles=rec.profiles)
    enable_live(shelf, EventStore(db), explore_share=0.2)
    shelf.impressions = ImpressionLogger(ImpressionStore(impressions_path(db)))
    t0 = time.time()
    with TestClient(create_app(shelf, warmup=False), base_url=LOCAL) as client:
        answers = [client.get("/recommend/user/u1", params={"k": 5}).json() for _ in range(3)]
        plain = client.get("/recommend/user/u1", params={"k": 5, "explore": "false"}).json()
        assert len(plain["request_id"]) == 32 and plain["request_id"] not in {a["request_id"] for a in answers}
        first = answers[0]
        shown = [it["id"] for it in first["items"]]
        explored = [i for i, it in enumerate(first["items"]) if it["explored"]]
        assert explored, "a list of 5 with share 0.2 explores one slot"
        clicked = shown[explored[0]]
        r = client.post("/events", json={"user_id": "u1", "type": "click", "item_id": clicked, "timestamp": t0 + 60})
        assert r.status_code == 200
        assert shelf.impressions.flush()
        metrics = client.get("/metrics").text
        for line in ('outcome="sampled"} 3', 'outcome="skipped"} 0', 'outcome="logged"} 3', "sample_rate 1.0"):
            assert line in metrics, line
    # the server stopped: its impression log was committed and closed
    read = ImpressionStore(impressions_path(db), read_only=True).read()
    assert read.errors == [] and [i.request_id for i in read.impressions] == [a["request_id"] for a in answers]
    imp = read.impressions[0]
    assert list(imp.items) == shown and list(imp.explored) == explored and imp.user_id == "u1"
    assert imp.route == "/recommend/user" and imp.policy == "bernoulli_ts"
    assert all(p is not None and 0 < p <= q <= 1 for p, q in zip(imp.propensity, imp.inclusion, strict=True))
    assert t0 <= imp.timestamp <= time.time()
    joined = join_rewards(read.impressions, [e for _, e in EventStore(db, read_only=True).read()], until=t0 + 7200)
    lists = [[it["id"] for it in a["items"]] for a in answers]
    latest = max(n for n, ids in enumerate(lists) if clicked in ids)  # last touch: the latest list showing it
    assert joined.rewards[latest][lists[latest].index(clicked)] == 1.0 and sum(map(sum, joined.rewards)) == 1.0
    res = evaluate_impressions(joined)
    was_explored = lists[latest].index(clicked) in read.impressions[latest].explored
    assert res.explored.n == 3 and res.explored.clicks == int(was_explored)
    assert res.notes[0].startswith("too little data")
    assert main(["ope", "--impressions", str(impressions_path(db)), "--until", str(t0 + 7200)]) == 0
    out = capsys.readouterr().out
    assert "lists sampled: 3, at rate 1 (of about 3 explored lists served)" in out
    assert "3 lists with explored slots" in out and "note: too little data: 3 explored slots" in out


def test_metrics_count_only_lists_that_explored(
    tmp_path: Path, tiny_catalog: Catalog, tiny_log: EventLog, tiny_searcher: HybridSearcher
) -> None:
    """A list too short for an explored slot (k=2: the first two slots are never explored) is neither
    sampled nor skipped: the counters and the rate are about explored lists."""
    db = tmp_path / "events.db"
    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    shelf = Shelf(tiny_catalog, tiny_searcher, tiny_log, recommender=rec, user_profiles=rec.profiles)
    enable_live(shelf, EventStore(db), explore_share=0.2)
    shelf.impressions = ImpressionLogger(ImpressionStore(impressions_path(db)))
    with TestClient(create_app(shelf, warmup=False), base_url=LOCAL) as client:
        short = [client.get("/recommend/user/u1", params={"k": 2}).json() for _ in range(4)]
        assert not any(it["explored"] for a in short for it in a["items"])
        long = client.get("/recommend/user/u1", params={"k": 5}).json()
        assert any(it["explored"] for it in long["items"])
        plain = client.get("/recommend/user/u1", params={"k": 5, "explore": "false"}).json()
        assert [a["logged"] for a in (*short, long, plain)] == [False] * 4 + [True, False]
        assert client.get("/recommend/item/p1").json()["logged"] is None
        assert shelf.impressions.flush()
        metrics = client.get("/metrics").text
        for line in ('outcome="sampled"} 1', 'outcome="skipped"} 0', 'outcome="logged"} 1'):
            assert line in metrics, line
