"""The packaged all-MiniLM-L6-v2 loads with the hub switched off and embeds sensibly."""

import os

import numpy as np
import pytest


def test_packaged_minilm_offline() -> None:
    pytest.importorskip("sentence_transformers")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from shelfwise.encode import SentenceTransformerEncoder, packaged_model_path

    assert (packaged_model_path() / "model.safetensors").exists()
    enc = SentenceTransformerEncoder()
    assert enc.dim == 384 and enc.name == "all-MiniLM-L6-v2"
    v = enc.encode(["black trousers for men", "dark slacks", "yoga mat", "a", "b"])
    assert v.shape == (5, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    small = enc.encode(["black trousers for men"])  # query-time path
    assert np.allclose(small[0], v[0], atol=1e-5)
