"""Per-user histories: the "user_profiles" shelf extension.

``vector(user)`` is the recency-weighted mean of the user's item embeddings (L2-normalised),
used by search personalisation; ``seen(user)`` feeds the exclude-seen filter; ``context(user)``
is what recommenders score. Histories grow with :meth:`update` (the ``Updatable`` contract).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EVENT_WEIGHTS, Event, EventType
from shelfwise.recommend.base import Context, Timeline
from shelfwise.recommend.interactions import decay
from shelfwise.recommend.persist import StateFileError, read_json, read_npz
from shelfwise.recommend.vectors import ItemVectors
from shelfwise.recommend.wording import Wording

if TYPE_CHECKING:
    from shelfwise.recommend.interactions import Interactions

_DEDUP = 100_000
SEQUENCE_TAIL = 50  # the last interactions handed to sequence-aware models, in time order


def history_context(
    items: Sequence[int] | npt.NDArray[np.int64],
    weights: Sequence[float] | npt.NDArray[np.floating],
    timestamps: Sequence[float] | npt.NDArray[np.float64],
    user: str | None,
    half_life_days: float | None,
    live: bool | None = None,
) -> Context:
    """A history's context (events in the order they were recorded): distinct items with their
    weights decayed by age before the latest event and summed (float64, then float32), the last
    :data:`SEQUENCE_TAIL` items in time order and every event with its time (``timeline``, nothing
    computed); ``live``: see :class:`Context`."""
    it = np.asarray(items, dtype=np.int64)
    ts = np.asarray(timestamps, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64) * decay(ts.max() - ts, half_life_days)
    uniq, inv = np.unique(it, return_inverse=True)
    tail = it[np.argsort(ts, kind="stable")][-SEQUENCE_TAIL:]
    sums = np.bincount(inv, weights=w).astype(np.float32)
    return Context(uniq, sums, user, sequence=tail, live=live, timeline=Timeline(it, ts))


class UserProfiles:
    """Mutable per-user (item row, weight, timestamp) histories over one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        weights: Mapping[EventType, float] = EVENT_WEIGHTS,
        half_life_days: float | None = None,
        item_vectors: npt.NDArray[np.float32] | ItemVectors | None = None,
    ) -> None:
        if half_life_days is not None and half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if item_vectors is not None and item_vectors.shape[0] != len(catalog):
            raise ValueError(f"item_vectors has {item_vectors.shape[0]} rows, catalog {len(catalog)}")
        self.catalog = catalog
        self.weights = dict(weights)
        self.half_life_days = half_life_days
        self.item_vectors = item_vectors
        self._hist: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self._applied: OrderedDict[tuple[str, str, int, float, str], None] = OrderedDict()
        self.event_types: set[EventType] = set()  # the kinds of event the histories hold (reasons name them)

    @property
    def wording(self) -> Wording:
        """How reasons name the evidence: from :attr:`event_types`."""
        return Wording.of(self.event_types)

    @classmethod
    def from_interactions(cls, data: Interactions) -> UserProfiles:
        prof = cls(data.catalog, half_life_days=data.half_life_days)
        prof.event_types = set(data.event_types)
        order = np.argsort(data.user, kind="stable")
        u = data.user[order]
        # one tolist per column, then list slices per user: the same histories without a split and
        # three tolist calls per user
        it, w, ts = data.item[order].tolist(), data.weight[order].tolist(), data.timestamp[order].tolist()
        bounds = [0, *(np.flatnonzero(np.diff(u)) + 1).tolist(), len(u)] if len(u) else [0]
        for a, b, user in zip(bounds[:-1], bounds[1:], u[bounds[:-1]].tolist(), strict=True):
            prof._hist[data.users[user]] = (it[a:b], w[a:b], ts[a:b])
        return prof

    def __len__(self) -> int:
        return len(self._hist)

    def __contains__(self, user: object) -> bool:
        return user in self._hist

    def users(self) -> list[str]:
        return list(self._hist)

    def context(self, user: str) -> Context | None:
        """The user's distinct items with summed, recency-decayed weights; None for an unknown user.
        Only whole events are read: :meth:`update` appends an event's row, weight and time one after
        the other, so a request served while a live event is half appended sees the events before it."""
        h = self._hist.get(user)
        if not h:
            return None
        n = min(len(h[2]), len(h[1]), len(h[0]))  # the time is appended last
        if not n:
            return None
        return history_context(h[0][:n], h[1][:n], h[2][:n], user, self.half_life_days)

    def last_event(self, user: str) -> float | None:
        """Unix time of the user's latest event in the history (None: no history)."""
        h = self._hist.get(user)
        return max(h[2]) if h and h[2] else None

    def seen(self, user: str) -> set[int]:
        h = self._hist.get(user)
        return set(h[0]) if h else set()

    def vector(self, user: str) -> npt.NDArray[np.float32] | None:
        if self.item_vectors is None:
            return None
        ctx = self.context(user)
        if ctx is None:
            return None
        v = ctx.weights @ self.item_vectors[ctx.items]
        n = float(np.linalg.norm(v))
        return (v / n).astype(np.float32) if n > 0 else None

    def update(self, events: Sequence[Event]) -> None:
        """Append events with a known item and positive weight; an event applied twice counts once."""
        for e in events:
            key = (e.user_id, e.item_id, int(e.type), e.timestamp, e.session_id)
            if key in self._applied:
                continue
            self._applied[key] = None
            if len(self._applied) > _DEDUP:
                self._applied.popitem(last=False)
            w = self.weights.get(e.type, 0.0)
            row = self.catalog.get_row(e.item_id) if e.item_id else None
            if row is None or w <= 0:
                continue
            self.event_types.add(e.type)
            h = self._hist.setdefault(e.user_id, ([], [], []))
            h[0].append(row)
            h[1].append(w)
            h[2].append(e.timestamp)

    # --- persistence (npz + JSON, no pickle) -------------------------------------------------
    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        users = list(self._hist)
        lens = np.array([len(self._hist[u][0]) for u in users], dtype=np.int64)
        cat = [np.asarray(self._hist[u][j]) for u in users for j in range(3)]
        np.savez(
            p / "profiles.npz",
            lengths=lens,
            items=np.concatenate(cat[0::3]).astype(np.int64) if users else np.zeros(0, np.int64),
            weights=np.concatenate(cat[1::3]).astype(np.float64) if users else np.zeros(0),
            timestamps=np.concatenate(cat[2::3]).astype(np.float64) if users else np.zeros(0),
        )
        meta = {
            "users": users,
            "item_ids": [self.catalog.ids[i] for i in range(len(self.catalog))],
            "half_life_days": self.half_life_days,
            "weights": {t.name: w for t, w in self.weights.items()},
            "applied": [list(k) for k in self._applied],  # so a re-delivered event still counts once
            "event_types": sorted(t.name for t in self.event_types),
        }
        (p / "profiles.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(
        cls, path: str | Path, catalog: Catalog, item_vectors: npt.NDArray[np.float32] | ItemVectors | None = None
    ) -> UserProfiles:
        p = Path(path)
        meta = read_json(p / "profiles.json")
        if meta.get("item_ids") != list(catalog.ids):
            raise StateFileError(p / "profiles.json", "saved profiles were built for a different catalog")
        try:
            prof = cls(
                catalog,
                weights={EventType[k]: float(v) for k, v in meta["weights"].items()},
                half_life_days=meta["half_life_days"],
                item_vectors=item_vectors,
            )
            users = [str(u) for u in meta["users"]]
            saved_types = meta.get("event_types")
            types = None if saved_types is None else {EventType[str(t)] for t in saved_types}
            for user, item, typ, ts, session in meta.get("applied", []):
                prof._applied[(str(user), str(item), int(typ), float(ts), str(session))] = None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise StateFileError(p / "profiles.json", f"bad profile metadata ({e!r})") from e
        f = p / "profiles.npz"
        z = read_npz(f, ("lengths", "items", "weights", "timestamps"))
        lengths = z["lengths"]
        ends = np.cumsum(lengths)
        n = int(ends[-1]) if len(ends) else 0
        if len(lengths) != len(users) or any(len(z[k]) != n for k in ("items", "weights", "timestamps")):
            raise StateFileError(f, "history arrays do not match the users in profiles.json")
        if n and (z["items"].min() < 0 or z["items"].max() >= len(catalog)):
            raise StateFileError(f, "history holds rows outside the catalog")
        starts = ends - lengths
        for u, a, b in zip(users, starts.tolist(), ends.tolist(), strict=True):
            prof._hist[u] = (z["items"][a:b].tolist(), z["weights"][a:b].tolist(), z["timestamps"][a:b].tolist())
        prof.event_types = types if types is not None else prof._types_from_weights(z["weights"])
        return prof

    def _types_from_weights(self, weights: npt.NDArray[np.float64]) -> set[EventType]:
        """The event types of histories saved before ``event_types`` was: each weight held is
        one type's (every type with that weight when types share one: neutral wording then)."""
        held = set(np.unique(weights).tolist())
        return {t for t, w in self.weights.items() if w > 0 and w in held}
