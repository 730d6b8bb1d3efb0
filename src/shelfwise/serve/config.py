"""Server settings: who may write, which Host names are served, and how big a request may be.

One frozen dataclass, validated on construction, that :func:`shelfwise.serve.create_app` takes.
Nothing here knows about HTTP; :mod:`shelfwise.serve.guard` applies it to requests.

Write policy (``POST /events`` and any admin route):

* with API keys configured, a write needs one of them (``Authorization: Bearer <key>`` or
  ``X-API-Key: <key>``), wherever the server is bound;
* with no key, writes are allowed only while the server is bound to a loopback address
  (``127.0.0.1``, ``::1``, ``localhost``): only processes on the same machine can reach it;
* bound beyond loopback (``0.0.0.0``, a LAN address) with no key, writes are refused (403) and
  :func:`startup_warnings` says so at startup. Reads (search, recommend, health) stay open.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shelfwise.serve.capacity import Capacity

ENV_API_KEY = "SHELFWISE_API_KEY"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MIN_KEY_CHARS = 16


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``)."""
    h = host.strip().strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Limits:
    """Byte limits on untrusted input. ``max_body_bytes``: a request body (413 beyond);
    ``max_id_bytes``: every id-like text value (user, item, session, event ids, filters; UTF-8
    bytes, 422 naming the field); ``max_query_bytes``: free query text (``q``, ``query``);
    ``max_batch``: events in one ``POST /events``."""

    max_body_bytes: int = 1_000_000
    max_id_bytes: int = 256
    max_query_bytes: int = 1024
    max_batch: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_id_bytes", "max_query_bytes", "max_batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Limits.{name} must be an integer >= 1, got {v!r}")

    def for_field(self, name: str) -> int:
        """The byte limit of the text field (or query parameter) ``name``."""
        return self.max_query_bytes if name in QUERY_FIELDS else self.max_id_bytes


QUERY_FIELDS = frozenset({"q", "query"})


def _check_key(key: str) -> None:
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"an API key needs at least {MIN_KEY_CHARS} characters (got {len(key)})")
    if not all(33 <= ord(c) <= 126 for c in key):
        raise ValueError("an API key may contain only printable ASCII without spaces (it travels in a header)")


_ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE)


def browser_origin(origin: str) -> str:
    """``origin`` as a browser sends it in ``Origin`` (lower case, no default port: ``:80`` for http,
    ``:443`` for https), which CORS compares exactly."""
    o = origin.lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if o.startswith(scheme) and o.endswith(port):
            return o[: -len(port)]
    return o


def _norm_host(h: str) -> str:
    return h.strip().strip("[]").lower().rstrip(".")


@dataclass(frozen=True)
class ServeConfig:
    """``bind_host``: the address the server listens on (decides the no-key write policy and joins
    the default Host allow-list); ``api_keys``: accepted write keys (empty = none configured);
    ``allowed_hosts``: Host header names served (``"*"`` = any, ``"*.example.com"`` = that domain's
    subdomains); None = ``localhost``, ``127.0.0.1``, ``::1`` and ``bind_host``; ``limits``: byte
    limits; ``cors_origins``: web origins (``https://shop.example.com``, or ``"*"``) whose pages may call
    the API from the browser (CORS; none by default: the storefront at ``/`` is same-origin);
    ``access_log``: one JSON line per request on the ``shelfwise.access`` logger;
    ``capacity``: worker processes, in-flight / queue limits and the encoder executor
    (:mod:`shelfwise.serve.capacity`)."""

    bind_host: str = "127.0.0.1"
    api_keys: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    access_log: bool = True
    capacity: Capacity = field(default_factory=Capacity)

    def __post_init__(self) -> None:
        if not self.bind_host.strip():
            raise ValueError("ServeConfig.bind_host must be non-empty")
        for key in self.api_keys:
            _check_key(key)
        if self.allowed_hosts is not None:
            if not self.allowed_hosts:
                raise ValueError("ServeConfig.allowed_hosts: give at least one host name, or None for the default")
            for h in self.allowed_hosts:
                if not _norm_host(h) or any(c.isspace() or c in "/@" for c in h):
                    raise ValueError(f"ServeConfig.allowed_hosts: {h!r} is not a host name")
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"ServeConfig.cors_origins: {origin!r} is not a web origin: scheme and host, with a port if "
                    "not the default and no path (https://shop.example.com, http://localhost:3000), or '*'"
                )

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.bind_host)

    @property
    def writes_open(self) -> bool:
        """Writes need no key: none is configured and only this machine can reach the server."""
        return not self.api_keys and self.loopback_only

    def host_names(self) -> tuple[str, ...]:
        """The normalised Host allow-list in force."""
        if self.allowed_hosts is not None:
            return tuple(dict.fromkeys(_norm_host(h) for h in self.allowed_hosts))
        extra = () if self.bind_host in ("0.0.0.0", "::") else (self.bind_host,)
        return tuple(dict.fromkeys(_norm_host(h) for h in (*LOOPBACK_NAMES, *extra)))


def load_api_keys(
    keys: Sequence[str] = (), key_file: str | Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """API keys from, in order: ``keys`` (the ``--api-key`` flag), the ``SHELFWISE_API_KEY``
    environment variable (``env``, default ``os.environ``; several keys comma-separated) and
    ``key_file`` (one key per line; blank lines and ``#`` comments skipped). Duplicates dropped;
    each key is validated (length, header-safe characters)."""
    environ = os.environ if env is None else env
    found: list[str] = [k.strip() for k in keys if k.strip()]
    found += [k.strip() for k in environ.get(ENV_API_KEY, "").split(",") if k.strip()]
    if key_file is not None:
        text = Path(key_file).read_text(encoding="utf-8")
        found += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    out = tuple(dict.fromkeys(found))
    for k in out:
        _check_key(k)
    return out


def parse_origins(values: Iterable[str]) -> tuple[str, ...]:
    """``--cors-origins a,b --cors-origins c`` -> ("a", "b", "c"), a trailing slash dropped."""
    return tuple(dict.fromkeys(o.strip().rstrip("/") for v in values for o in v.split(",") if o.strip()))


def parse_hosts(values: Iterable[str]) -> tuple[str, ...] | None:
    """``--allowed-hosts a,b --allowed-hosts c`` -> ("a", "b", "c"); nothing given -> None (default)."""
    out = tuple(h.strip() for v in values for h in v.split(",") if h.strip())
    return out or None


def startup_warnings(config: ServeConfig) -> list[str]:
    """What an operator must hear at startup about this configuration."""
    out: list[str] = []
    if not config.loopback_only and not config.api_keys:
        out.append(
            f"serving on {config.bind_host} (beyond loopback) with no API key: POST /events and admin routes "
            f"answer 403 until a key is set (--api-key-file FILE, {ENV_API_KEY}, or --api-key)"
        )
    if not config.loopback_only and config.allowed_hosts is None:
        out.append(
            "no --allowed-hosts given: only requests whose Host header is "
            + ", ".join(config.host_names())
            + " are served (400 otherwise); list the names clients use, e.g. --allowed-hosts shop.example.com"
        )
    return out
