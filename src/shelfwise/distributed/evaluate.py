"""Search evaluation over Dask workers: the same metrics as
``evaluate_search(searcher_fn(searcher), judgments)`` on the saved index, in-process.

Each worker process loads the index folder once, with the shelf loader (catalog, lexical and vector
indexes, the query encoder named in the index or given, and the multilingual vectors and their
encoder when the shelf was indexed with ``--multilingual``) and ranks a contiguous chunk of the
distinct judged queries;
the driver puts the rankings back in query order and runs the in-process metric code on them, so
the numbers cannot drift from ``shelfwise eval search``. Queries are primed (encoded in batches of
``batch_size``) on chunks aligned to ``batch_size``, the batches ``eval`` itself forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shelfwise.distributed.cluster import n_workers, split
from shelfwise.eval.judgments import Judgments, SearchMetrics, evaluate_search
from shelfwise.eval.tune import searcher_fn
from shelfwise.retrieve.hybrid import HybridSearcher

_SEARCHERS: dict[tuple[str, str | None], HybridSearcher] = {}  # per worker process


def load_index(index: str | Path, encoder: str | None = None) -> HybridSearcher:
    """The searcher saved in ``index`` (a saved shelf, or an older index folder with its
    ``catalog.parquet``), loaded as :meth:`Shelf.load <shelfwise.shelf.Shelf.load>` loads it
    (multilingual vectors included), cached per process. Its reranker is not loaded: the metrics
    are the retrieval's, as ``shelfwise eval search`` measures them."""
    from shelfwise.snapshot.io import LoadOptions, load_shelf

    path = Path(index).resolve()
    key = (str(path), encoder)
    if key not in _SEARCHERS:
        _SEARCHERS[key] = load_shelf(path, LoadOptions(encoder=encoder, recommender=False, reranker=False)).searcher
    return _SEARCHERS[key]


def rank_queries(
    searcher: HybridSearcher, queries: Sequence[str], n: int, mode: str | None = None, *, batch_size: int = 64
) -> list[list[str]]:
    """Item ids of the top ``n`` for each query (queries primed in batches first, as ``eval`` does)."""
    if mode != "bm25":
        for dense in (searcher.dense, searcher.multilingual):  # each query primed where it is embedded
            if dense is not None:
                dense.prime([q for q in queries if searcher.dense_for(q) is dense], batch_size=batch_size)
    search = searcher_fn(searcher, mode)
    return [list(search(q, n)) for q in queries]


def _rank_chunk(index: str, encoder: str | None, queries: list[str], n: int, mode: str | None,
                batch_size: int) -> list[list[str]]:  # fmt: skip
    return rank_queries(load_index(index, encoder), queries, n, mode, batch_size=batch_size)


def rank_queries_distributed(
    client: Any,
    index: str | Path,
    queries: Sequence[str],
    n: int,
    *,
    encoder: str | None = None,
    mode: str | None = None,
    batch_size: int = 64,
) -> list[list[str]]:
    """``rank_queries`` over the client's workers: one ranking per query, in order."""
    distinct = list(dict.fromkeys(queries))
    ranges = split(len(distinct), n_workers(client), align=batch_size)
    path = str(Path(index).resolve())
    futures = [
        client.submit(_rank_chunk, path, encoder, distinct[a:b], n, mode, batch_size, pure=False) for a, b in ranges
    ]
    ranked: dict[str, list[str]] = {}
    for (a, b), part in zip(ranges, client.gather(futures), strict=True):
        ranked.update(zip(distinct[a:b], part, strict=True))
    return [ranked[q] for q in queries]


def evaluate_search_distributed(
    client: Any,
    index: str | Path,
    judgments: Judgments,
    *,
    k: int = 10,
    recall_k: int = 100,
    encoder: str | None = None,
    mode: str | None = None,
) -> SearchMetrics:
    """``evaluate_search`` of the saved index on ``judgments``, its queries ranked on the workers."""
    queries = [judgments.queries[q] for q in judgments.judged()]
    ranked = dict(zip(queries, rank_queries_distributed(client, index, queries, max(k, recall_k),
                                                        encoder=encoder, mode=mode), strict=True))  # fmt: skip
    return evaluate_search(lambda q, n: ranked[q][:n], judgments, k, recall_k)
