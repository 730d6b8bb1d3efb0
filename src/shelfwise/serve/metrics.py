"""Request and ingestion metrics, rendered in the Prometheus text exposition format (0.0.4).

Kept in-process and dependency-free: a counter per (method, route template, status), a latency
histogram per (method, route template), counters of ingested / duplicate / rejected events (and,
of the rejected, those whose ``event_id`` was reused for a different event: conflicts), and,
at scrape time, the live consumer's position and lag. Route labels are templates
(``/recommend/user/{user_id}``) and unmatched paths share one label, so label cardinality stays
bounded whatever clients request.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from shelfwise.bandit.impression_log import LoggerStats
from shelfwise.events.consumer import ConsumerStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in kv.items()) + "}"


def scalar_lines(*rows: tuple[str, str, float, str]) -> list[str]:
    """Exposition lines of unlabelled metrics given as (name, type, value, help): a HELP and a TYPE
    line, then the sample."""
    out: list[str] = []
    for metric, kind, value, text in rows:
        out += [f"# HELP {metric} {text}", f"# TYPE {metric} {kind}", f"{metric} {value}"]
    return out


def impression_lines(stats: LoggerStats) -> str:
    """The impression log's counters and its sampling rate, in exposition format."""
    s = stats.sampler
    lines = [
        "# HELP shelfwise_impression_lists_total explored lists by what the impression log did with them",
        "# TYPE shelfwise_impression_lists_total counter",
    ]
    for what, n in (
        ("sampled", s.sampled),
        ("skipped", s.skipped),
        ("logged", stats.logged),
        ("dropped", stats.dropped),
        ("failed", stats.failed),
    ):
        lines.append(f"shelfwise_impression_lists_total{_labels(outcome=what)} {n}")
    lines += scalar_lines(
        ("shelfwise_impression_sample_rate", "gauge", s.rate, "probability that an explored list is logged now"),
        ("shelfwise_impression_cost_ms", "gauge", s.cost_ms, "CPU ms per logged list (recent average)"),
        ("shelfwise_impression_cpu_share", "gauge", s.cpu_share, "the log's CPU budget, share of one core"),
    )
    return "\n".join(lines) + "\n"


def with_label(text: str, name: str, value: str) -> str:
    """Exposition ``text`` with the label ``name="value"`` on every sample: ``serve --workers N`` gives
    each worker's series its pid, so a scrape that reaches another worker reads another series, not
    a counter that went back (each worker counts its own requests)."""
    pair = f'{name}="{_label(value)}"'
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            metric, _, rest = line.rpartition(" ")  # the value is last: a label value may hold spaces
            head, brace, labels = metric.partition("{")
            line = f"{head}{{{pair}{',' + labels if brace and labels != '}' else '}'} {rest}"
        out.append(line)
    return "\n".join(out) + "\n"


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


@dataclass
class _Histogram:
    counts: list[int]
    total: float = 0.0
    n: int = 0


@dataclass
class IngestCounters:
    """Events this process stored, saw again (``event_id`` already stored for the same event) or
    rejected; ``conflicts``: of the rejected, rows whose ``event_id`` the log holds for a different event."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    conflicts: int = 0


@dataclass
class Metrics:
    """Thread-safe request counters and latency histograms, plus :class:`IngestCounters`."""

    buckets: Sequence[float] = DEFAULT_BUCKETS
    ingest: IngestCounters = field(default_factory=IngestCounters)
    _requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    _latency: dict[tuple[str, str], _Histogram] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.buckets or list(self.buckets) != sorted(set(self.buckets)) or self.buckets[0] <= 0:
            raise ValueError("Metrics.buckets must be positive, strictly increasing and non-empty")

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        with self._lock:
            key = (method, route, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            h = self._latency.get((method, route))
            if h is None:
                h = self._latency[(method, route)] = _Histogram([0] * len(self.buckets))
            i = bisect_left(self.buckets, seconds)
            if i < len(self.buckets):
                h.counts[i] += 1
            h.total += seconds
            h.n += 1

    def count_ingest(self, stored: int, duplicates: int, rejected: int, conflicts: int) -> None:
        with self._lock:
            self.ingest.stored += stored
            self.ingest.duplicates += duplicates
            self.ingest.rejected += rejected
            self.ingest.conflicts += conflicts

    def requests(self, method: str, route: str, status: int) -> int:
        with self._lock:
            return self._requests.get((method, route, str(status)), 0)

    def render(self, consumer: ConsumerStats | None = None) -> str:
        """The exposition text: HTTP series, ingestion counters and, when given, consumer gauges."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = sorted((k, _Histogram(list(h.counts), h.total, h.n)) for k, h in self._latency.items())
            ing = replace(self.ingest)
        out = [
            "# HELP shelfwise_http_requests_total HTTP requests by method, route template and status.",
            "# TYPE shelfwise_http_requests_total counter",
        ]
        out += [f"shelfwise_http_requests_total{_labels(method=m, route=r, status=s)} {n}" for (m, r, s), n in requests]
        out += [
            "# HELP shelfwise_http_request_duration_seconds HTTP request latency by method and route template.",
            "# TYPE shelfwise_http_request_duration_seconds histogram",
        ]
        name = "shelfwise_http_request_duration_seconds"
        for (m, r), h in latency:
            cum = 0
            for le, c in zip(self.buckets, h.counts, strict=True):
                cum += c
                out.append(f"{name}_bucket{_labels(method=m, route=r, le=_num(le))} {cum}")
            out.append(f"{name}_bucket{_labels(method=m, route=r, le='+Inf')} {h.n}")
            out.append(f"{name}_sum{_labels(method=m, route=r)} {_num(h.total)}")
            out.append(f"{name}_count{_labels(method=m, route=r)} {h.n}")
        ingested = (
            ("shelfwise_events_ingested_total", ing.stored, "Events stored by POST /events in this process."),
            ("shelfwise_events_duplicate_total", ing.duplicates, "Events resent: their event_id stored for them."),
            ("shelfwise_events_rejected_total", ing.rejected, "Event rows rejected by validation."),
            ("shelfwise_events_conflict_total", ing.conflicts, "Rejected rows whose event_id a different event has."),
        )
        out += scalar_lines(*((metric, "counter", value, text) for metric, value, text in ingested))
        if consumer is None:
            return "\n".join(out) + "\n"
        out += scalar_lines(
            ("shelfwise_event_log_last_seq", "gauge", consumer.last_seq, "Last sequence number in the event log."),
            ("shelfwise_event_consumer_applied_seq", "gauge", consumer.applied_seq, "Last applied sequence."),
            ("shelfwise_event_consumer_lag", "gauge", consumer.lag, "Logged events not yet applied."),
            ("shelfwise_event_consumer_applied_total", "counter", consumer.events_applied, "Events applied."),
            ("shelfwise_event_consumer_target_errors_total", "counter", consumer.target_errors, "Failed updates."),
            ("shelfwise_event_consumer_running", "gauge", int(consumer.running), "1 while the consumer runs."),
        )
        return "\n".join(out) + "\n"
