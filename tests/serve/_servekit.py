"""Constants and types shared by the serve tests (the fixture itself is in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

LOCAL = "http://localhost"
KEY = "k" * 20  # a valid API key (16+ printable characters)

MakeClient = Callable[..., TestClient]
