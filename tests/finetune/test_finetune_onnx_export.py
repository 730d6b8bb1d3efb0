"""A saved model version carries its int8 ONNX export and role prefixes; search loads that."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.finetune import FinetuneConfig, PairSet

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

PREFIXES = {"query": "query: ", "passage": "passage: "}


def _trained(tiny_st: Path) -> object:
    from shelfwise.finetune import fine_tune

    train = PairSet(("red shoe", "blue hat", "green bag"), ("rojo zapato", "azul sombrero", "verde bolso"), "test")
    return fine_tune(tiny_st, train, None, FinetuneConfig(batch_size=3, max_steps=2, learning_rate=0.01))


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_saved_version_with_onnx_is_what_search_loads(tiny_st: Path, tmp_path: Path) -> None:
    from shelfwise.encode import load_encoder
    from shelfwise.encode.onnx_encoder import OnnxEncoder
    from shelfwise.finetune import ModelStore
    from shelfwise.finetune.trainer import mean_pooled

    tm = _trained(tiny_st)
    assert mean_pooled(tm.model)  # type: ignore[attr-defined]
    mv = ModelStore(tmp_path / "m").save(tm, n_train=3, prefixes=PREFIXES, onnx=True)  # type: ignore[arg-type]
    assert mv.onnx and mv.prefixes == PREFIXES
    enc = load_encoder(str(mv.path))
    assert isinstance(enc, OnnxEncoder) and enc.name == f"{mv.encoder_name}:passage"
    assert ModelStore(tmp_path / "m").encoder().name == enc.name
    texts = ["rojo zapato", "azul sombrero grande", "verde"]
    torch_side = tm.model.encode(["passage: " + t for t in texts])  # type: ignore[attr-defined]
    assert _cos(enc.encode(texts), torch_side).min() > 0.97  # int8 weights, same graph and pooling
    q = enc.for_queries()
    assert q.name.endswith(":query")
    assert _cos(q.encode(["red shoe"]), tm.model.encode(["query: red shoe"])).min() > 0.97  # type: ignore[attr-defined]


def test_version_without_onnx_runs_its_weights_with_prefixes(tiny_st: Path, tmp_path: Path) -> None:
    from shelfwise.encode import load_encoder
    from shelfwise.finetune import ModelStore

    tm = _trained(tiny_st)
    mv = ModelStore(tmp_path / "m").save(tm, n_train=3, prefixes=PREFIXES)  # type: ignore[arg-type]
    assert not mv.onnx
    enc = load_encoder(str(mv.path))
    got = enc.encode(["rojo zapato"])
    want = tm.model.encode(["passage: rojo zapato"], normalize_embeddings=True)  # type: ignore[attr-defined]
    assert np.allclose(got, want, atol=1e-5)
    plain = ModelStore(tmp_path / "p").save(tm, n_train=3)  # type: ignore[arg-type]
    assert np.allclose(load_encoder(str(plain.path)).encode(["rojo zapato"]),
                       tm.model.encode(["rojo zapato"], normalize_embeddings=True), atol=1e-5)  # type: ignore[attr-defined]  # fmt: skip


def test_a_failed_export_keeps_the_trained_version(
    tiny_st: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shelfwise.encode.onnx_encoder as oe
    from shelfwise.finetune import ModelStore

    def broken(*a: object, **k: object) -> Path:
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(oe, "export_onnx", broken)
    mv = ModelStore(tmp_path / "m").save(_trained(tiny_st), n_train=3, onnx=True)  # type: ignore[arg-type]
    assert not mv.onnx and "unsupported op" in mv.onnx_error
    assert (mv.path / "model.safetensors").exists() and not (mv.path / "onnx").exists()
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["v0001"]  # no staging folder left


def test_without_onnxruntime_a_version_runs_its_torch_weights(
    tiny_st: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from shelfwise.encode import load_encoder
    from shelfwise.encode.onnx_encoder import OnnxEncoder
    from shelfwise.finetune import ModelStore

    tm = _trained(tiny_st)
    mv = ModelStore(tmp_path / "m").save(tm, n_train=3, onnx=True)  # type: ignore[arg-type]
    assert mv.onnx
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "onnxruntime" else real(n, *a))
    with pytest.warns(UserWarning, match="onnxruntime not installed"):
        enc = load_encoder(str(mv.path))
    assert not isinstance(enc, OnnxEncoder) and enc.name == mv.encoder_name
    want = tm.model.encode(["rojo zapato"], normalize_embeddings=True)  # type: ignore[attr-defined]
    assert np.allclose(enc.encode(["rojo zapato"]), want, atol=1e-5)


def test_train_base_auto_reads_the_index_encoder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shelfwise.catalog import load_catalog
    from shelfwise.cli.train_cmd import resolve_train_base
    from shelfwise.encode.hashing import HashingEncoder
    from shelfwise.retrieve import HybridSearcher

    (tmp_path / "p.csv").write_text("id,title\np1,red shoe\np2,blue hat\n")
    catalog = load_catalog(tmp_path / "p.csv").catalog
    HybridSearcher.build(catalog, HashingEncoder(dim=16), encoder_spec="hashing").save(tmp_path / "idx")
    assert resolve_train_base("auto", tmp_path / "idx") == "e5"
    assert "hashing is not trainable; training e5 instead" in capsys.readouterr().out
    assert resolve_train_base("minilm", tmp_path / "idx") == "minilm"
    assert resolve_train_base("auto", None) == "e5"
