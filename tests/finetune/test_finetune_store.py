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
