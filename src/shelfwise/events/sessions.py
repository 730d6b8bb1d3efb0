"""Live session state: per-user taste vector and seen items, the ``user_profiles`` contract used by
``/search`` when no recommender keeps histories. Thread-safe and bounded whatever clients send."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventType

if TYPE_CHECKING:
    from shelfwise.recommend.vectors import ItemVectors

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LiveConfig:
    """``session_items``: items per user kept for the session vector; ``max_seen``: seen items kept
    per user; ``max_users``: users kept (least recently active evicted); ``weights``: implicit weight
    per event type (default: :data:`~shelfwise.events.schema.EVENT_WEIGHTS`).

    Live popularity and co-occurrence are the recommender's own incremental models
    (``HybridRecommender.update``), not live state of their own."""

    session_items: int = 20
    max_seen: int = 1000
    max_users: int = 100_000
    weights: tuple[float, ...] = EVENT_WEIGHTS.as_tuple()

    def __post_init__(self) -> None:
        if min(self.session_items, self.max_seen, self.max_users) < 1:
            raise ValueError("LiveConfig: session_items, max_seen and max_users must be >= 1")
        if len(self.weights) != len(EventType) or any(w < 0 for w in self.weights):
            raise ValueError(f"LiveConfig.weights needs {len(EventType)} non-negative values, one per EventType")

    def weight(self, etype: EventType) -> float:
        return self.weights[int(etype)]


@dataclass
class _Session:
    items: deque[tuple[int, float]]
    seen: OrderedDict[int, None]


class LiveSessions:
    """Per-user session taste vector and seen items: the ``user_profiles`` extension contract.

    ``vector(user)`` is the L2-normalised, recency-decayed, event-weighted mean of the
    embeddings of the user's last ``session_items`` items; ``seen(user)`` their catalog rows.
    """

    def __init__(
        self, catalog: Catalog, item_vectors: FloatArray | ItemVectors, config: LiveConfig | None = None
    ) -> None:
        """``item_vectors``: a float32 matrix, or :class:`~shelfwise.recommend.vectors.ItemVectors`
        over the shelf's vector index (rows decoded on request: no float32 copy of a compact index)."""
        if item_vectors.shape[0] != len(catalog):
            raise ValueError(f"LiveSessions: {item_vectors.shape[0]} item vectors for {len(catalog)} catalog rows")
        self.catalog = catalog
        self.item_vectors = (
            np.asarray(item_vectors, dtype=np.float32) if isinstance(item_vectors, np.ndarray) else item_vectors
        )
        self.config = config or LiveConfig()
        self._users: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def update(self, events: Sequence[Event]) -> None:
        cfg = self.config
        with self._lock:
            for e in events:
                row = self.catalog.get_row(e.item_id) if e.item_id else None
                w = cfg.weight(e.type)
                if row is None or w <= 0:
                    continue
                s = self._users.pop(e.user_id, None) or _Session(deque(maxlen=cfg.session_items), OrderedDict())
                self._users[e.user_id] = s
                s.items.append((row, w))
                s.seen.pop(row, None)
                s.seen[row] = None
                while len(s.seen) > cfg.max_seen:
                    s.seen.popitem(last=False)
                while len(self._users) > cfg.max_users:
                    self._users.popitem(last=False)

    def vector(self, user_id: str) -> FloatArray | None:
        with self._lock:
            s = self._users.get(user_id)
            items = list(s.items) if s is not None else []
        if not items:
            return None
        rows = np.array([r for r, _ in items], dtype=np.int64)
        n = len(items)
        w = np.array([wt for _, wt in items], dtype=np.float32) * (0.8 ** np.arange(n - 1, -1, -1, dtype=np.float32))
        v = (w[:, None] * self.item_vectors[rows]).sum(axis=0)
        norm = float(np.linalg.norm(v))
        return (v / norm).astype(np.float32) if norm > 0 else None

    def seen(self, user_id: str) -> set[int]:
        with self._lock:
            s = self._users.get(user_id)
            return set(s.seen) if s is not None else set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._users)
