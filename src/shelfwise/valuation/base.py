"""Data valuation core: the ``Utility`` protocol every method values against, and typed ``Values``.

A *player* is whatever is being valued: one training sample, a group of samples (a query, a
category, a time window) or a whole source (an event type, a data file). A utility maps a
coalition of players (their indices) to the project's validation metric of a model trained on
just those players' data, e.g. NDCG@10 of the co-occurrence recommender, or precision@K of a
KNN over language-model embeddings. Methods (leave-one-out, exact KNN-Shapley, TMC-Shapley)
only see this protocol, so the same code values samples, groups and sources.

Semivalue background: Shapley values of data, Ghorbani & Zou 2019 ("Data Shapley: equitable
valuation of data for machine learning", ICML) and Jia et al. 2019 (AISTATS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shelfwise.results import IntArray

F64 = npt.NDArray[np.float64]
Grain = Literal["source", "group", "sample"]
GRAINS: tuple[str, ...] = ("source", "group", "sample")


@runtime_checkable
class Utility(Protocol):
    """Validation metric of a model trained on a coalition of players (indices in ``[0, n_players)``)."""

    @property
    def n_players(self) -> int: ...

    def __call__(self, players: IntArray) -> float: ...


@runtime_checkable
class ScanUtility(Utility, Protocol):
    """A utility that can add players one at a time cheaply (e.g. a KNN keeps a running top-K).

    ``scan(order)[i]`` is the utility of the coalition ``order[: i + 1]``.
    """

    def scan(self, order: IntArray) -> F64: ...


def prefix_utilities(utility: Utility, order: IntArray) -> F64:
    """Utilities of every prefix of ``order`` (fast path for a :class:`ScanUtility`)."""
    if isinstance(utility, ScanUtility):
        return np.asarray(utility.scan(order), dtype=np.float64)
    return np.array([utility(order[: i + 1]) for i in range(len(order))], dtype=np.float64)


def all_players(utility: Utility) -> IntArray:
    return np.arange(utility.n_players, dtype=np.int64)


@dataclass(frozen=True)
class Values:
    """One value per player (higher = more useful), with how it was computed.

    ``stderr`` is the Monte-Carlo standard error (zeros for exact methods); ``evaluations`` counts
    utility calls (or scanned prefixes); ``converged`` says whether the stopping criterion fired.
    """

    method: str
    grain: str
    names: tuple[str, ...]
    values: F64
    stderr: F64 | None = None
    sizes: IntArray | None = None  # samples per player (1 at sample grain)
    evaluations: int = 0
    seconds: float = 0.0
    converged: bool = True
    info: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"Values.grain must be one of {GRAINS}, got {self.grain!r}")
        if self.values.ndim != 1 or len(self.names) != self.values.shape[0]:
            raise ValueError(f"Values: {len(self.names)} names but values of shape {self.values.shape}")
        for name, arr in (("stderr", self.stderr), ("sizes", self.sizes)):
            if arr is not None and arr.shape != self.values.shape:
                raise ValueError(f"Values.{name} has shape {arr.shape}, values {self.values.shape}")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def ascending(self) -> IntArray:
        """Player indices from least to most valuable (stable on ties)."""
        return np.argsort(self.values, kind="stable").astype(np.int64)

    def lowest(self, n: int) -> IntArray:
        return self.ascending()[:n]

    def highest(self, n: int) -> IntArray:
        return self.ascending()[::-1][:n]

    def per_sample(self) -> F64:
        """Values divided by player size (a group's value per sample it holds)."""
        if self.sizes is None:
            return self.values
        return self.values / np.maximum(self.sizes, 1)

    def table(self, n: int | None = None, *, lowest_first: bool = False) -> list[tuple[str, float, int]]:
        """(name, value, size) rows, most valuable first unless ``lowest_first``."""
        order = self.ascending() if lowest_first else self.ascending()[::-1]
        sizes = self.sizes if self.sizes is not None else np.ones(len(self), dtype=np.int64)
        return [(self.names[i], float(self.values[i]), int(sizes[i])) for i in order[:n]]

    def aggregate(self, groups: IntArray, names: Sequence[str], grain: Grain = "group") -> Values:
        """Sum sample values into groups (``groups[i]`` = group of player ``i``).

        The sum of sample Shapley values is the group's total contribution inside the full
        sample game (efficiency makes the sums add up to U(all) - U(none)); it is not the
        Shapley value of the smaller game whose players are the groups.
        """
        if groups.shape != self.values.shape:
            raise ValueError("aggregate: one group per player required")
        g = len(names)
        vals = np.bincount(groups, weights=self.values, minlength=g).astype(np.float64)
        sizes = np.bincount(groups, minlength=g).astype(np.int64)
        err = None
        if self.stderr is not None:
            err = np.sqrt(np.bincount(groups, weights=self.stderr**2, minlength=g))
        return Values(
            f"{self.method}-sum",
            grain,
            tuple(names),
            vals,
            err,
            sizes,
            self.evaluations,
            self.seconds,
            self.converged,
            dict(self.info),
        )

    # --- persistence: JSON metadata + npz arrays, never pickle -------------------------
    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"values": self.values}
        if self.stderr is not None:
            arrays["stderr"] = self.stderr
        if self.sizes is not None:
            arrays["sizes"] = self.sizes
        np.savez(d / "values.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "method": self.method,
            "grain": self.grain,
            "names": list(self.names),
            "evaluations": self.evaluations,
            "seconds": self.seconds,
            "converged": self.converged,
            "info": self.info,
        }
        (d / "values.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
        return d

    @classmethod
    def load(cls, directory: str | Path) -> Values:
        d = Path(directory)
        meta = json.loads((d / "values.json").read_text())
        with np.load(d / "values.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(
            method=str(meta["method"]),
            grain=str(meta["grain"]),
            names=tuple(str(n) for n in meta["names"]),
            values=arrays["values"].astype(np.float64),
            stderr=arrays.get("stderr"),
            sizes=arrays.get("sizes"),
            evaluations=int(meta["evaluations"]),
            seconds=float(meta["seconds"]),
            converged=bool(meta["converged"]),
            info={str(k): float(v) for k, v in meta["info"].items()},
        )


def encode_groups(labels: Sequence[str]) -> tuple[IntArray, tuple[str, ...]]:
    """Map string group labels to dense ids (names sorted) -> (ids, names)."""
    names, ids = np.unique(np.asarray([str(x) for x in labels], dtype=object), return_inverse=True)
    return ids.astype(np.int64), tuple(str(n) for n in names)
