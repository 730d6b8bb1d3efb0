"""HTTP routers, one module per area; each only parses, calls a stage, and formats."""

from shelfwise.serve.routes import health, search

ROUTERS = [health.router, search.router]

__all__ = ["ROUTERS"]
