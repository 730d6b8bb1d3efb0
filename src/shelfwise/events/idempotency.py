"""A client ``event_id`` reused for a different event: told apart from a retry of the same one.

An event log that stores each ``event_id`` once (:meth:`EventStore.append_unique
<shelfwise.events.store.EventStore.append_unique>`) counts a resent id as a duplicate, which is
right for a retry (the same event sent again) and wrong for a reused id (a client bug: two events,
one id): the second event would be dropped silently. The IETF Idempotency-Key draft
(draft-ietf-httpapi-idempotency-key-header, section 2.7) and Stripe's idempotency keys treat a key
reused with another payload as a client error, the request not applied; Segment's ``messageId``
and Snowplow's ``event_id`` dedupe without comparing, and Snowplow's deduplication keeps such
"synthetic duplicates" apart by their content fingerprint. :func:`find_conflicts` compares each
duplicate with the stored copy, field by field, so that the caller can reject it with a reason.

A timestamp the client left out (the server's clock filled it in) is not compared: a retry of such
an event carries another "now".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shelfwise.events.backend import EventBackend
from shelfwise.events.schema import Event
from shelfwise.events.store import AppendResult

FIELDS = ("user_id", "item_id", "type", "timestamp", "session_id", "query", "request_id")  # an event's content


@dataclass(frozen=True)
class Conflict:
    """Batch event ``index`` carries ``event_id``, which the log holds at ``seq`` for an event whose
    ``fields`` differ from it; it was not stored."""

    index: int
    event_id: str
    seq: int
    fields: tuple[str, ...]

    def message(self) -> str:
        said = ", ".join(self.fields)
        return (
            f"event_id {self.event_id!r} is already used by another event (log sequence number {self.seq}; "
            f"{said} differ{'s' if len(self.fields) == 1 else ''}): not stored; give each event its own id"
        )


def differing_fields(stored: Event, sent: Event, timestamp_given: bool = True) -> tuple[str, ...]:
    """The :data:`FIELDS` in which ``sent`` differs from ``stored`` (the timestamp only when
    ``timestamp_given``)."""
    return tuple(f for f in FIELDS if (f != "timestamp" or timestamp_given) and getattr(stored, f) != getattr(sent, f))


def _stored_copies(store: EventBackend, seqs: set[int]) -> dict[int, Event]:
    """The log's events at ``seqs``, read in one call per run of consecutive numbers (a retried
    batch's copies lie together); a number the log no longer holds is left out."""
    out: dict[int, Event] = {}
    todo = sorted(s for s in seqs if s > 0)
    start = 0
    while start < len(todo):
        end = start
        while end + 1 < len(todo) and todo[end + 1] == todo[end] + 1:
            end += 1
        for seq, e in store.read(todo[start] - 1, end - start + 1):
            out[seq] = e
        start = end + 1
    return out


def find_conflicts(
    store: EventBackend,
    events: Sequence[Event],
    event_ids: Sequence[str | None],
    result: AppendResult,
    timestamp_given: Sequence[bool] | None = None,
) -> list[Conflict]:
    """Of the events ``result`` (``store.append_unique(events, event_ids)``) reported as duplicates,
    those whose stored copy differs (:func:`differing_fields`), in batch order. ``timestamp_given[i]``:
    event ``i``'s timestamp came from the client (default: every one did). A copy the log no longer
    holds (past a JetStream retention limit) cannot be compared: its event stays a duplicate."""
    given = list(timestamp_given) if timestamp_given is not None else [True] * len(events)
    if not len(given) == len(event_ids) == len(events) == len(result.stored_mask):
        raise ValueError("find_conflicts: events, event_ids, timestamp_given and the result differ in length")
    dups = [i for i, stored in enumerate(result.stored_mask) if not stored and event_ids[i]]
    seq_of = dict(zip(dups, result.duplicate_seqs, strict=True))
    copies = _stored_copies(store, set(seq_of.values())) if dups else {}
    out = []
    for i in dups:
        copy = copies.get(seq_of[i])
        fields = differing_fields(copy, events[i], given[i]) if copy is not None else ()
        if fields:
            out.append(Conflict(i, str(event_ids[i]), seq_of[i], fields))
    return out
