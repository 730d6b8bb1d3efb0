"""Fine-tuning pair preparation over Dask workers: the same :class:`TrainingData` as
:func:`shelfwise.finetune.pipeline.mine_pairs` in-process.

The costly part of pair mining on a large store is the scan of the behaviour log. Workers scan
contiguous slices of it and keep only the rows a pair can come from: query events on an item of
at least ``query_min_type`` (query -> product pairs), and the first event of each (user, item)
at least ``copurchase_min_type`` (co-purchase pairs; later repeats are dropped by the miner
anyway). The driver then runs the unchanged ``mine_pairs`` on that much smaller log: its seeded
sampling (one random stream over every co-purchase group, then the split by anchor) is sequential
by design, and it sees the same rows in the same order, so the pairs and their split are
identical. Judged query pairs come from the (small) judgment file on the driver.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.distributed.cluster import n_workers, split
from shelfwise.eval.judgments import Judgments
from shelfwise.events.schema import EventLog, EventType
from shelfwise.finetune.pipeline import TrainingData, mine_pairs

IntArray = npt.NDArray[np.int64]


def pair_rows(
    user: IntArray,
    item: IntArray,
    kind: npt.NDArray[np.int8],
    queries: tuple[str, ...] | list[str],
    *,
    query_min_type: int = int(EventType.CLICK),
    copurchase_min_type: int = int(EventType.PURCHASE),
) -> IntArray:
    """Positions (in these arrays) of the rows pair mining can use, ascending."""
    has_item = item >= 0
    has_query = np.fromiter((bool(q) for q in queries), dtype=bool, count=len(queries))
    query_rows = np.flatnonzero(has_item & (kind >= query_min_type) & has_query)
    co = np.flatnonzero(has_item & (kind >= copurchase_min_type))
    keys = user[co] * (int(item.max(initial=0)) + 1) + item[co]
    _, first = np.unique(keys, return_index=True)
    return np.union1d(query_rows, co[first]).astype(np.int64)


def _scan(start: int, user: IntArray, item: IntArray, kind: npt.NDArray[np.int8], queries: list[str],
          query_min_type: int, copurchase_min_type: int) -> IntArray:  # fmt: skip
    return start + pair_rows(user, item, kind, queries, query_min_type=query_min_type,
                             copurchase_min_type=copurchase_min_type)  # fmt: skip


def reduce_log_distributed(
    client: Any,
    log: EventLog,
    *,
    query_min_type: EventType = EventType.CLICK,
    copurchase_min_type: EventType = EventType.PURCHASE,
    chunks_per_worker: int = 2,
) -> EventLog:
    """The rows of ``log`` pair mining can use (order kept), found by the client's workers."""
    ranges = split(len(log), n_workers(client) * chunks_per_worker)
    futures = [
        client.submit(_scan, a, log.user[a:b], log.item[a:b], log.type[a:b], list(log.queries[a:b]),
                      int(query_min_type), int(copurchase_min_type), pure=False)
        for a, b in ranges
    ]  # fmt: skip
    keep = np.zeros(len(log), dtype=bool)
    for rows in client.gather(futures):
        keep[rows] = True  # a (user, item) first seen in two slices keeps both: the miner dedupes
    return log.select(keep)


def mine_pairs_distributed(
    client: Any, catalog: Catalog, judgments: Judgments | None = None, log: EventLog | None = None, **kwargs: Any
) -> TrainingData:
    """``mine_pairs(catalog, judgments, log, **kwargs)`` with the log scanned on the workers."""
    reduced = reduce_log_distributed(client, log) if log is not None else None
    return mine_pairs(catalog, judgments, reduced, **kwargs)
