"""Index rebuild for a new encoder: progress with an estimate, cached vectors reused (a killed
rebuild resumes), and an atomic swap that never leaves a half-written index (no real model)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.encode import HashingEncoder
from shelfwise.encode.base import Matrix
from shelfwise.finetune import build_index_atomically, embed_catalog
from shelfwise.finetune.rebuild import recover
from shelfwise.retrieve import HybridSearcher
from shelfwise.retrieve.hybrid import read_meta


class _Counting:
    """A named HashingEncoder that counts the texts it embeds and can fail on the n-th call."""

    def __init__(self, name: str = "model@v0002:abc", fail_on_call: int | None = None) -> None:
        self._enc, self.name = HashingEncoder(dim=32), name
        self.embedded, self.calls, self.fail_on_call = 0, 0, fail_on_call

    @property
    def dim(self) -> int:
        return self._enc.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise KeyboardInterrupt("killed mid-rebuild")
        self.embedded += len(texts)
        return self._enc.encode(texts)


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.rglob("*"))
        if f.is_file()
    }


def _texts(n: int) -> list[str]:
    return [f"product {i} in colour {i % 7}" for i in range(n)]


def test_progress_estimate_and_cache_reuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "emb.sqlite"
    enc = _Counting()
    lines: list[str] = []
    vecs, stats = embed_catalog(_texts(50), enc, cache=cache, chunk=16, progress=True, say=lines.append)
    assert vecs.shape == (50, 32) and stats.embedded == 50 and stats.reused == 0 and enc.embedded == 50
    assert len(lines) == 1 and lines[0].startswith("embedding 50 products with model@v0002:abc: ")
    assert "products/s on the first batch" in lines[0] and "left" in lines[0]
    assert "50/50" in capsys.readouterr().err  # the bar reached the end
    # same encoder name, same texts: nothing is embedded again; a new name re-embeds
    again = _Counting()
    vecs2, stats2 = embed_catalog(_texts(50), again, cache=cache, chunk=16, say=lines.append)
    assert again.embedded == 0 and stats2.reused == 50 and (vecs2 == vecs).all() and len(lines) == 1
    other = _Counting(name="model@v0003:def")
    embed_catalog(_texts(50), other, cache=cache, chunk=16, say=lines.append)
    assert other.embedded == 50


def test_rebuild_replaces_the_index_and_keeps_its_settings(tiny_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "index"
    old = HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64))
    old.config = replace(old.config, personal_weight=0.3)
    old.save(out)
    (out / "reranker").mkdir()
    (out / "reranker" / "manifest.json").write_text("{}")
    lines: list[str] = []
    searcher, stats = build_index_atomically(tiny_catalog, _Counting(), out, encoder_spec="/m/v0002", say=lines.append)
    meta = read_meta(out)
    assert meta["encoder"] == "model@v0002:abc" and meta["encoder_spec"] == "/m/v0002"
    assert meta["config"]["personal_weight"] == 0.3  # the store's tuning survives the rebuild
    assert (out / "reranker" / "manifest.json").exists() and any("kept reranker" in x for x in lines)
    assert (out / "catalog.parquet").exists() and stats.embedded == len(tiny_catalog)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]  # no temporary folders left
    assert len(searcher.search("black trousers", 3)) == 3


def test_killed_rebuild_leaves_the_old_index_untouched_and_resumes(tiny_catalog: Catalog, tmp_path: Path) -> None:
    out, cache = tmp_path / "index", tmp_path / "emb.sqlite"
    HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64)).save(out)
    before = _snapshot(out)
    texts = tiny_catalog.texts()
    first = _Counting(fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        embed_catalog(texts, first, cache=cache, chunk=4)
    assert first.embedded == 4  # one chunk made it into the cache before the "kill"
    with pytest.raises(KeyboardInterrupt):
        build_index_atomically(tiny_catalog, _Counting(fail_on_call=1), out, cache=cache, say=lambda _: None)
    assert _snapshot(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["emb.sqlite", "index"]
    resumed = _Counting()
    _, stats = build_index_atomically(tiny_catalog, resumed, out, cache=cache, say=lambda _: None)
    assert stats.reused == 4 and resumed.embedded == len(texts) - 4
    assert read_meta(out)["encoder"] == "model@v0002:abc"


def test_recover_puts_a_complete_old_index_back(tiny_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "index"
    aside = tmp_path / ".index.old-123"
    HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64)).save(aside)  # died between the two renames
    (tmp_path / ".index.building-123").mkdir()
    recover(out)
    assert (out / "searcher.json").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_refuses_to_replace_a_folder_that_is_not_an_index(tiny_catalog: Catalog, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an index folder"):
        build_index_atomically(tiny_catalog, _Counting(), out)
    assert (out / "notes.txt").read_text() == "mine"
    (out / "shelf.json").write_text("{}")
    with pytest.raises(FileExistsError, match="is a shelf"):
        build_index_atomically(tiny_catalog, _Counting(), out)


def test_recover_puts_a_shelf_set_aside_back(tiny_catalog: Catalog, tmp_path: Path) -> None:
    from shelfwise.shelf import Shelf

    aside = tmp_path / ".shelf.old-123-456"  # a shelf publish died between its two renames
    Shelf(catalog=tiny_catalog, searcher=HybridSearcher.build(tiny_catalog, HashingEncoder(dim=64))).save(aside)
    recover(tmp_path / "shelf")
    assert (tmp_path / "shelf" / "shelf.json").exists() and not aside.exists()
