"""The bandit policy protocol and helpers shared by policies: arm masks, JSON + npz persistence.

A policy scores ``n_arms`` arms (items or strategies). ``select`` answers a batch of rounds at
once with the state held fixed (what a server does between updates, and what the replay
simulator needs to stay fast); ``update`` absorbs observed (arm, reward) pairs.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@runtime_checkable
class Policy(Protocol):
    """``select``: (n_rounds, k) arms, best first; ``features``: (n_rounds, n_arms, d) for contextual
    policies; ``mask``: allowed arms. ``update``: observed rewards for played arms (``features``:
    (n, d), the played arms' feature rows)."""

    n_arms: int

    def select(
        self, n_rounds: int = 1, k: int = 1, *, features: FloatArray | None = None, mask: BoolArray | None = None
    ) -> IntArray: ...

    def update(self, arms: IntArray, rewards: FloatArray, features: FloatArray | None = None) -> None: ...

    def save(self, path: str | Path) -> None: ...


def top_k(scores: FloatArray, k: int, mask: BoolArray | None) -> IntArray:
    """Row-wise top-``k`` arm indices of ``scores`` (n_rounds, n_arms), masked arms excluded."""
    s = np.asarray(scores, dtype=np.float64)
    if mask is not None:
        if mask.shape != (s.shape[1],):
            raise ValueError(f"mask has shape {mask.shape}, expected ({s.shape[1]},)")
        if int(mask.sum()) < k:
            raise ValueError(f"only {int(mask.sum())} allowed arms for k={k}")
        s = np.where(mask[None, :], s, -np.inf)
    if not 1 <= k <= s.shape[1]:
        raise ValueError(f"k must be in [1, {s.shape[1]}]")
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def as_updates(arms: npt.ArrayLike, rewards: npt.ArrayLike, n_arms: int) -> tuple[IntArray, FloatArray]:
    a = np.asarray(arms, dtype=np.int64).reshape(-1)
    r = np.asarray(rewards, dtype=np.float64).reshape(-1)
    if a.shape != r.shape:
        raise ValueError(f"update: {a.shape[0]} arms but {r.shape[0]} rewards")
    if a.size and (a.min() < 0 or a.max() >= n_arms):
        raise ValueError(f"update: arm index out of range [0, {n_arms})")
    return a, r


def save_state(path: str | Path, kind: str, config: Any, meta: dict[str, int], arrays: dict[str, np.ndarray]) -> None:
    """``policy.json`` (kind, config dataclass, sizes) + ``state.npz`` (arrays); no pickle."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    (p / "policy.json").write_text(json.dumps({"kind": kind, "config": asdict(config), **meta}, indent=2))
    np.savez(p / "state.npz", allow_pickle=False, **arrays)


def load_state(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    p = Path(path)
    meta = json.loads((p / "policy.json").read_text())
    if meta.get("kind") != kind:
        raise ValueError(f"{p}: saved policy is {meta.get('kind')!r}, not {kind!r}")
    with np.load(p / "state.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return meta, arrays
