"""Write keys (flag, env, file; Bearer or X-API-Key), the loopback-only no-key policy, and the
Host allow-list against DNS rebinding."""

from __future__ import annotations

from pathlib import Path

import pytest
from _servekit import KEY, LOCAL, MakeClient
from fastapi.testclient import TestClient

from shelfwise.catalog import Catalog
from shelfwise.retrieve import HybridSearcher
from shelfwise.serve import create_app
from shelfwise.serve.config import ENV_API_KEY, ServeConfig, is_loopback, load_api_keys, parse_hosts, startup_warnings
from shelfwise.serve.guard import check_write, host_allowed, host_of, presented_key
from shelfwise.shelf import Shelf

EVENT = {"user_id": "u1", "type": "view", "item_id": "p1"}


def test_no_key_on_loopback_writes_open(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(bind_host="127.0.0.1"))
    assert c.post("/events", json=EVENT).status_code == 200


def test_no_key_beyond_loopback_refuses_writes_keeps_reads(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(bind_host="0.0.0.0"))
    r = c.post("/events", json=EVENT)
    assert r.status_code == 403 and "API key" in r.json()["detail"]
    assert c.get("/events/stats").json()["events"] == 0  # nothing was written
    assert c.get("/search", params={"q": "black"}).status_code == 200
    assert c.get("/health").status_code == 200


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
def test_key_required_when_configured(make_client: MakeClient, bind: str) -> None:
    c = make_client(ServeConfig(bind_host=bind, api_keys=(KEY,)))
    r = c.post("/events", json=EVENT)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.post("/events", json=EVENT, headers={"Authorization": "Bearer " + "x" * 20}).status_code == 401
    assert c.post("/events", json=EVENT, headers={"X-API-Key": KEY[:-1]}).status_code == 401
    assert c.post("/events", json=EVENT, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert c.post("/events", json=EVENT, headers={"X-API-Key": KEY}).status_code == 200
    assert c.get("/events/stats").json()["events"] == 2
    assert c.get("/search", params={"q": "black"}).status_code == 200  # reads stay open


def test_presented_key_and_verdicts() -> None:
    assert presented_key("Bearer abc", None) == "abc" and presented_key("bearer  abc ", None) == "abc"
    assert presented_key("Basic abc", None) is None and presented_key(None, " k ") == "k"
    assert presented_key(None, None) is None
    keyed = ServeConfig(api_keys=(KEY, "z" * 16))
    assert check_write(keyed, "z" * 16).allowed and check_write(keyed, None).status == 401
    assert check_write(keyed, "\ud800").status == 401  # odd text compares, never crashes
    assert check_write(ServeConfig(bind_host="::1"), None).allowed
    assert check_write(ServeConfig(bind_host="192.168.1.5"), None).status == 403


def test_keys_from_flag_env_and_file(tmp_path: Path) -> None:
    f = tmp_path / "keys.txt"
    f.write_text("# shop keys\n" + "f" * 16 + "\n\n" + KEY + "\n", encoding="utf-8")
    keys = load_api_keys(["a" * 16], f, env={ENV_API_KEY: "e" * 16 + "," + "a" * 16})
    assert keys == ("a" * 16, "e" * 16, "f" * 16, KEY)
    assert load_api_keys(env={}) == ()
    with pytest.raises(ValueError, match="at least 16"):
        load_api_keys(["short"], env={})
    with pytest.raises(ValueError, match="printable ASCII"):
        ServeConfig(api_keys=("has space in the key!",))


def test_is_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "shop.example.com"))


def test_host_parsing_and_matching() -> None:
    assert host_of("LocalHost:8000") == "localhost" and host_of("[::1]:8000") == "::1" and host_of("::1") == "::1"
    assert host_of("example.com.") == "example.com"
    allowed = ("localhost", "*.example.com")
    assert host_allowed("localhost:8000", allowed) and host_allowed("a.b.example.com", allowed)
    assert not host_allowed("example.com", allowed) and not host_allowed("evil.com", allowed)
    assert not host_allowed("evilexample.com", allowed)
    assert not host_allowed(None, allowed) and not host_allowed("", allowed)
    assert host_allowed("anything", ("*",))


def test_default_allowed_hosts_are_loopback_plus_bind() -> None:
    assert ServeConfig().host_names() == ("localhost", "127.0.0.1", "::1")
    assert ServeConfig(bind_host="10.1.2.3").host_names() == ("localhost", "127.0.0.1", "::1", "10.1.2.3")
    assert ServeConfig(bind_host="0.0.0.0").host_names() == ("localhost", "127.0.0.1", "::1")
    assert ServeConfig(allowed_hosts=("Shop.Example.com",)).host_names() == ("shop.example.com",)
    assert parse_hosts(["a.com,b.com", " c.com "]) == ("a.com", "b.com", "c.com") and parse_hosts([]) is None
    with pytest.raises(ValueError):
        ServeConfig(allowed_hosts=())
    with pytest.raises(ValueError):
        ServeConfig(allowed_hosts=("http://x.com/",))


def test_dns_rebinding_host_refused(make_client: MakeClient) -> None:
    c = make_client()
    assert c.get("/health").status_code == 200
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        assert c.get("/health", headers={"host": host}).status_code == 200
    r = c.get("/health", headers={"host": "attacker.example:8000"})
    assert r.status_code == 400
    assert r.json()["detail"] == "Host header 'attacker.example' not allowed (see --allowed-hosts)"  # names it
    assert c.post("/events", json=EVENT, headers={"host": "attacker.example"}).status_code == 400
    assert c.get("/events/stats").json()["events"] == 0


def test_allowed_hosts_configurable(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(bind_host="0.0.0.0", allowed_hosts=("shop.example.com",), api_keys=(KEY,)))
    assert c.get("/health", headers={"host": "shop.example.com"}).status_code == 200
    assert c.get("/health").status_code == 400  # localhost is no longer listed
    anyhost = make_client(ServeConfig(allowed_hosts=("*",)), db="any.sqlite", base_url="http://testserver")
    assert anyhost.get("/health").status_code == 200


def test_startup_warnings() -> None:
    assert startup_warnings(ServeConfig()) == []
    lines = startup_warnings(ServeConfig(bind_host="0.0.0.0"))
    assert any("no API key" in w and "403" in w for w in lines) and any("--allowed-hosts" in w for w in lines)
    keyed = startup_warnings(ServeConfig(bind_host="0.0.0.0", api_keys=(KEY,), allowed_hosts=("shop.example",)))
    assert keyed == []


SHOP = "https://shop.example.com"


def test_cors_lets_the_named_origins_read_from_the_browser(make_client: MakeClient) -> None:
    c = make_client(ServeConfig(cors_origins=(SHOP, "http://localhost:3000")))
    r = c.get("/search", params={"q": "black"}, headers={"Origin": SHOP})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SHOP
    pre = c.options(
        "/search",
        headers={"Origin": SHOP, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-api-key"},
    )
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == SHOP
    assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()
    other = c.get("/search", params={"q": "black"}, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers  # the browser blocks it
    refused = c.options("/search", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 400
    plain = make_client(ServeConfig())  # the default: no origin may read from a page elsewhere
    assert "access-control-allow-origin" not in plain.get("/health", headers={"Origin": SHOP}).headers
    anyone = make_client(ServeConfig(cors_origins=("*",)))
    assert anyone.get("/health", headers={"Origin": SHOP}).headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("origin", ["shop.example.com", "https://shop.example.com/path", "ftp://x.example", ""])
def test_a_cors_origin_that_is_not_one_is_refused_naming_it(origin: str) -> None:
    with pytest.raises(ValueError, match="not a web origin"):
        ServeConfig(cors_origins=(origin,))


def test_a_cors_origin_matches_as_browsers_send_it(make_client: MakeClient) -> None:
    """Browsers send the Origin lower-case and without the scheme's default port, and Starlette
    compares it as it is: a configured 'https://Shop.Example.com:443' was accepted and never matched."""
    c = make_client(ServeConfig(cors_origins=("https://Shop.Example.com:443", "HTTP://localhost:80")))
    for origin in (SHOP, "http://localhost"):
        r = c.get("/health", headers={"Origin": origin})
        assert r.headers.get("access-control-allow-origin") == origin, origin
    kept = make_client(ServeConfig(cors_origins=("http://localhost:3000",)))  # another port stays
    assert "access-control-allow-origin" not in kept.get("/health", headers={"Origin": "http://localhost"}).headers


def test_the_guards_own_refusals_carry_cors_headers_for_named_origins(make_client: MakeClient) -> None:
    """A page on a named origin got an opaque CORS failure for a 413 / 400 the guard answers (it sits
    outside the CORS middleware), so it could not tell "too large" from "blocked"."""
    from shelfwise.serve.config import Limits

    c = make_client(ServeConfig(cors_origins=(SHOP,), limits=Limits(max_body_bytes=100)))
    big = c.post(
        "/events", content=b"[" + b" " * 200 + b"]", headers={"Origin": SHOP, "content-type": "application/json"}
    )
    assert big.status_code == 413 and big.headers["access-control-allow-origin"] == SHOP
    host = c.get("/search", params={"q": "x"}, headers={"Origin": SHOP, "Host": "evil.example"})
    assert host.status_code == 400 and host.headers["access-control-allow-origin"] == SHOP
    other = c.post("/events", content=b" " * 200, headers={"Origin": "https://evil.example"})
    assert other.status_code == 413 and "access-control-allow-origin" not in other.headers
    plain = make_client(ServeConfig(limits=Limits(max_body_bytes=100)))  # no CORS configured: none added
    assert (
        "access-control-allow-origin" not in plain.post("/events", content=b" " * 200, headers={"Origin": SHOP}).headers
    )


def test_cors_pages_can_read_the_error_code_header(tiny_catalog: Catalog, tiny_searcher: HybridSearcher) -> None:
    """A 503 for a part the server lacks names it in ``X-Shelfwise-Error`` for clients to act on, but
    only ``Retry-After`` was exposed: a shop's page on another origin could not read which part."""
    app = create_app(
        Shelf(catalog=tiny_catalog, searcher=tiny_searcher), warmup=False, config=ServeConfig(cors_origins=(SHOP,))
    )
    r = TestClient(app, base_url=LOCAL).get("/recommend/user/u1", headers={"Origin": SHOP})
    assert r.status_code == 503 and r.headers["x-shelfwise-error"] == "no-recommender"
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"x-shelfwise-error", "retry-after"} <= exposed
