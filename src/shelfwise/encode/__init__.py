"""Encode stage: text -> normalised vectors."""

from shelfwise.encode.base import Encoder, Matrix, l2_normalise
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.encode.registry import ENCODERS, load_encoder
from shelfwise.encode.sentence import SentenceTransformerEncoder, packaged_model_path

__all__ = [
    "ENCODERS",
    "CachedEncoder",
    "Encoder",
    "HashingEncoder",
    "Matrix",
    "SentenceTransformerEncoder",
    "l2_normalise",
    "load_encoder",
    "packaged_model_path",
]
