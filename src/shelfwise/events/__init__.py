"""Events stage: behaviour schema, loaders, the durable log, live state and its consumer."""

from shelfwise.events.live import (
    DEFAULT_MAX_FUTURE_S,
    ConsumerConfig,
    ConsumerStats,
    EventConsumer,
    IngestResult,
    LiveConfig,
    LiveCooccurrence,
    LivePopularity,
    LiveSessions,
    LiveState,
    ParsedEvents,
    Updatable,
    attach_live,
    parse_event_rows,
    updatables,
)
from shelfwise.events.loader import EventFields, EventLoad, load_events, parse_timestamp
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventLog, EventType, EventWeights
from shelfwise.events.store import EventStore

__all__ = [
    "DEFAULT_MAX_FUTURE_S",
    "EVENT_WEIGHTS",
    "ConsumerConfig",
    "ConsumerStats",
    "Event",
    "EventConsumer",
    "EventFields",
    "EventLoad",
    "EventLog",
    "EventStore",
    "EventType",
    "EventWeights",
    "IngestResult",
    "LiveConfig",
    "LiveCooccurrence",
    "LivePopularity",
    "LiveSessions",
    "LiveState",
    "ParsedEvents",
    "Updatable",
    "attach_live",
    "load_events",
    "parse_event_rows",
    "parse_timestamp",
    "updatables",
]
