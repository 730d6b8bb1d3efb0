"""MilvusVectorIndex: the same answers as the embedded flat index, embedded (Milvus Lite) and over
a Milvus Lite gRPC server started here on loopback, which is SIGKILLed and restarted without
losing the acknowledged vectors; chosen by a spec string."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.index import VectorIndex, VectorIndexConfig
from shelfwise.index.backends import load_vector_store, open_vector_store
from shelfwise.index.backends.milvus import MilvusConfig, MilvusVectorIndex
from shelfwise.loopback import LoopbackServer, milvus_server
from shelfwise.retrieve import HybridSearcher

pytestmark = pytest.mark.backend  # servers / worker processes on loopback: `pytest -m backend` (CI runs it)

N, DIM = 600, 16


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    v = np.random.default_rng(7).normal(size=(N, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackServer]:
    with milvus_server(tmp_path_factory.mktemp("milvus")) as srv:
        yield srv


def _same_answers(store: MilvusVectorIndex, flat: VectorIndex, vectors: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    small = np.zeros(N, dtype=bool)
    small[rng.choice(N, 40, replace=False)] = True
    large = rng.random(N) < 0.7
    for qi in (0, 17, 333):
        q = vectors[qi] * 0.6 + vectors[(qi + 1) % N] * 0.4
        for mask in (None, small, large):
            got, want = store.search(q, 10, mask), flat.search(q, 10, mask)
            assert got.ids.tolist() == want.ids.tolist()
            np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    assert len(store.search(vectors[0], 5, np.zeros(N, dtype=bool))) == 0


def test_embedded_milvus_lite_matches_flat_index(
    tmp_path: Path, vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_vector_store(f"milvus-lite://{tmp_path / 'lite'}?collection=items")
    assert isinstance(store, MilvusVectorIndex)
    store.fit(vectors)
    flat = VectorIndex(VectorIndexConfig(kind="flat")).fit(vectors)
    assert len(store) == N and store.dim == DIM and store.kind == "milvus-flat"
    _same_answers(store, flat, vectors)
    monkeypatch.setattr("shelfwise.index.backends.milvus._FILTER_IDS_MAX", 10)  # large masks: over-fetch path
    _same_answers(store, flat, vectors)
    np.testing.assert_allclose(store.rows([3, 5]), vectors[[3, 5]])
    store.save(tmp_path / "index" / "vectors")
    store.close()
    again = load_vector_store(tmp_path / "index" / "vectors")
    assert isinstance(again, MilvusVectorIndex) and again.nbytes == 0  # nothing fetched yet
    np.testing.assert_allclose(again.scores(vectors[9]), vectors @ vectors[9], atol=1e-5)
    again.close()


def test_server_kill9_and_restart_keep_acknowledged_vectors(
    server: LoopbackServer, tmp_path: Path, vectors: np.ndarray
) -> None:
    """An index builder fits the collection on the server (acknowledged once ``fit`` returns); the
    server is SIGKILLed and restarted; a replica opening the saved folder gets every vector and
    the same answers as the embedded index."""
    builder = open_vector_store(f"{server.url}?collection=crash")
    assert isinstance(builder, MilvusVectorIndex)
    builder.fit(vectors)
    builder.save(tmp_path / "vectors")
    builder.close()
    server.kill()
    server.start()
    replica = load_vector_store(tmp_path / "vectors")
    assert isinstance(replica, MilvusVectorIndex) and len(replica) == N
    _same_answers(replica, VectorIndex(VectorIndexConfig(kind="flat")).fit(vectors), vectors)
    np.testing.assert_allclose(replica.vectors, vectors)
    replica.close()


def test_specs() -> None:
    assert isinstance(open_vector_store(None), VectorIndex) and isinstance(open_vector_store("embedded"), VectorIndex)
    cfg = MilvusConfig.from_url("milvus://10.0.0.5:19530?collection=shop_a&index=hnsw&ef_search=64")
    assert (cfg.uri, cfg.collection, cfg.index_type, cfg.ef_search) == ("http://10.0.0.5:19530", "shop_a", "HNSW", 64)
    assert MilvusConfig.from_url("milvus+https://m.example:443").uri == "https://m.example:443"
    for bad in ("faiss://x", "milvus://", "milvus://h:1?colection=x"):
        with pytest.raises(ValueError):
            open_vector_store(bad)
    with pytest.raises(ValueError):
        MilvusConfig(uri="/x", collection="1bad")


def test_searcher_on_milvus_answers_like_the_embedded_one(tmp_path: Path, tiny_catalog: Catalog) -> None:
    """HybridSearcher.build(vector_store=...) writes the vectors to Milvus; the saved folder holds
    only vector_store.json and loads back onto the collection; answers equal the embedded build's."""
    enc = HashingEncoder(dim=64)
    embedded = HybridSearcher.build(tiny_catalog, enc)
    on_milvus = HybridSearcher.build(tiny_catalog, enc, vector_store=f"milvus-lite://{tmp_path / 'lite'}")
    on_milvus.save(tmp_path / "index")
    assert sorted(f.name for f in (tmp_path / "index" / "vectors").iterdir()) == ["vector_store.json"]
    loaded = HybridSearcher.load(tmp_path / "index", tiny_catalog, enc)
    assert isinstance(loaded.dense.index, MilvusVectorIndex)
    for q in ("black trousers", "running shoes", "dress"):
        for mode in ("dense", "hybrid"):
            want = embedded.search(q, 5, mode=mode)
            for s in (on_milvus, loaded):
                got = s.search(q, 5, mode=mode)
                assert got.ids.tolist() == want.ids.tolist()
                np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    loaded.dense.index.close()


def test_cli_index_into_milvus_lite_answers_like_embedded(tmp_path: Path) -> None:
    from shelfwise.cli import main
    from shelfwise.shelf import Shelf

    cat = tmp_path / "products.csv"
    cat.write_text("id,title\n1,Black jeans\n2,Red dress\n3,Blue jeans\n4,Wool scarf\n5,Red scarf\n", encoding="utf-8")
    common = ["index", "--catalog", str(cat), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main([*common, "--out", str(tmp_path / "flat")]) == 0
    url = f"milvus-lite://{tmp_path / 'lite'}?collection=shelf"
    assert main([*common, "--vector-store", url, "--out", str(tmp_path / "mv")]) == 0
    assert next((tmp_path / "mv").rglob("vector_store.json"), None) is not None
    flat, mv = Shelf.load(tmp_path / "flat"), Shelf.load(tmp_path / "mv")
    for q in ("red scarf", "jeans"):
        a = flat.searcher.search(q, 3, mode="dense")
        b = mv.searcher.search(q, 3, mode="dense")
        assert a.ids.tolist() == b.ids.tolist()
