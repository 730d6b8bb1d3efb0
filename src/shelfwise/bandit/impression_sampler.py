"""Which explored lists are logged: a random sample whose rate keeps the logging work under a share
of one CPU core.

Each list with exploration slots is logged with probability ``rate`` (:meth:`CostSampler.decide`,
asked before the list is drawn, so a list that is not logged skips the posterior snapshot and the
greedy picks as well). The rate is set from two measured figures, recomputed every ``window_s``:
the CPU seconds one logged list costs (the request's posterior copy, the background thread's
propensities and commit: :meth:`CostSampler.spent`, an average over recent lists) and how many
lists are offered per second; ``rate = min(1, cpu_share / (cost * offered per second))``, and at
least ``min_rate``. Until the first cost is known every list is logged.

The decision is a coin flip with a probability set from past timing and load only: it never reads
the list, its picks or its outcome, so the logged lists are a random sample of the explored ones
and the off-policy estimates over them stay unbiased, on fewer lists. The rate each list was
logged at is stored with it (``Impression.sample_rate``) and ``shelfwise ope --impressions``
reports the lists sampled, the rates and the explored lists they stand for (the sum of
``1 / rate``). Where the rate moved with load, busy periods are sampled less: an estimate then
weighs quiet periods more (unbiased for the lists logged; for all lists only if the click rate
does not move with load), which the report says.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_CPU_SHARE = 0.10  # of one core: the logging work's budget by default
WINDOW_S = 2.0  # how often the rate is recomputed from the offered lists and their cost
COST_MEMORY = 0.9  # weight of the previous cost average per logged list (an exponential average)


@dataclass(frozen=True)
class SamplerStats:
    """``offered``: explored lists asked about (a list that explored nothing is withdrawn:
    :meth:`CostSampler.withdraw`); ``sampled`` / ``skipped``: logged or not;
    ``rate``: the present probability of logging one; ``cost_ms``: CPU ms per logged list (average,
    0 until measured); ``cpu_share``: the budget, of one core."""

    offered: int
    sampled: int
    skipped: int
    rate: float
    cost_ms: float
    cpu_share: float


class CostSampler:
    """Decides which explored lists are logged (see the module docstring); thread-safe.
    ``cpu_share`` > 0 (1.0: a whole core); ``clock`` and ``seed`` for tests."""

    def __init__(
        self,
        cpu_share: float = DEFAULT_CPU_SHARE,
        *,
        window_s: float = WINDOW_S,
        min_rate: float = 1e-4,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < cpu_share <= 16:
            raise ValueError(f"impression log CPU share must be in (0, 16] cores, got {cpu_share}")
        if not window_s > 0 or not 0 < min_rate <= 1:
            raise ValueError("CostSampler: window_s > 0 and min_rate in (0, 1]")
        self.cpu_share, self.window_s, self.min_rate = cpu_share, window_s, min_rate
        self.offered = self.sampled = 0
        self.rate = 1.0
        self._cost: float | None = None  # CPU seconds per logged list
        self._rng = random.Random(seed)
        self._clock = clock
        self._lock = threading.Lock()
        self._since, self._offered_since = clock(), 0

    def decide(self, open_: bool = True) -> float | None:
        """Log the next explored list? Its sampling rate when yes, None when no (always no, counted
        as skipped, when the log is not ``open_``: closed)."""
        with self._lock:
            self.offered += 1
            self._offered_since += 1
            now = self._clock()
            if now - self._since >= self.window_s:
                self._retune(now)
            rate = self.rate
            if not open_ or (rate < 1.0 and self._rng.random() >= rate):
                return None
            self.sampled += 1
            return rate

    def withdraw(self, sampled: bool) -> None:
        """The list :meth:`decide` was asked about explored nothing (the coin is flipped before the
        list is drawn): it counts neither as offered nor as ``sampled`` (when it was) or skipped, so
        the counters and the offered rate the sampling rate is set from are about explored lists."""
        with self._lock:
            self.offered = max(self.offered - 1, 0)
            self._offered_since = max(self._offered_since - 1, 0)
            if sampled:
                self.sampled = max(self.sampled - 1, 0)

    def spent(self, cpu_s: float) -> None:
        """One logged list cost ``cpu_s`` CPU seconds (request and background together)."""
        with self._lock:
            cost = max(cpu_s, 0.0)
            self._cost = cost if self._cost is None else COST_MEMORY * self._cost + (1 - COST_MEMORY) * cost

    def _retune(self, now: float) -> None:
        per_s = self._offered_since / (now - self._since)
        if self._cost is not None and self._cost > 0 and per_s > 0:
            self.rate = min(1.0, max(self.min_rate, self.cpu_share / (self._cost * per_s)))
        self._since, self._offered_since = now, 0

    def stats(self) -> SamplerStats:
        with self._lock:
            cost = (self._cost or 0.0) * 1000
            return SamplerStats(
                self.offered, self.sampled, self.offered - self.sampled, self.rate, cost, self.cpu_share
            )
