"""Serve stage: the HTTP API and the demo web page.

``create_app`` is imported on first use (PEP 562), so the CLI's other commands, which import
``shelfwise.serve.setup`` for ``serve``'s argument handling, do not pay for FastAPI and the routes
(~0.85 s at start-up on the 2-core machine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shelfwise.serve.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from shelfwise.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'shelfwise.serve' has no attribute {name!r}")
