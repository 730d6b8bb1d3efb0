"""Shelfwise: self-hostable search and recommendation for online stores.

The names below are imported on first use (PEP 562): ``import shelfwise`` itself loads nothing
heavy, so that the ``shelfwise`` command (``python -m shelfwise``) reaches its Ctrl-C handling
(:func:`shelfwise.cli.main.main`) before numpy and the rest load: a Ctrl-C during those imports
printed a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelfwise.catalog import Catalog, Filters, Product, load_catalog
    from shelfwise.events import Event, EventLog, EventType, load_events
    from shelfwise.results import Results
    from shelfwise.retrieve import HybridSearcher, SearchConfig

__version__ = "0.1.0"

_FROM = {
    "Catalog": "shelfwise.catalog",
    "Filters": "shelfwise.catalog",
    "Product": "shelfwise.catalog",
    "load_catalog": "shelfwise.catalog",
    "Event": "shelfwise.events",
    "EventLog": "shelfwise.events",
    "EventType": "shelfwise.events",
    "load_events": "shelfwise.events",
    "Results": "shelfwise.results",
    "HybridSearcher": "shelfwise.retrieve",
    "SearchConfig": "shelfwise.retrieve",
}

__all__ = [
    "Catalog",
    "Event",
    "EventLog",
    "EventType",
    "Filters",
    "HybridSearcher",
    "Product",
    "Results",
    "SearchConfig",
    "__version__",
    "load_catalog",
    "load_events",
]


def __getattr__(name: str) -> object:
    if name not in _FROM:
        raise AttributeError(f"module 'shelfwise' has no attribute {name!r}")
    value = getattr(importlib.import_module(_FROM[name]), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    """The module's names with the public ones not loaded yet (tab completion, ``help``)."""
    return sorted(set(globals()) | set(__all__))
