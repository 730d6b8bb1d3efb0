"""Contrastive trainer, LoRA merge, versioned artefacts, index rebuild (real packaged MiniLM).

Slow-marked: loading and stepping a real transformer on CPU takes more than a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog

pytest.importorskip("sentence_transformers")

PAIRS_A = ["black trousers", "red dress", "running shoes", "yoga mat", "rain jacket", "wool sweater"]
PAIRS_P = ["p1", "p5", "p9", "p10", "p8", "p7"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "lora"])
def test_fine_tune_saves_loads_and_rebuilds_index(tiny_catalog: Catalog, tmp_path: Path, mode: str) -> None:
    import torch

    from shelfwise.encode import packaged_model_path
    from shelfwise.finetune import FinetuneConfig, ModelStore, PairSet, fine_tune, rebuild_index

    torch.set_num_threads(1)
    texts = tiny_catalog.texts()
    pos = tuple(texts[tiny_catalog.row(p)] for p in PAIRS_P)
    train = PairSet(tuple(PAIRS_A), pos, "test")
    cfg = FinetuneConfig(mode=mode, batch_size=6, epochs=3, eval_every=1, patience=5)
    tm = fine_tune(packaged_model_path(), train, train, cfg, distractors=texts)
    assert tm.log.steps == 3 and len(tm.log.history) == 4
    assert not any("lora" in k for k in tm.model.state_dict())
    store = ModelStore(tmp_path / "models")
    v1 = store.save(tm, n_train=len(train), sources=("test",))
    assert v1.version == "v0001" and (v1.path / "model.safetensors").exists()
    assert not list(v1.path.rglob("*.pkl")) and not list(v1.path.rglob("*.bin"))
    enc = store.encoder()
    a = enc.encode(["black trousers"])
    b = tm.model.encode(["black trousers"], normalize_embeddings=True)
    np.testing.assert_allclose(a, b, atol=1e-5)
    searcher = rebuild_index(tiny_catalog, store, tmp_path / "index")
    assert (tmp_path / "index" / "shelf.json").exists() and len(searcher.search("black trousers", 3)) == 3
    assert store.save(tm, n_train=1).version == "v0002" and store.latest().version == "v0002"  # type: ignore[union-attr]


@pytest.mark.slow
def test_rebuilt_index_is_served_with_the_model_folder(tiny_catalog: Catalog, tmp_path: Path) -> None:
    """train -> version -> rebuild index -> ``serve --index <index> --encoder <model folder>`` loads and searches."""
    import torch

    from shelfwise.cli.serve_cmd import load_shelf
    from shelfwise.encode import packaged_model_path
    from shelfwise.finetune import FinetuneConfig, ModelStore, PairSet, fine_tune, rebuild_index

    torch.set_num_threads(1)
    texts = tiny_catalog.texts()
    train = PairSet(tuple(PAIRS_A), tuple(texts[tiny_catalog.row(p)] for p in PAIRS_P), "test")
    tm = fine_tune(packaged_model_path(), train, None, FinetuneConfig(batch_size=3, max_steps=2))
    assert tm.log.steps == 2
    store = ModelStore(tmp_path / "models")
    mv = store.save(tm, n_train=len(train))
    rebuild_index(tiny_catalog, store, tmp_path / "index", mv.version)
    shelf = load_shelf(tmp_path / "index", str(mv.path))
    assert shelf.searcher.encoder.name == mv.encoder_name
    res = shelf.searcher.search("black trousers", 3)
    assert len(res) == 3 and shelf.catalog.ids == tiny_catalog.ids
    assert shelf.catalog.ids[int(res.ids[0])] == "p1"
