"""Operations: offline /docs and /redoc, live /health counts, Prometheus /metrics, JSON access log."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from _servekit import LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.events import Event, EventLog, EventType
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.config import ServeConfig
from shelfwise.serve.docs import assets_dir
from shelfwise.serve.metrics import Metrics, with_label
from shelfwise.shelf import Shelf

EVENT = {"user_id": "u1", "type": "view", "item_id": "p1"}
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""", re.IGNORECASE)


def _refs(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(r"""url:\s*'([^']+)'""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_no_external_host(make_client: MakeClient, page: str) -> None:
    assert assets_dir() is not None, "the serve extra ships the docs assets (fastapi-offline)"
    c = make_client()
    r = c.get(page)
    assert r.status_code == 200
    assert URL.findall(r.text) == [], "a CDN or other external host is referenced"
    refs = _refs(r.text)
    assert refs and all(ref.startswith("/") for ref in refs)
    for ref in refs:  # every asset the page loads is served locally
        got = c.get(ref)
        assert got.status_code == 200 and len(got.content) > 100, ref
    assert c.get("/openapi.json").json()["info"]["title"] == "Shelfwise"


def test_docs_assets_only_whitelisted(make_client: MakeClient) -> None:
    c = make_client()
    assert c.get("/docs-assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert c.get("/docs-assets/core.py").status_code == 404
    assert c.get("/docs-assets/..%2F__init__.py").status_code == 404


def test_health_counts_live_events(
    make_client: MakeClient, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    c = make_client()
    h = c.get("/health").json()
    assert (h["events"], h["events_live"], h["consumer_running"]) == (0, 0, True)
    c.post("/events", json=[EVENT, EVENT, EVENT], params={"wait_ms": 1000})
    h = c.get("/health").json()
    assert (h["events"], h["events_live"], h["events_applied"], h["consumer_lag"]) == (3, 3, 3, 0)
    hist = TestClient(create_app(Shelf(tiny_catalog, tiny_searcher, tiny_log), warmup=False), base_url=LOCAL)
    h = hist.get("/health").json()  # no live log: the history loaded at start
    assert (h["events"], h["events_history"], h["events_live"], h["consumer_running"]) == (12, 12, 0, False)
    head = hist.head("/health")  # uptime checkers probe with HEAD (it answered 405)
    assert head.status_code == 200 and head.headers["content-type"] == "application/json"


def test_health_names_the_product_count_products_and_keeps_items(
    make_client: MakeClient, tiny_catalog: Catalog
) -> None:
    """``items`` is the list of hits in /search and /recommend/*, a count in /health: the count is
    ``products`` now; ``items`` stays for existing clients, marked deprecated in the schema."""
    c = make_client()
    h = c.get("/health").json()
    assert h["products"] == h["items"] == len(tiny_catalog) == 12
    props = c.get("/openapi.json").json()["components"]["schemas"]["HealthResponse"]["properties"]
    assert props["items"].get("deprecated") is True and "products" in props["items"]["description"]
    assert not props["products"].get("deprecated", False)


def test_health_counts_a_saved_recommenders_history(
    tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog, tmp_path: Path
) -> None:
    """A shelf served from its saved recommender (no events file): the history is what the
    recommender holds, not 0."""
    from shelfwise.recommend import HybridRecommender, build_recommender

    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.dense.index)
    fitted = rec.fitted_interactions
    rec.update([Event("u1", EventType.PURCHASE, 99.0, "p7", session_id="s-live")])  # live, after the fit
    assert rec.fitted_interactions == fitted  # the history is what it was fitted on; live events count apart
    rec.save(tmp_path / "rec")
    back = HybridRecommender.load(tmp_path / "rec", tiny_catalog, tiny_searcher.dense.index)
    assert back.fitted_interactions == rec.fitted_interactions > 0
    app = create_app(Shelf(tiny_catalog, tiny_searcher, None, recommender=back), warmup=False)
    h = TestClient(app, base_url=LOCAL).get("/health").json()
    assert (h["events"], h["events_history"]) == (rec.fitted_interactions, rec.fitted_interactions)


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
        if all(got.get(k) == v for k, v in labels.items()) and len(got) == len(labels):
            return float(value)
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_prometheus_text(make_client: MakeClient) -> None:
    c = make_client()
    for _ in range(3):
        c.get("/search", params={"q": "black"})
    c.get("/recommend/cross/p1")  # no recommender loaded: 503, still counted per route template
    c.get("/recommend/cross/p2")
    c.get("/no/such/path")
    c.post("/events", json=[EVENT, {**EVENT, "event_id": "x1"}, {**EVENT, "event_id": "x1"}, {"type": "view"}])
    r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    t = r.text
    assert _sample(t, "shelfwise_http_requests_total", method="GET", route="/search", status="200") == 3
    assert (
        _sample(t, "shelfwise_http_requests_total", method="GET", route="/recommend/cross/{item_id}", status="503") == 2
    )
    assert _sample(t, "shelfwise_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert _sample(t, "shelfwise_http_request_duration_seconds_count", method="GET", route="/search") == 3
    assert _sample(t, "shelfwise_http_request_duration_seconds_bucket", method="GET", route="/search", le="+Inf") == 3
    assert "# TYPE shelfwise_http_request_duration_seconds histogram" in t
    assert _sample(t, "shelfwise_events_ingested_total") == 2
    assert _sample(t, "shelfwise_events_duplicate_total") == 1
    assert _sample(t, "shelfwise_events_rejected_total") == 1
    assert _sample(t, "shelfwise_event_log_last_seq") == 2
    assert _sample(t, "shelfwise_event_consumer_lag") >= 0


def test_metrics_count_resent_and_reused_event_ids(make_client: MakeClient) -> None:
    """A resent event (its id stored for the same event) is a duplicate; an id reused for another
    event is a conflict, rejected: each has its counter, a batch of conflicts alone (422) too."""
    c = make_client()
    c.post("/events", json=[{**EVENT, "event_id": "d1", "timestamp": 1700000000}])
    batch = [
        {**EVENT, "event_id": "d1", "timestamp": 1700000000},  # resent: a duplicate
        {**EVENT, "event_id": "d1", "item_id": "p2", "timestamp": 1700000000},  # reused: a conflict
        {**EVENT, "event_id": "d2"},  # new
    ]
    out = c.post("/events", json=batch).json()
    assert (out["duplicates"], out["conflicts"], out["stored"]) == (1, 1, 1)
    reused_only = c.post("/events", json={**EVENT, "event_id": "d1", "type": "purchase", "timestamp": 1700000000})
    assert reused_only.status_code == 422
    t = c.get("/metrics").text
    assert "# TYPE shelfwise_events_conflict_total counter" in t
    assert _sample(t, "shelfwise_events_duplicate_total") == 1
    assert _sample(t, "shelfwise_events_conflict_total") == 2
    assert _sample(t, "shelfwise_events_rejected_total") == 2  # the conflicts are rejected rows
    assert _sample(t, "shelfwise_events_ingested_total") == 2


def test_metrics_of_a_worker_carry_its_pid(make_client: MakeClient) -> None:
    """With --workers N a scrape reaches one worker: its series are its own, not a counter that went back."""
    c = make_client()
    c.get("/search", params={"q": "black"})
    c.app.state.worker_label = "4242"  # type: ignore[attr-defined]  # what WorkerApp sets
    t = c.get("/metrics").text
    assert _sample(t, "shelfwise_http_requests_total", worker="4242", method="GET", route="/search", status="200") == 1
    assert _sample(t, "shelfwise_events_ingested_total", worker="4242") == 0
    samples = [line for line in t.splitlines() if line and not line.startswith("#")]
    assert samples and all('{worker="4242"' in line for line in samples)
    quoted = with_label('a{route="/x y"} 2\n', "worker", "1")  # a label value with a space
    assert quoted == 'a{worker="1",route="/x y"} 2\n'


def test_metrics_histogram_buckets_cumulative() -> None:
    m = Metrics(buckets=(0.01, 0.1))
    for s in (0.005, 0.05, 0.05, 3.0):
        m.observe("GET", '/a"b', 200, s)
    t = m.render()
    assert _sample(t, "shelfwise_http_request_duration_seconds_bucket", method="GET", route='/a\\"b', le="0.01") == 1
    assert _sample(t, "shelfwise_http_request_duration_seconds_bucket", method="GET", route='/a\\"b', le="0.1") == 3
    assert _sample(t, "shelfwise_http_request_duration_seconds_bucket", method="GET", route='/a\\"b', le="+Inf") == 4
    assert _sample(t, "shelfwise_http_request_duration_seconds_sum", method="GET", route='/a\\"b') == pytest.approx(
        3.105
    )
    with pytest.raises(ValueError):
        Metrics(buckets=(0.1, 0.01))


def test_access_log_one_json_object_per_request(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    c = make_client()
    with caplog.at_level(logging.INFO, logger="shelfwise.access"):
        c.get("/search", params={"q": "black"})
        c.get("/recommend/cross/p1")
        c.get("/health", headers={"host": "evil.example"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "shelfwise.access"]
    assert [(x["route"], x["status"]) for x in lines] == [
        ("/search", 200),
        ("/recommend/cross/{item_id}", 503),
        ("<unmatched>", 400),
    ]
    assert all(x["method"] == "GET" and x["ms"] >= 0 and "path" in x for x in lines)
    assert lines[1]["path"] == "/recommend/cross/p1"


def test_access_log_can_be_disabled(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    c = make_client(ServeConfig(access_log=False))
    with caplog.at_level(logging.INFO, logger="shelfwise.access"):
        c.get("/health")
    assert not [r for r in caplog.records if r.name == "shelfwise.access"]
