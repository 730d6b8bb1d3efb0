"""Index stage: lexical (word + character n-gram BM25) and vector indexes, analysers, language."""

from shelfwise.index.bm25 import BM25Config, BM25Index
from shelfwise.index.language import LanguageProfile, detect_language
from shelfwise.index.lexical import LexicalConfig, LexicalIndex
from shelfwise.index.text import CharNgrams, Tokenizer, has_cjk, normalise
from shelfwise.index.vector import VectorIndex, VectorIndexConfig

__all__ = [
    "BM25Config",
    "BM25Index",
    "CharNgrams",
    "LanguageProfile",
    "LexicalConfig",
    "LexicalIndex",
    "Tokenizer",
    "VectorIndex",
    "VectorIndexConfig",
    "detect_language",
    "has_cjk",
    "normalise",
]
