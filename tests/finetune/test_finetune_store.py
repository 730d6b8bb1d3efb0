"""ModelStore bookkeeping without a real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.finetune import ModelStore


def test_empty_store_reports_clearly(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "none")
    assert store.versions() == [] and store.latest() is None
    with pytest.raises(KeyError, match="no model version"):
        store.get("v0001")
    with pytest.raises(KeyError, match="no model versions yet"):
        store.encoder()


def test_saved_metadata_is_strict_json_and_reads_back_nan(tmp_path: Path, tiny_st: Path) -> None:
    """A run without validation pairs has no validation score: it was written as a bare NaN, which
    JSON readers other than Python's (JavaScript, Go, serde) refuse."""
    import json
    import math

    from shelfwise.finetune import FinetuneConfig
    from shelfwise.finetune.trainer import TrainedModel, TrainLog, load_st

    nan = float("nan")
    log = TrainLog(history=[{"step": 0.0, "loss": nan, "val_ndcg@10": nan}], best_val=nan, steps=1)
    trained = TrainedModel(load_st(tiny_st), FinetuneConfig(), log, "st")
    mv = ModelStore(tmp_path / "models").save(trained, n_train=3, metrics={"val_ndcg@10": nan, "best_step": 1.0})

    def refuse(name: str) -> float:
        raise ValueError(f"non-standard JSON constant {name}")

    raw = json.loads((mv.path / "shelfwise_model.json").read_text(), parse_constant=refuse)
    assert raw["metrics"]["val_ndcg@10"] is None and raw["train_log"]["best_val"] is None
    assert raw["train_log"]["history"][0] == {"step": 0.0, "loss": None, "val_ndcg@10": None}
    assert math.isnan(mv.metrics["val_ndcg@10"]) and mv.metrics["best_step"] == 1.0
