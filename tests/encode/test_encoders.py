from pathlib import Path

import numpy as np

from contracts.encoder import EncoderContract
from shelfwise.encode import CachedEncoder, Encoder, HashingEncoder, load_encoder


class CountingEncoder:
    def __init__(self) -> None:
        self.inner = HashingEncoder(dim=32)
        self.calls = 0

    @property
    def name(self) -> str:
        return "counting"

    @property
    def dim(self) -> int:
        return 32

    def encode(self, texts, *, batch_size=64, progress=False):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return self.inner.encode(texts)


class TestHashingEncoder(EncoderContract):
    def make(self, tmp_path: object) -> Encoder:
        return HashingEncoder(dim=256)


class TestCachedEncoder(EncoderContract):
    """The disk cache answers like the encoder it wraps."""

    def make(self, tmp_path: object) -> Encoder:
        assert isinstance(tmp_path, Path)
        return CachedEncoder(HashingEncoder(dim=64), tmp_path / "c.sqlite")


def test_cache_reuses_embeddings(tmp_path: Path) -> None:
    inner = CountingEncoder()
    path = tmp_path / "c.sqlite"
    enc = CachedEncoder(inner, path)
    a = enc.encode(["a b c", "d e f"])
    b = enc.encode(["d e f", "g h i"])
    assert inner.calls == 3
    assert np.allclose(a[1], b[0])
    enc.close()
    again = CachedEncoder(inner, path)
    again.encode(["a b c", "g h i"])
    assert inner.calls == 3 and again.hits == 2


def test_registry_hashing_and_unknown() -> None:
    assert load_encoder("hashing").dim == 256
    try:
        load_encoder("no-such-model")
    except ValueError as exc:
        assert "no-such-model" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_query_side_encoder_for_asymmetric_models(tmp_path: Path) -> None:
    from shelfwise.encode import query_encoder

    class Asym(HashingEncoder):
        def __init__(self, role: str = "passage") -> None:
            super().__init__(dim=32)
            self.role = role

        def for_queries(self) -> "Asym":
            return Asym("query")

    plain = HashingEncoder(dim=32)
    assert query_encoder(plain) is plain
    assert query_encoder(CachedEncoder(plain, tmp_path / "q.sqlite")) is plain  # queries skip the disk cache
    assert query_encoder(Asym()).role == "query"  # type: ignore[attr-defined]
    assert query_encoder(CachedEncoder(Asym(), tmp_path / "c.sqlite")).role == "query"  # type: ignore[attr-defined]
