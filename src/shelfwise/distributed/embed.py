"""Embed a catalog over Dask workers: the same vectors as ``encoder.encode(texts)`` in-process.

Texts are cut into contiguous chunks whose boundaries fall on multiples of ``batch_size``, so each
worker forms exactly the batches the in-process call would (padding and batch composition are the
same); the chunks come back in order. Each worker process loads the encoder once (by its registry
spec, e.g. ``e5-onnx``, ``static-minilm`` or a model folder) and keeps it for later calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfwise.distributed.cluster import n_workers, split
from shelfwise.encode.base import Encoder, Matrix

_ENCODERS: dict[str, Encoder] = {}  # per worker process: spec -> loaded encoder


def worker_encoder(spec: str) -> Encoder:
    """The encoder for ``spec`` in this process, loaded on first use."""
    enc = _ENCODERS.get(spec)
    if enc is None:
        from shelfwise.encode.registry import load_encoder

        enc = _ENCODERS[spec] = load_encoder(spec)
    return enc


def _encode_chunk(spec: str, texts: list[str], batch_size: int) -> Matrix:
    return worker_encoder(spec).encode(texts, batch_size=batch_size)


def encode_distributed(
    client: Any, spec: str, texts: Sequence[str], *, batch_size: int = 64, chunks_per_worker: int = 4
) -> Matrix:
    """``load_encoder(spec).encode(texts, batch_size=batch_size)``, computed on the client's workers.

    ``chunks_per_worker`` > 1 lets a fast worker take more chunks than a slow one."""
    if batch_size < 1 or chunks_per_worker < 1:
        raise ValueError("encode_distributed: batch_size >= 1 and chunks_per_worker >= 1")
    texts = list(texts)
    ranges = split(len(texts), n_workers(client) * chunks_per_worker, align=batch_size)
    if not ranges:
        return worker_encoder(spec).encode([], batch_size=batch_size)
    futures = [client.submit(_encode_chunk, spec, texts[a:b], batch_size, pure=False) for a, b in ranges]
    parts = client.gather(futures)
    return np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.float32)
