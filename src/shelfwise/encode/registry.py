"""Choose an encoder by a short spec string (config/CLI), gorse-style: a name or a local path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shelfwise.encode.base import Encoder
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.hashing import HashingEncoder


def _minilm() -> Encoder:
    from shelfwise.encode.sentence import SentenceTransformerEncoder

    return SentenceTransformerEncoder("all-MiniLM-L6-v2")


def _e5() -> Encoder:
    # documents get "passage: "; the dense retriever asks for_queries() for the "query: " side
    from shelfwise.encode.e5 import E5Encoder

    return E5Encoder(role="passage")


def _minilm_int8() -> Encoder:
    from shelfwise.encode.quantized import Int8Encoder

    return Int8Encoder(_minilm())


# name -> factory; other encoder families register here.
ENCODERS: dict[str, Callable[[], Encoder]] = {
    "minilm": _minilm,
    "hashing": lambda: HashingEncoder(dim=256),
    "e5": _e5,
    "minilm-int8": _minilm_int8,
}


def load_encoder(spec: str = "minilm", cache: str | Path | None = None) -> Encoder:
    """``spec``: a registered name (``minilm``, ``hashing``, ...) or a local sentence-transformers folder.

    With ``cache``, embeddings are memoised in that SQLite file keyed by model name and text.
    """
    if spec in ENCODERS:
        enc = ENCODERS[spec]()
    elif Path(spec).is_dir():
        from shelfwise.encode.sentence import SentenceTransformerEncoder

        enc = SentenceTransformerEncoder(spec, name=f"local:{Path(spec).resolve().name}")
    else:
        raise ValueError(f"unknown encoder {spec!r}: use one of {sorted(ENCODERS)} or a model folder")
    return CachedEncoder(enc, cache) if cache is not None else enc
