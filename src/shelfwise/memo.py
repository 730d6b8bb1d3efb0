"""A memo of numpy arrays bounded by their total bytes (least recently used dropped first)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

A = TypeVar("A", bound=np.generic)


class ArrayMemo(Generic[A]):
    """``get`` / ``put`` arrays by key, at most ``max_bytes`` in all (the newest entry is always kept,
    even alone over the budget). Safe across request threads: one lock around each call."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"ArrayMemo: max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, npt.NDArray[A]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> npt.NDArray[A] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def keys(self) -> list[Hashable]:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def put(self, key: Hashable, value: npt.NDArray[A]) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._keep(key, value)

    def add(self, key: Hashable, value: npt.NDArray[A]) -> npt.NDArray[A]:
        """``value`` kept under ``key`` unless another caller kept one there meanwhile: the one kept
        (callers that key other caches on the array's identity then share one object)."""
        with self._lock:
            raced = self._items.get(key)
            if raced is not None:
                self._items.move_to_end(key)
                return raced
            self._keep(key, value)
            return value

    def _keep(self, key: Hashable, value: npt.NDArray[A]) -> None:
        """Store, then drop the least recently used past the budget (the lock held)."""
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, gone = self._items.popitem(last=False)
            self._bytes -= gone.nbytes
