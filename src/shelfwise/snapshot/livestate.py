"""Saving and restoring the real-time state: live sessions (:mod:`shelfwise.events.sessions`),
the exploration slots' bandit, and the event-log offset they reflect. npz arrays + JSON (user ids,
configs), never pickle.

The live classes keep their state in private, lock-guarded structures; this module is the one
place that reads and restores them (under their locks), so their update logic stays untouched.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.bandit.mab import UCB1, BernoulliTS, EpsilonGreedy
from shelfwise.bandit.slots import SlotConfig, SlotExplorer
from shelfwise.catalog.schema import Catalog
from shelfwise.events.backend import EventBackend
from shelfwise.events.live import LiveState
from shelfwise.events.sessions import LiveConfig, _Session
from shelfwise.recommend.persist import StateFileError, config_from_json, config_to_json, read_json, read_npz
from shelfwise.snapshot.manifest import check_version

log = logging.getLogger(__name__)

LIVE_FORMAT, LIVE_VERSION = "shelfwise-live-state", 2
# version 1 also held live popularity and co-occurrence (now the recommender's own incremental
# models): its arrays are ignored on load and these settings dropped from its config
LEGACY_CONFIG = ("half_life_s", "max_pairs")
BANDIT_FORMAT, BANDIT_VERSION = "shelfwise-slot-explorer", 1
POLICIES = {cls.KIND: cls for cls in (BernoulliTS, UCB1, EpsilonGreedy)}


def _ragged(groups: list[list[Any]], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(g) for g in groups], dtype=np.int64)
    flat = np.array([x for g in groups for x in g], dtype=dtype)
    return lengths, flat


def _split(lengths: np.ndarray, flat: np.ndarray) -> list[np.ndarray]:
    return np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []


# --- the event-log position a snapshot reflects --------------------------------------------------
@dataclass(frozen=True)
class LogPosition:
    """The event-log sequence number a snapshot reflects and the identity (user id, item id,
    timestamp) of the event stored there (None: none there), so a snapshot is never resumed against
    a different log (a fresh file, another store) whose sequence numbers mean other events. Saved
    as the ``offset`` and ``event_at_offset`` fields of ``live.json`` and the shelf manifest."""

    offset: int = 0
    event_at_offset: tuple[str, str, float] | None = None

    def to_json(self) -> dict[str, object]:
        ident = list(self.event_at_offset) if self.event_at_offset is not None else None
        return {"offset": self.offset, "event_at_offset": ident}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> LogPosition:
        """Read back leniently: an identity that is not a [user, item, timestamp] triple is None
        (it then matches no log, so the log is replayed in full)."""
        offset, ident = raw.get("offset", 0), raw.get("event_at_offset")
        seq = int(offset) if isinstance(offset, int | float | str) else 0
        if isinstance(ident, list) and len(ident) == 3 and isinstance(ident[2], int | float):
            return cls(seq, (str(ident[0]), str(ident[1]), float(ident[2])))
        return cls(seq, None)


def log_position(store: EventBackend, seq: int) -> LogPosition:
    """``seq`` and the identity of the event stored there."""
    at = store.read(seq - 1, 1) if seq > 0 else []
    ident = (at[0][1].user_id, at[0][1].item_id, at[0][1].timestamp) if at and at[0][0] == seq else None
    return LogPosition(int(seq), ident)


def resume_offset(store: EventBackend, position: LogPosition) -> int:
    """Where a consumer restored from a snapshot at ``position`` starts in ``store``: its offset when
    ``store`` holds the same event there, else 0 (a full replay, with a warning)."""
    seq = position.offset
    if seq <= 0:
        return 0
    now = log_position(store, seq)
    if now.event_at_offset is None or now.event_at_offset != position.event_at_offset:
        log.warning(
            "the event log %s does not hold the event the shelf snapshot was taken at (seq %d): replaying it "
            "from the start; the snapshot's live state is discarded",
            store.path,
            seq,
        )
        return 0
    return seq


# --- live state ------------------------------------------------------------------------------
def save_live(live: LiveState, folder: Path, position: LogPosition) -> dict[str, object]:
    """Write ``live.json`` + ``live.npz``; return the manifest fields (offset, sizes)."""
    folder.mkdir(parents=True, exist_ok=True)
    ses = live.sessions
    with ses._lock:
        users = list(ses._users)
        sess = list(ses._users.values())
        items = [[r for r, _ in s.items] for s in sess]
        weights = [[w for _, w in s.items] for s in sess]
        seen = [list(s.seen) for s in sess]
    item_len, item_rows = _ragged(items, np.int64)
    _, item_w = _ragged(weights, np.float64)
    seen_len, seen_rows = _ragged(seen, np.int64)
    np.savez(
        folder / "live.npz",
        item_len=item_len,
        item_rows=item_rows,
        item_w=item_w,
        seen_len=seen_len,
        seen_rows=seen_rows,
    )
    meta = {
        "format": LIVE_FORMAT,
        "version": LIVE_VERSION,
        "n_items": len(ses.catalog),
        "config": config_to_json(ses.config),
        "users": users,
        **position.to_json(),
    }
    (folder / "live.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return {**position.to_json(), "users": len(users)}


@dataclass(frozen=True)
class SavedLive:
    """Live state read from a snapshot, applied by :func:`restore_live` once a log is attached."""

    config: LiveConfig
    position: LogPosition
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    folder: Path

    @property
    def offset(self) -> int:
        return self.position.offset


_KEYS = ("item_len", "item_rows", "item_w", "seen_len", "seen_rows")


def read_live(folder: Path, n_items: int) -> SavedLive:
    f = folder / "live.json"
    meta = read_json(f)
    if meta.get("format") != LIVE_FORMAT:
        raise StateFileError(f, f"not saved live state (format {meta.get('format')!r})")
    version = check_version(f, meta.get("version"), LIVE_VERSION, "live state")
    if meta.get("n_items") != n_items:
        raise StateFileError(f, f"saved for {meta.get('n_items')} items, the catalog has {n_items}")
    try:
        raw = meta.get("config")
        if version == 1 and isinstance(raw, dict):
            raw = {k: v for k, v in raw.items() if k not in LEGACY_CONFIG}
        config = config_from_json(LiveConfig, raw, "config")
    except ValueError as e:
        raise StateFileError(f, str(e)) from e
    arrays = read_npz(folder / "live.npz", _KEYS)
    if len(meta.get("users", [])) != len(arrays["item_len"]):
        raise StateFileError(folder / "live.npz", "user lists and arrays disagree")
    return SavedLive(config, LogPosition.from_json(meta), meta, arrays, folder)


def restore_live(live: LiveState, saved: SavedLive) -> None:
    """Put ``saved`` into the (fresh, not yet started) structures of ``live``."""
    a, meta = saved.arrays, saved.meta
    ses = live.sessions
    n = len(ses.catalog)
    for name in ("item_rows", "seen_rows"):
        if len(a[name]) and (a[name].min() < 0 or a[name].max() >= n):
            raise StateFileError(saved.folder / "live.npz", f"{name} holds rows outside the catalog")
    with ses._lock:
        users: OrderedDict[str, _Session] = OrderedDict()
        rows = _split(a["item_len"], a["item_rows"])
        ws = _split(a["item_len"], a["item_w"])
        seen = _split(a["seen_len"], a["seen_rows"])
        for u, r, w, s in zip(meta["users"], rows, ws, seen, strict=True):
            users[str(u)] = _Session(
                deque(zip(r.tolist(), w.tolist(), strict=True), maxlen=ses.config.session_items),
                OrderedDict((x, None) for x in s.tolist()),
            )
        ses._users = users


# --- exploration slots -----------------------------------------------------------------------
def save_bandit(bandit: SlotExplorer, folder: Path) -> str:
    """``slots.json`` (config, pending showings) + ``policy/`` (the policy's own save); returns its kind."""
    folder.mkdir(parents=True, exist_ok=True)
    kind = str(getattr(bandit.policy, "KIND", ""))
    if kind not in POLICIES:
        raise ValueError(f"cannot save an exploration policy of type {type(bandit.policy).__name__}")
    with bandit._lock:
        bandit.policy.save(folder / "policy")
        pending = [[u, int(r), float(t)] for (u, r), t in bandit._pending.items()]
    meta = {
        "format": BANDIT_FORMAT,
        "version": BANDIT_VERSION,
        "policy": kind,
        "config": config_to_json(bandit.config),
        "pending": pending,
    }
    (folder / "slots.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return kind


def load_bandit(folder: Path, catalog: Catalog) -> SlotExplorer:
    f = folder / "slots.json"
    meta = read_json(f)
    if meta.get("format") != BANDIT_FORMAT or meta.get("policy") not in POLICIES:
        raise StateFileError(f, f"not a saved slot explorer (format {meta.get('format')!r})")
    try:
        config = config_from_json(SlotConfig, meta.get("config"), "config")
        policy = POLICIES[meta["policy"]].load(folder / "policy")
        bandit = SlotExplorer(catalog, policy, config)
        bandit._pending = OrderedDict(((str(u), int(r)), float(t)) for u, r, t in meta.get("pending", []))
    except (OSError, KeyError, TypeError, ValueError) as e:
        raise StateFileError(folder / "policy", f"unreadable bandit state ({e})") from e
    return bandit
