"""Embed a catalog over Dask workers: the same vectors as ``encoder.encode(texts)`` in-process.

Where a row's vector depends on the rows batched with it, the work is split so that every batch
is formed exactly as in-process:

* encoders with a ``batch_plan`` (the ONNX Runtime encoders: batches of similar token length,
  int8 activation ranges per run) give their groups; whole groups go to the workers and each is
  encoded alone, as ``encode`` would run it;
* otherwise texts are cut into contiguous chunks whose boundaries fall on multiples of
  ``batch_size`` (per-text encoders such as ``static-*`` and ``hashing`` do not care at all).

Each worker process loads the encoder once (by its registry spec, e.g. ``e5-onnx``,
``static-minilm`` or a model folder) and keeps it for later calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfwise.distributed.cluster import n_workers, split
from shelfwise.encode.base import Encoder, Matrix

_ENCODERS: dict[str, Encoder] = {}  # per process: spec -> loaded encoder


def worker_encoder(spec: str) -> Encoder:
    """The encoder for ``spec`` in this process, loaded on first use."""
    enc = _ENCODERS.get(spec)
    if enc is None:
        from shelfwise.encode.registry import load_encoder

        enc = _ENCODERS[spec] = load_encoder(spec)
    return enc


def _encode_chunk(spec: str, texts: list[str], batch_size: int) -> Matrix:
    return worker_encoder(spec).encode(texts, batch_size=batch_size)


def _encode_groups(spec: str, groups: list[list[str]], batch_size: int) -> list[Matrix]:
    enc = worker_encoder(spec)
    group = getattr(enc, "encode_group", None)  # batch work: an ONNX encoder's one-thread session
    return [group(g) if group is not None else enc.encode(g, batch_size=batch_size) for g in groups]


def encode_distributed(
    client: Any, spec: str, texts: Sequence[str], *, batch_size: int = 64, chunks_per_worker: int = 4
) -> Matrix:
    """``load_encoder(spec).encode(texts, batch_size=batch_size)``, computed on the client's workers.

    ``chunks_per_worker`` > 1 lets a fast worker take more chunks than a slow one."""
    if batch_size < 1 or chunks_per_worker < 1:
        raise ValueError("encode_distributed: batch_size >= 1 and chunks_per_worker >= 1")
    texts = list(texts)
    parts = n_workers(client) * chunks_per_worker
    local = worker_encoder(spec)  # the driver plans the batches (tokenizer only) and knows the width
    plan = getattr(local, "batch_plan", None)
    if not texts:
        return np.zeros((0, local.dim), dtype=np.float32)
    if plan is None:
        ranges = split(len(texts), parts, align=batch_size)
        futures = [client.submit(_encode_chunk, spec, texts[a:b], batch_size, pure=False) for a, b in ranges]
        return np.ascontiguousarray(np.concatenate(client.gather(futures), axis=0), dtype=np.float32)
    groups = plan(texts, batch_size=batch_size)
    ranges = split(len(groups), parts)
    futures = [
        client.submit(_encode_groups, spec, [[texts[i] for i in g] for g in groups[a:b]], batch_size, pure=False)
        for a, b in ranges
    ]
    out = np.zeros((len(texts), local.dim), dtype=np.float32)
    for (a, b), vecs in zip(ranges, client.gather(futures), strict=True):
        for g, v in zip(groups[a:b], vecs, strict=True):
            out[g] = v
    return out
