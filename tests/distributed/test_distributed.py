"""Batch work on a 2-worker Dask cluster on loopback gives the in-process results exactly:
catalog embedding, fine-tuning pair preparation and search evaluation (made-up catalog)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.distributed import (
    encode_distributed,
    evaluate_search_distributed,
    local_cluster,
    mine_pairs_distributed,
)
from shelfwise.distributed.cluster import split
from shelfwise.distributed.evaluate import rank_queries
from shelfwise.distributed.pairs import reduce_log_distributed
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import Judgments, evaluate_search
from shelfwise.events import Event, EventLog, EventType
from shelfwise.finetune.pipeline import mine_pairs
from shelfwise.retrieve import HybridSearcher

pytestmark = pytest.mark.backend  # servers / worker processes on loopback: `pytest -m backend` (CI runs it)

COLOURS = ("black", "navy", "red", "olive", "white", "grey")
THINGS = ("wool coat", "rain jacket", "linen shirt", "running shoe", "leather belt", "canvas bag", "desk lamp")
MATERIALS = ("cotton", "recycled", "organic", "waterproof", "")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with local_cluster(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    products = []
    for n, (c, t, m) in enumerate((c, t, m) for c in COLOURS for t in THINGS for m in MATERIALS):
        products.append(Product(id=f"p{n}", title=f"{m} {c} {t}".strip(), category=(t.split()[-1],),
                                attributes={"colour": c}))  # fmt: skip
    return Catalog(products)


def test_split_aligns_boundaries() -> None:
    assert split(10, 3, align=4) == [(0, 4), (4, 8), (8, 10)]
    assert split(0, 2) == [] and split(3, 8) == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize("spec", ["hashing", "static-minilm", "minilm-onnx"])
def test_embedding_matches_in_process(client: Any, catalog: Catalog, spec: str) -> None:
    texts = catalog.texts()
    want = load_encoder(spec).encode(texts, batch_size=16)
    got = encode_distributed(client, spec, texts, batch_size=16)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_pair_preparation_matches_in_process(client: Any, catalog: Catalog) -> None:
    rng = random.Random(3)
    events = []
    for i in range(1500):
        kind = rng.choice([EventType.VIEW, EventType.CLICK, EventType.CART, EventType.PURCHASE, EventType.QUERY])
        item = "" if kind is EventType.QUERY else f"p{rng.randrange(len(catalog))}"
        query = f"{rng.choice(COLOURS)} {rng.choice(THINGS)}" if rng.random() < 0.4 else ""
        events.append(Event(f"u{rng.randrange(60)}", kind, float(i), item, query=query))
    events.append(Event("u1", EventType.PURCHASE, 9999.0, "not-in-catalog"))
    log = EventLog.from_events(events, catalog)
    reduced = reduce_log_distributed(client, log)
    assert 0 < len(reduced) < len(log)
    want = mine_pairs(catalog, None, log, max_copurchase=300, seed=5)
    got = mine_pairs_distributed(client, catalog, None, log, max_copurchase=300, seed=5)
    assert len(want.train) > 50 and got == want


def test_search_evaluation_matches_in_process(client: Any, catalog: Catalog, tmp_path: Path) -> None:
    searcher = HybridSearcher.build(catalog, load_encoder("hashing"), encoder_spec="hashing")
    searcher.save(tmp_path / "index")
    catalog.save(tmp_path / "index" / "catalog.parquet")
    queries, relevance = {}, {}
    for n, (c, t) in enumerate((c, t) for c in COLOURS for t in THINGS):
        queries[f"q{n}"] = f"{c} {t}"
        relevance[f"q{n}"] = {p.id: 2.0 if c in p.title else 1.0 for p in catalog.products if t in p.title}
    judgments = Judgments(queries, relevance)
    texts = list(dict.fromkeys(queries[q] for q in judgments.judged()))
    local = HybridSearcher.load(tmp_path / "index", catalog, load_encoder("hashing"))
    ranked = dict(zip(texts, rank_queries(local, texts, 100), strict=True))
    want = evaluate_search(lambda q, n: ranked[q][:n], judgments)
    got = evaluate_search_distributed(client, tmp_path / "index", judgments)
    assert got.per_query == want.per_query and got.summary() == want.summary()
    assert want.ndcg_at_10 > 0.3
