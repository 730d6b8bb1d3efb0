"""Shelfwise: self-hostable search and recommendation for online stores."""

from shelfwise.catalog import Catalog, Filters, Product, load_catalog
from shelfwise.events import Event, EventLog, EventType, load_events
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher, SearchConfig

__version__ = "0.1.0"

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
