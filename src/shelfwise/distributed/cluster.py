"""A Dask cluster on loopback: a scheduler and worker *processes* on 127.0.0.1 (no dashboard).

Why Dask and not Ray or Spark: the work here is plain Python functions over lists and numpy
arrays; Dask's distributed scheduler is a pure-Python wheel that starts a scheduler and two
workers in about two seconds and a few hundred MB, where Ray brings a C++ raylet, a GCS server
and an object store per node and Spark a JVM -- on a 2-core machine the fixed cost would be
most of the run. The same functions run unchanged on a multi-machine Dask cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shelfwise.errors import MissingExtraError


def require_dask() -> Any:
    """``dask.distributed``, or an error naming the extra to install."""
    try:
        import dask.distributed
    except ImportError as exc:
        raise MissingExtraError("dask[distributed]", "distributed") from exc
    return dask.distributed


@contextmanager
def local_cluster(workers: int = 2, threads_per_worker: int = 1, memory_limit: str = "4GiB") -> Iterator[Any]:
    """A ``dask.distributed.Client`` on a fresh loopback cluster of ``workers`` processes; closed on exit."""
    if workers < 1 or threads_per_worker < 1:
        raise ValueError("local_cluster: workers >= 1 and threads_per_worker >= 1")
    dd = require_dask()
    cluster = dd.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=memory_limit,
        silence_logs=logging.WARNING,
    )
    client = dd.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def n_workers(client: Any) -> int:
    """How many workers the client's scheduler has now (at least 1 for splitting work)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


def split(n: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges covering ``0..n`` in ``parts`` nearly equal contiguous pieces whose
    boundaries (but the last) are multiples of ``align``; empty pieces dropped."""
    if n <= 0:
        return []
    parts = max(1, min(parts, n))
    step = -(-n // parts)
    step = -(-step // align) * align
    return [(s, min(s + step, n)) for s in range(0, n, step)]
