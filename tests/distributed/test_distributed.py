"""Batch work on a 2-worker Dask cluster on loopback gives the in-process results exactly:
catalog embedding, fine-tuning pair preparation and search evaluation (made-up catalog)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
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
from shelfwise.distributed.evaluate import load_index, rank_queries
from shelfwise.distributed.pairs import reduce_log_distributed
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import Judgments, evaluate_search
from shelfwise.eval.tune import searcher_fn
from shelfwise.events import Event, EventLog, EventType
from shelfwise.finetune.pipeline import mine_pairs
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf

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


ZH_COLOURS = dict(zip(COLOURS, ("黑色", "藏青色", "红色", "橄榄色", "白色", "灰色"), strict=True))
ZH_THINGS = dict(zip(THINGS, ("羊毛大衣", "防雨夹克", "亚麻衬衫", "跑步鞋", "皮革腰带", "帆布包", "台灯"), strict=True))


def test_search_evaluation_loads_multilingual_part(client: Any, catalog: Catalog, tmp_path: Path) -> None:
    """A shelf indexed with a multilingual encoder: its Chinese queries go to the multilingual
    vectors on the workers too, so the distributed metrics are the embedded shelf's."""
    products = [replace(p, title=f"{p.title} {ZH_COLOURS[p.attributes['colour']]} "
                                 f"{next(z for t, z in ZH_THINGS.items() if t in p.title)}")
                for p in catalog.products]  # fmt: skip
    cat = Catalog(products)
    searcher = HybridSearcher.build(cat, load_encoder("static-minilm"), encoder_spec="static-minilm",
                                    multilingual=load_encoder("hashing"), multilingual_spec="hashing")  # fmt: skip
    Shelf(catalog=cat, searcher=searcher).save(tmp_path / "shelf")
    queries, relevance = {}, {}
    for n, (c, t) in enumerate((c, t) for c in COLOURS for t in THINGS):
        queries[f"zh{n}"] = f"{ZH_COLOURS[c]}{ZH_THINGS[t]}"
        queries[f"en{n}"] = f"{c} {t}"
        rel = {p.id: 2.0 if c in p.title else 1.0 for p in cat.products if t in p.title}
        relevance[f"zh{n}"] = relevance[f"en{n}"] = rel
    judgments = Judgments(queries, relevance)

    embedded = Shelf.load(tmp_path / "shelf").searcher
    assert embedded.multilingual is not None
    want = evaluate_search(searcher_fn(embedded), judgments)
    got = evaluate_search_distributed(client, tmp_path / "shelf", judgments)
    assert got.per_query == want.per_query and got.summary() == want.summary()
    assert load_index(tmp_path / "shelf").multilingual is not None  # the workers' loader, in-process
    # the multilingual part matters here: without it (the old worker loader) the Chinese queries rank otherwise
    folder = tmp_path / "shelf" / "searcher"
    plain = HybridSearcher.load(folder, cat, load_encoder("static-minilm"))
    assert plain.multilingual is None
    zh = judgments.subset([q for q in queries if q.startswith("zh")])
    assert evaluate_search(searcher_fn(plain), zh).per_query != evaluate_search(searcher_fn(embedded), zh).per_query
    assert want.ndcg_at_10 > 0.3


def test_workers_load_the_index_without_its_reranker(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The workers measure retrieval: a saved reranker is not loaded (a cross-encoder would be)."""
    from shelfwise.snapshot import ShelfConfig, io

    queries = {f"q{n}": f"{c} {t}" for n, (c, t) in enumerate((c, t) for c in COLOURS[:2] for t in THINGS)}
    relevance = {q: {p.id: 1.0 for p in catalog.products if text in p.title} for q, text in queries.items()}
    config = ShelfConfig(encoder="hashing", progress=False, judgments=Judgments(queries, relevance))
    shelf = Shelf.build(catalog, None, config)
    assert shelf.searcher.reranker is not None and "reranker" in shelf.save(tmp_path / "shelf").parts
    monkeypatch.setattr(io, "load_reranker", lambda *a: pytest.fail("reranker loaded"))
    loaded = load_index(tmp_path / "shelf")
    assert loaded.reranker is None and loaded.encoder_spec == "hashing"
