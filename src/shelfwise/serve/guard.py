"""Request checks that need no web framework: Host allow-list, API keys, text limits.

Each function takes plain values and returns a verdict, so the rules are unit-testable and the
transport layer (:mod:`shelfwise.serve.middleware`, :mod:`shelfwise.serve.deps`) only maps
verdicts to status codes.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from shelfwise.serve.config import ServeConfig


def host_of(header: str) -> str:
    """The host name of a Host header value: port and IPv6 brackets removed, lower case."""
    h = header.strip().lower()
    if h.startswith("["):  # [::1]:8000
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:  # name:port (a bare IPv6 address has several colons)
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def host_allowed(header: str | None, allowed: Sequence[str]) -> bool:
    """Whether a request with this Host header is served (DNS-rebinding defence). A missing or
    empty header is refused; ``"*"`` allows any host, ``"*.example.com"`` any subdomain."""
    if not header:
        return False
    host = host_of(header)
    if not host:
        return False
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


@dataclass(frozen=True)
class WriteVerdict:
    """``status``: 0 = allowed, 401 = key missing or wrong, 403 = writes closed (no key configured
    and not on loopback); ``message``: why, for the client."""

    status: int
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 0


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a client sent: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    return None


def check_write(config: ServeConfig, key: str | None) -> WriteVerdict:
    """Whether a write with ``key`` (None: none sent) is allowed under ``config``'s policy."""
    if config.api_keys:
        if key is None:
            return WriteVerdict(401, "this route needs an API key: 'Authorization: Bearer <key>' or 'X-API-Key'")
        given = key.encode("utf-8", "surrogatepass")
        if any(hmac.compare_digest(given, k.encode("ascii")) for k in config.api_keys):
            return WriteVerdict(0)
        return WriteVerdict(401, "invalid API key")
    if config.writes_open:
        return WriteVerdict(0)
    return WriteVerdict(
        403,
        "writes are disabled: this server is reachable beyond loopback and has no API key configured "
        "(start it with --api-key-file, SHELFWISE_API_KEY or --api-key)",
    )


def text_problem(value: str, max_bytes: int) -> str | None:
    """Why ``value`` is not acceptable text (None when it is): a lone surrogate (not valid Unicode,
    cannot be stored or echoed as UTF-8), or more than ``max_bytes`` UTF-8 bytes."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid Unicode text (lone surrogate)"
    if size > max_bytes:
        return f"too long: {size} bytes, at most {max_bytes}"
    return None


def safe_name(name: str, max_chars: int = 64) -> str:
    """A field name fit to echo in an error: invalid Unicode replaced, length capped."""
    clean = name.encode("utf-8", "replace").decode("utf-8")
    return clean if len(clean) <= max_chars else clean[:max_chars] + "..."
