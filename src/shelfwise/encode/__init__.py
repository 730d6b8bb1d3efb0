"""Encode stage: text -> normalised vectors."""

from shelfwise.encode.base import Encoder, Matrix, l2_normalise
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.encode.sentence import SentenceTransformerEncoder, packaged_model_path

__all__ = [
    "CachedEncoder",
    "Encoder",
    "HashingEncoder",
    "Matrix",
    "SentenceTransformerEncoder",
    "l2_normalise",
    "packaged_model_path",
]
