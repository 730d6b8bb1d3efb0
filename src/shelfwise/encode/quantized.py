"""Compressed encoder paths: int8 dynamic quantisation of a transformer's Linear layers.

Dynamic quantisation (Jacob et al., 2018, "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference"; Zafrir et al., 2019, "Q8BERT") stores Linear weights
as int8 with a per-tensor scale and quantises activations on the fly; embeddings, LayerNorm and
attention softmax stay in float32. CPU only.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfwise.encode.base import Encoder, Matrix
from shelfwise.errors import MissingExtraError


def quantize_linear_int8(module: Any) -> Any:
    """A copy of a torch module with every ``nn.Linear`` replaced by a dynamic int8 Linear."""
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "lm") from exc
    quantize_dynamic = getattr(torch.ao.quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:  # pragma: no cover - very old / very new torch
        raise RuntimeError("this torch build has no torch.ao.quantization.quantize_dynamic")
    return quantize_dynamic(copy.deepcopy(module).eval(), {torch.nn.Linear}, dtype=torch.qint8)


class Int8Encoder:
    """Wraps an encoder whose ``model`` attribute is a ``SentenceTransformer`` (e.g.
    :class:`~shelfwise.encode.SentenceTransformerEncoder`, :class:`~shelfwise.encode.e5.E5Encoder`)
    and runs a dynamic-int8 copy of it. ``name`` gets a ``+int8`` suffix (embeddings differ)."""

    def __init__(self, encoder: Encoder) -> None:
        st = getattr(encoder, "model", None)
        if st is None or not hasattr(st, "encode"):
            raise TypeError(f"{encoder.name}: Int8Encoder needs an encoder with a SentenceTransformer `.model`")
        self.base = encoder
        self._model = quantize_linear_int8(st)
        self._prefix = ""
        role = getattr(encoder, "role", None)
        if isinstance(role, str):
            from shelfwise.encode.e5 import PREFIXES

            self._prefix = PREFIXES[role]

    @property
    def name(self) -> str:
        return f"{self.base.name}+int8"

    @property
    def dim(self) -> int:
        return self.base.dim

    @property
    def model(self) -> Any:
        return self._model

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            [self._prefix + t for t in texts],
            batch_size=batch_size,
            show_progress_bar=progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)
