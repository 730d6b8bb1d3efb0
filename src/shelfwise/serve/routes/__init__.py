"""HTTP routers, one module per area; each only parses, calls a stage, and formats."""

from shelfwise.serve.routes import admin, events, health, recommend, search, store, valuation

ROUTERS = [health.router, search.router, events.router, recommend.router, store.router, valuation.router, admin.router]

__all__ = ["ROUTERS"]
