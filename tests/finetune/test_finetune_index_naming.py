"""A rebuilt index is servable: the catalog is saved beside it and ``load_encoder(<model folder>)``
names a model folder exactly as the index recorded it (no real model: a named HashingEncoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.encode.base import Matrix
from shelfwise.encode.registry import folder_encoder_name, hash_weights
from shelfwise.finetune import ModelStore, rebuild_index
from shelfwise.finetune.artifacts import META
from shelfwise.retrieve import HybridSearcher
from shelfwise.snapshot.io import catalog_file, searcher_folder


def _fake_version(root: Path, version: str, weights: bytes, base: str = "minilm") -> Path:
    d = root / version
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(weights)
    meta = {"version": version, "base": base, "mode": "full", "created": 0.0, "weights_sha256": hash_weights(d)}
    (d / META).write_text(json.dumps(meta))
    return d


class _Named:
    """A HashingEncoder under another name (stands in for the fine-tuned model)."""

    def __init__(self, name: str) -> None:
        self._enc, self.name = HashingEncoder(dim=64), name

    @property
    def dim(self) -> int:
        return self._enc.dim

    def encode(self, texts: list[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        return self._enc.encode(texts)


def test_model_folder_is_named_from_its_metadata(tmp_path: Path) -> None:
    a = ModelStore(tmp_path / "a")
    _fake_version(a.root, "v0001", b"weights-a")
    _fake_version(tmp_path / "b", "v0001", b"weights-b")
    mv = a.get("v0001")
    assert folder_encoder_name(mv.path) == mv.encoder_name
    assert mv.encoder_name.startswith("minilm@v0001:")
    # two stores' v0001 with different weights must not share embedding-cache entries
    assert folder_encoder_name(tmp_path / "b" / "v0001") != mv.encoder_name


def test_plain_model_folder_is_named_by_its_weights(tmp_path: Path) -> None:
    d = tmp_path / "my-model"
    d.mkdir()
    (d / "model.safetensors").write_bytes(b"one")
    first = folder_encoder_name(d)
    assert first.startswith("local:my-model:") and first == folder_encoder_name(str(d) + "/")
    (d / "model.safetensors").write_bytes(b"two")
    assert folder_encoder_name(d) != first
    (d / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weights file"):
        folder_encoder_name(d)


def test_rebuilt_index_saves_catalog_and_loads_under_the_folder_name(
    tiny_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ModelStore(tmp_path / "models")
    folder = _fake_version(store.root, "v0001", b"weights")
    monkeypatch.setattr(ModelStore, "encoder", lambda self, version=None: _Named(self.get("v0001").encoder_name))
    rebuild_index(tiny_catalog, store, tmp_path / "index")  # a new folder: written as a shelf
    catalog = Catalog.load(catalog_file(tmp_path / "index"))
    assert catalog.ids == tiny_catalog.ids
    # what `shelfwise serve --shelf ... --encoder <folder>` does, with the folder's name
    index = searcher_folder(tmp_path / "index")
    searcher = HybridSearcher.load(index, catalog, _Named(folder_encoder_name(folder)))
    res = searcher.search("black trousers", 3)
    assert len(res) == 3 and catalog.ids[int(res.ids[0])] == "p1"
    with pytest.raises(ValueError, match="built with encoder"):
        HybridSearcher.load(index, catalog, _Named("local:v0001"))
    assert np.isfinite(res.scores).all()


def test_index_folder_from_before_shelves_is_rebuilt_in_its_layout(
    tiny_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shelfwise.retrieve.hybrid import read_meta

    store = ModelStore(tmp_path / "models")
    _fake_version(store.root, "v0001", b"weights")
    name = store.get("v0001").encoder_name
    monkeypatch.setattr(ModelStore, "encoder", lambda self, version=None: _Named(name))
    out = tmp_path / "index"
    HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64)).save(out)
    tiny_catalog.save(out / "catalog.parquet")
    lines: list[str] = []
    rebuild_index(tiny_catalog, store, out, say=lines.append)
    assert not (out / "shelf.json").exists() and read_meta(out)["encoder"] == name
    assert any("from before shelves" in line for line in lines)
