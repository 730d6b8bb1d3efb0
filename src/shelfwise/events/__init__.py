"""Events stage: behaviour schema, loaders, the durable log."""

from shelfwise.events.loader import EventFields, EventLoad, load_events, parse_timestamp
from shelfwise.events.schema import DEFAULT_WEIGHTS, Event, EventLog, EventType
from shelfwise.events.store import EventStore

__all__ = [
    "DEFAULT_WEIGHTS",
    "Event",
    "EventFields",
    "EventLoad",
    "EventLog",
    "EventStore",
    "EventType",
    "load_events",
    "parse_timestamp",
]
