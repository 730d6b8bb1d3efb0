"""Routing a serving shelf's query-time encoding through the process's bounded encoder executor.

:func:`bound_shelf` wraps the encoders a request calls (the searcher's query encoders, the
recommender's session-query encoder) in :class:`~shelfwise.encode.executor.BoundedEncoder`;
indexing, the event consumer and offline tools keep the plain encoders.
"""

from __future__ import annotations

from shelfwise.encode.executor import BoundedEncoder, EncodeExecutor, limit_native_threads
from shelfwise.serve.capacity import Capacity
from shelfwise.shelf import Shelf


def encode_executor(capacity: Capacity) -> EncodeExecutor | None:
    """The process's encoder executor (None when ``encode_threads`` is 0: encode in the request
    thread); native thread pools are capped at ``encode_threads`` at the same time."""
    if capacity.encode_threads < 1:
        return None
    limit_native_threads(capacity.encode_threads)
    return EncodeExecutor(capacity.encode_threads, capacity.encode_queue, capacity.encode_wait_s)


def bound_shelf(shelf: Shelf, executor: EncodeExecutor | None) -> Shelf:
    """``shelf`` with its request-time encoders running on ``executor`` (unchanged when None)."""
    if executor is None:
        return shelf
    s = shelf.searcher
    for dense in (s.dense, s.multilingual):
        if dense is not None and not isinstance(dense.query_encoder, BoundedEncoder):
            dense.query_encoder = BoundedEncoder(dense.query_encoder, executor)
    rec = shelf.recommender
    if rec is not None and rec.encoder is not None and not isinstance(rec.encoder, BoundedEncoder):
        rec.encoder = BoundedEncoder(rec.encoder, executor)
    return shelf
