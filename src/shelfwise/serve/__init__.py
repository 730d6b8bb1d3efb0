"""Serve stage: the HTTP API and the demo web page."""

from shelfwise.serve.app import create_app

__all__ = ["create_app"]
