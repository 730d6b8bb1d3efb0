"""Retrieve stage: dense, lexical and hybrid retrieval with fusion."""

from shelfwise.retrieve.base import Retriever
from shelfwise.retrieve.dense import DenseRetriever
from shelfwise.retrieve.fusion import minmax, rrf, weighted
from shelfwise.retrieve.hybrid import HybridSearcher, Reranker
from shelfwise.retrieve.search_config import SearchConfig, SearchTrace

__all__ = [
    "DenseRetriever",
    "HybridSearcher",
    "Reranker",
    "Retriever",
    "SearchConfig",
    "SearchTrace",
    "minmax",
    "rrf",
    "weighted",
]
