"""Index stage: lexical (BM25) and vector indexes, tokenisation."""

from shelfwise.index.bm25 import BM25Config, BM25Index
from shelfwise.index.text import Tokenizer, has_cjk, normalise
from shelfwise.index.vector import VectorIndex, VectorIndexConfig

__all__ = ["BM25Config", "BM25Index", "Tokenizer", "VectorIndex", "VectorIndexConfig", "has_cjk", "normalise"]
