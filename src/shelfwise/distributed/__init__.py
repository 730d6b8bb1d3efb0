"""Batch work over Dask workers (extra ``distributed``): catalog embedding, fine-tuning pair
preparation and search evaluation, each giving the same result as the in-process path.

Start a cluster on this machine with :func:`local_cluster` (loopback, worker processes) or join
one with ``dask.distributed.Client("tcp://scheduler:8786")``; every function takes the client.
"""

from shelfwise.distributed.cluster import local_cluster, require_dask
from shelfwise.distributed.embed import encode_distributed
from shelfwise.distributed.evaluate import evaluate_search_distributed, rank_queries_distributed
from shelfwise.distributed.pairs import mine_pairs_distributed

__all__ = [
    "encode_distributed",
    "evaluate_search_distributed",
    "local_cluster",
    "mine_pairs_distributed",
    "rank_queries_distributed",
    "require_dask",
]
