"""A store's assembled stages: what the CLI, the HTTP server and the Python API share.

A plain container; each stage keeps its own logic. Fields other stages add later are optional
so a shelf can serve search before any behaviour data exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EventLog
from shelfwise.retrieve.hybrid import HybridSearcher


@dataclass
class Shelf:
    catalog: Catalog
    searcher: HybridSearcher
    events: EventLog | None = None
    # Stage objects registered by later stages (recommenders, live event consumers, bandits),
    # keyed by a stable name; each route module documents the key it reads.
    extensions: dict[str, Any] = field(default_factory=dict)
