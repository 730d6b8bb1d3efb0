"""Static (model2vec-style) encoders: the folder format and its arithmetic on made-up tiny models,
distillation from a tiny random BERT, and the packaged tokenlearn model (when installed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contracts.encoder import EncoderContract
from shelfwise.encode import Encoder
from shelfwise.errors import MissingExtraError

tokenizers = pytest.importorskip("tokenizers")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "black", "trousers", "slacks", "dark", "yoga", "mat", "red"]
VOCAB += ["dress", "[unused0]", "##s"]


def _tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {t: i for i, t in enumerate(VOCAB)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.save(str(path / "tokenizer.json"))


def _static_folder(path: Path, *, quantised: bool) -> dict[str, np.ndarray]:
    path.mkdir(parents=True, exist_ok=True)
    _tokenizer(path)
    rng = np.random.default_rng(0)
    if quantised:  # vocabulary quantisation: 4 int8 rows shared through a token -> row mapping, per-token weights
        tensors = {
            "embeddings": rng.integers(-100, 100, size=(4, 8)).astype(np.int8),
            "mapping": (np.arange(len(VOCAB)) % 4).astype(np.int64),
            "weights": rng.uniform(0.5, 1.5, size=len(VOCAB)).astype(np.float32),
        }
    else:
        tensors = {"embeddings": rng.normal(size=(len(VOCAB), 8)).astype(np.float16)}
    safetensors_numpy.save_file(tensors, str(path / "model.safetensors"))
    (path / "config.json").write_text(json.dumps({"normalize": True}))
    return tensors


@pytest.mark.parametrize("quantised", [False, True])
def test_static_encoder_is_the_weighted_token_mean(tmp_path: Path, quantised: bool) -> None:
    from shelfwise.encode.static import StaticEncoder

    t = _static_folder(tmp_path / "m", quantised=quantised)
    enc = StaticEncoder(tmp_path / "m")
    assert isinstance(enc, Encoder) and enc.dim == 8 and enc.name.startswith("static:m:")
    v = enc.encode(["Black trousers", "black qqq trousers", "", "zzz", "red dress"])
    assert v.dtype == np.float32 and v.shape == (5, 8)
    ids = [VOCAB.index("black"), VOCAB.index("trousers")]
    table = t["embeddings"].astype(np.float32)
    rows = t["mapping"][ids] if quantised else ids
    w = t["weights"][ids] if quantised else np.ones(2, dtype=np.float32)
    want = (table[rows] * w[:, None]).sum(0)
    np.testing.assert_allclose(v[0], want / np.linalg.norm(want), atol=1e-5)
    np.testing.assert_allclose(v[1], v[0], atol=1e-6)  # the unknown token is dropped
    assert not v[2].any() and not v[3].any()  # nothing known: a zero vector, not NaN
    assert np.allclose(np.linalg.norm(v[[0, 1, 4]], axis=1), 1.0, atol=1e-5)
    assert enc.encode([]).shape == (0, 8)
    big = enc.encode(["black trousers"] * 3 + ["red dress"] * 2, batch_size=2)
    np.testing.assert_allclose(big[3], v[4], atol=1e-6)


def test_static_encoder_rejects_short_tables(tmp_path: Path) -> None:
    from shelfwise.encode.static import StaticEncoder

    _static_folder(tmp_path / "m", quantised=False)
    safetensors_numpy.save_file({"embeddings": np.zeros((3, 8), np.float32)}, str(tmp_path / "m" / "model.safetensors"))
    with pytest.raises(ValueError, match="token rows"):
        StaticEncoder(tmp_path / "m")
    with pytest.raises(FileNotFoundError):
        StaticEncoder(tmp_path / "missing")


def test_pca_and_sif_helpers() -> None:
    from shelfwise.encode.static import pca_reduce, zipf_sif_weights

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 6)) * np.array([10, 5, 1, 0.5, 0.1, 0.01])
    r = pca_reduce(x, 3)
    assert r.shape == (500, 3) and r.dtype == np.float32
    var = r.var(axis=0)
    assert var[0] > var[1] > var[2]
    np.testing.assert_allclose(var.sum() / x.var(axis=0).sum(), 1.0, atol=0.01)  # top 3 axes keep ~all variance
    w = zipf_sif_weights(1000)
    assert w.shape == (1000,) and np.all(np.diff(w) > 0) and w[-1] < 1.0  # frequent (low-rank) tokens weigh less


def test_distill_from_a_tiny_bert(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from shelfwise.encode.static import STATIC_META, StaticEncoder, distill_static

    teacher = tmp_path / "teacher"
    teacher.mkdir()
    _tokenizer(teacher)
    cfg = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    transformers.BertModel(cfg).save_pretrained(str(teacher))
    out = distill_static(teacher, tmp_path / "student", pca_dims=8, progress=False)
    meta = json.loads((out / STATIC_META).read_text())
    assert meta["tokens"] == len(VOCAB) and meta["zeroed_tokens"] == 6  # 5 specials + [unused0]
    table = safetensors_numpy.load_file(str(out / "model.safetensors"))["embeddings"]
    assert table.shape == (len(VOCAB), 8) and table.dtype == np.float16
    assert not table[VOCAB.index("[CLS]")].any() and not table[VOCAB.index("[unused0]")].any()
    assert table[VOCAB.index("black")].any()
    enc = StaticEncoder(out)
    v = enc.encode(["black trousers", "yoga mat"])
    assert v.shape == (2, 8) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from shelfwise.encode import static

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "static_model" else real(n, *a))
    with pytest.raises(MissingExtraError, match=r"shelfwise\[fast\]"):
        static.tokenlearn_model_path()


def test_packaged_tokenlearn_model() -> None:
    static_model = pytest.importorskip("static_model")
    from shelfwise.encode import load_encoder

    enc = load_encoder("static-tokenlearn")
    assert enc.dim == 64 and enc.name.startswith("static-tokenlearn-64-int8:")
    texts = ["kitchen sink faucet", "faucet for kitchen sink", "lawn mower", "黑色休闲裤 男士", "男士黑色棉质休闲长裤"]
    v = enc.encode(texts)
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3  # a weak model (HD NDCG@10 0.13): only near-paraphrases are safe
    assert v[3] @ v[4] > v[3] @ v[2]
    # same vectors as the package's own Rust engine (texts without '.', see StaticEncoder on unk ids)
    ref = np.asarray(static_model.get_embeddings(texts), dtype=np.float32)
    assert np.all((v * ref).sum(1) > 0.999)


@pytest.mark.slow
def test_static_minilm_distilled_from_the_packaged_model() -> None:
    pytest.importorskip("sentence_transformers")
    from shelfwise.encode import load_encoder

    enc = load_encoder("static-minilm")  # distils on first use (about 2 minutes on 2 cores), cached after
    assert enc.dim == 256 and enc.name.startswith("static-minilm-pca256:")
    v = enc.encode(["black trousers for men", "dark slacks", "yoga mat"])
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_fast_paths_are_registered(tmp_path: Path) -> None:
    from shelfwise.encode import ENCODERS, CachedEncoder, load_encoder

    for name in ("minilm-onnx", "minilm-onnx-q8", "e5-onnx", "static-tokenlearn", "static-minilm", "static-e5"):
        assert name in ENCODERS
    pytest.importorskip("static_model")
    cached = load_encoder("static-tokenlearn", tmp_path / "c.sqlite")
    assert isinstance(cached, CachedEncoder)
    a = cached.encode(["kitchen sink faucet"])
    b = cached.encode(["kitchen sink faucet"])
    assert cached.hits == 1 and np.array_equal(a, b)


class TestStaticEncoder(EncoderContract):
    """A made-up tiny static model holds to the encoder contract."""

    def make(self, tmp_path: object) -> Encoder:
        from shelfwise.encode.static import StaticEncoder

        assert isinstance(tmp_path, Path)
        if not (tmp_path / "m").exists():
            _static_folder(tmp_path / "m", quantised=False)
        return StaticEncoder(tmp_path / "m")
