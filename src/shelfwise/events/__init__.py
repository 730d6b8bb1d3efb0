"""Events stage: behaviour schema, loaders, the durable log, live state and its consumer."""

from shelfwise.events.consumer import ConsumerConfig, ConsumerStats, EventConsumer, IngestResult, updatables
from shelfwise.events.live import LiveState, attach_live
from shelfwise.events.loader import EventFields, EventLoad, load_events, parse_timestamp
from shelfwise.events.rows import DEFAULT_MAX_FUTURE_S, ParsedEvents, parse_event_rows
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventLog, EventType, EventWeights
from shelfwise.events.sessions import LiveConfig, LiveSessions
from shelfwise.events.store import EventStore
from shelfwise.events.updatable import Updatable

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
