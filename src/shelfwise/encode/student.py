"""Student embedding: a static student fitted to the catalog, so the transformer embeds a sample only.

The transformer (the *teacher*: e5-onnx, a fine-tuned version, any ONNX encoder) embeds a random
sample of the catalog. A static (model2vec-style) table is then fitted so that each product's
weighted mean of token vectors reproduces the teacher's vector, and it embeds every product:

    min_E  ||A_s E - T_s||^2 + ridge * ||E - E_0||^2

``A_s``: the sampled products' token weights (SIF, Arora et al., 2017, "A Simple but Tough-to-Beat
Baseline for Sentence Embeddings", each row summing to one), ``T_s``: the teacher's vectors for
them, ``E_0``: each token alone through the teacher (the model2vec distillation, Tulkens & van
Dongen, 2024), which is what a token the sample never saw keeps. Fitting token vectors to a
teacher's outputs on in-domain text is tokenlearn's idea (the same authors); here it is one sparse
ridge regression, solved here by conjugate gradients on all 384 columns at once (one sparse product
per step for every column; a per-column solver runs the same sparse products once per column), a
few seconds on 2 cores (``StudentStats.fit_s``: 0.9 s at 10k products, 51-56 s at 1M).

Queries still go through the teacher (``for_queries``): a query is one short text, and a static
query side costs more than a static product side (``bench/bench_student.py``, dense NDCG@10 on full
Home Depot: teacher on both sides 0.318, student products 0.239, static-e5 on both 0.094). Every
product vector comes from the student, never a mix of teacher and student vectors (they are spread
differently: keeping the teacher's vectors for the sampled products ranks worse than an all-student
index, dense NDCG@10 -11% on HD dev_1k and -8% on full HD, ``bench/results/student_variants.json``),
so products added later are embedded the same way.
The table is saved with the index (:meth:`StudentEncoder.save`).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Encoder, Matrix, l2_normalise, query_encoder
from shelfwise.encode.onnx_encoder import OnnxEncoder
from shelfwise.encode.static import StaticEncoder, _load_safetensors
from shelfwise.errors import MissingExtraError
from shelfwise.jsonfile import read_manifest_json

FORMAT = "shelfwise.student"
VERSION = 1
META = "student.json"
MAX_TOKENS = 256  # the ONNX teachers' truncation


@dataclass(frozen=True)
class StudentConfig:
    """``sample``: share of the catalog the teacher embeds, at least ``min_sample`` and at most
    ``max_sample`` products (a catalog of ``min_sample`` or fewer is embedded by the teacher in full
    and the student fitted on all of it); ``ridge``: pull towards the single-token prior;
    ``sif``: SIF weight coefficient; ``holdout``: share of the sample kept out of the fit to report
    the student's fidelity (mean cosine to the teacher on products it was not fitted on)."""

    sample: float = 0.25
    min_sample: int = 1000
    max_sample: int = 50_000
    ridge: float = 0.1
    sif: float = 1e-3
    holdout: float = 0.05
    iterations: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.sample <= 1.0:
            raise ValueError(f"StudentConfig.sample must be in (0, 1], got {self.sample}")
        if not 1 <= self.min_sample <= self.max_sample:
            raise ValueError("StudentConfig: need 1 <= min_sample <= max_sample")
        if self.ridge <= 0 or self.sif <= 0 or self.iterations < 1:
            raise ValueError("StudentConfig: ridge > 0, sif > 0 and iterations >= 1")
        if not 0.0 <= self.holdout < 0.5:
            raise ValueError(f"StudentConfig.holdout must be in [0, 0.5), got {self.holdout}")

    def sample_size(self, n: int) -> int:
        if n <= self.min_sample:
            return n
        return int(min(n, max(self.min_sample, min(self.max_sample, math.ceil(self.sample * n)))))


@dataclass(frozen=True)
class StudentStats:
    """What the fit did: products the teacher embedded, tokens in the table, fidelity on held-out
    sampled products (mean / 5th-percentile cosine to the teacher), seconds per stage."""

    products: int
    teacher_products: int
    tokens: int
    holdout_products: int
    holdout_cosine_mean: float
    holdout_cosine_p5: float
    teacher_s: float
    prior_s: float
    fit_s: float

    def describe(self) -> str:
        share = self.teacher_products / max(self.products, 1)
        fid = (
            f"; fidelity on {self.holdout_products} held-out products: mean cosine {self.holdout_cosine_mean:.3f}"
            if self.holdout_products
            else ""
        )
        return (
            f"student embedding: the teacher embedded {self.teacher_products:,} of {self.products:,} products"
            f" ({share:.0%}), static table of {self.tokens:,} tokens fitted in {self.fit_s + self.prior_s:.1f} s{fid}"
        )


class StudentEncoder:
    """Products through the fitted static table, queries through the teacher.

    ``name`` ties the two (teacher name + table digest), so an index built with one student never
    loads with another table or teacher."""

    def __init__(self, student: StaticEncoder, teacher: Encoder, digest: str, meta: dict[str, Any]) -> None:
        if student.dim != teacher.dim:
            raise ValueError(f"student width {student.dim} != teacher width {teacher.dim}")
        self.student = student
        self.teacher = teacher
        self.digest = digest
        self.meta = meta

    @property
    def name(self) -> str:
        return f"{self.teacher.name}+student:{self.digest[:10]}"

    @property
    def dim(self) -> int:
        return self.teacher.dim

    @property
    def stats(self) -> StudentStats:
        return StudentStats(**self.meta["stats"])

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        return self.student.encode(texts, batch_size=batch_size, progress=progress)

    def for_queries(self) -> Encoder:
        return query_encoder(self.teacher)

    def for_passages(self) -> StudentEncoder:
        return self

    def save(self, path: str | Path) -> None:
        """``model.safetensors`` (embeddings, mapping, weights: the model2vec layout),
        ``tokenizer.json`` and ``student.json`` (format, version, teacher name, digest, fit stats)."""
        from safetensors.numpy import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(v) for k, v in self.student.tensors().items()}
        save_file(tensors, str(p / "model.safetensors"))
        src = self.student.tokenizer_file
        if src.resolve() != (p / "tokenizer.json").resolve():
            shutil.copyfile(src, p / "tokenizer.json")
        meta = {**self.meta, "format": FORMAT, "version": VERSION, "teacher": self.teacher.name, "digest": self.digest}
        (p / META).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | Path, teacher: Encoder) -> StudentEncoder:
        p = Path(path)
        f = p / META
        meta = read_manifest_json(
            f,
            fmt=FORMAT,
            max_version=VERSION,
            missing="missing (the index's student table is incomplete; rebuild the index)",
            required=("teacher", "digest", "stats"),
        )
        if meta["teacher"] != teacher.name:
            raise ValueError(f"{f}: the student was fitted to {meta['teacher']!r}, not {teacher.name!r}")
        tensors = _read_tables(p / "model.safetensors")
        student = StaticEncoder.from_tables(
            tensors["embeddings"],
            tensors.get("mapping"),
            tensors.get("weights"),
            p / "tokenizer.json",
            name=f"student:{meta['digest'][:10]}",
            max_tokens=MAX_TOKENS,
        )
        if _digest(student) != meta["digest"]:
            raise ValueError(f"{p / 'model.safetensors'}: does not match the digest in {f} (corrupt or replaced)")
        return cls(student, teacher, str(meta["digest"]), meta)


def saved_config(path: str | Path) -> StudentConfig:
    """The :class:`StudentConfig` a saved student (folder ``path``) was fitted with, to fit a new one
    the same way (``shelfwise train`` republishing a student shelf); errors name the file."""
    f = Path(path) / META
    meta = read_manifest_json(
        f, fmt=FORMAT, max_version=VERSION, missing="missing; rebuild with `shelfwise index`", required=("config",)
    )
    try:
        return StudentConfig(**meta["config"])
    except (TypeError, ValueError) as exc:  # unknown or invalid config fields
        raise ValueError(f"{f}: cannot read the student's config ({exc}); rebuild with `shelfwise index`") from exc


def _read_tables(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The student's tensors; a missing, unreadable or incomplete file is an error naming it."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (the index's student table is incomplete; rebuild the index)")
    try:
        tensors = _load_safetensors(path)
    except MissingExtraError:
        raise
    except Exception as exc:  # safetensors raises its own SafetensorError for a damaged file
        raise ValueError(f"{path}: corrupt ({exc})") from exc
    if "embeddings" not in tensors:
        raise ValueError(f"{path}: corrupt (no 'embeddings' tensor; has {sorted(tensors)})")
    return tensors


def _digest(student: StaticEncoder) -> str:
    h = hashlib.sha256()
    for a in student.tensors().values():
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _onnx_teacher(teacher: Encoder) -> OnnxEncoder:
    inner = getattr(teacher, "encoder", teacher)  # look through the embedding cache
    if not isinstance(inner, OnnxEncoder):
        raise ValueError(
            f"student embedding needs an ONNX teacher (e5-onnx, minilm-onnx-q8, a published fine-tuned"
            f" version); {teacher.name!r} is not one"
        )
    return inner


def _tokens(onnx: OnnxEncoder, texts: Sequence[str], step: int = 50_000) -> tuple[npt.NDArray[np.int64], ...]:
    """Every text's token ids, flat, with each text's length (compact: a million titles ~ 160 MB).
    The unknown token is dropped, as :meth:`StaticEncoder.token_ids` drops it at encode time."""
    unk = onnx.unk_id()
    flat: list[npt.NDArray[np.int64]] = []
    lengths: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(texts), step):
        rows = onnx.token_ids(texts[start : start + step])
        if unk is not None:
            rows = [[t for t in r if t != unk] for r in rows]
        lengths.append(np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows)))
        flat.append(np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(lengths[-1].sum())))
    return np.concatenate(flat), np.concatenate(lengths)


def _weights_matrix(
    flat: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], col: npt.NDArray[np.int64], w: npt.NDArray[np.float64]
) -> Any:
    """Sparse ``(texts, n_tokens)``: each row the SIF weights of its tokens, summing to one."""
    from scipy.sparse import csr_matrix

    cols = col[flat]
    vals = w[cols]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    sums = np.zeros(len(lengths))
    nonempty = lengths > 0
    sums[nonempty] = np.add.reduceat(vals, indptr[:-1][nonempty]) if len(vals) else 0.0
    vals = (vals / np.repeat(np.where(nonempty, sums, 1.0), lengths)).astype(np.float32)
    return csr_matrix((vals, cols, indptr), shape=(len(lengths), len(w)))


def _student_vectors(a: Any, table: npt.NDArray[np.float32], step: int = 65_536) -> Matrix:
    """Every row's normalised student vector, in float32 and in blocks (a million rows x 384 would
    otherwise pass through a 3 GB float64 product)."""
    out = np.empty((a.shape[0], table.shape[1]), dtype=np.float32)
    for start in range(0, a.shape[0], step):
        out[start : start + step] = l2_normalise(np.asarray(a[start : start + step] @ table))
    return out


def _ridge_cg(a: Any, t: npt.NDArray[np.float64], prior: npt.NDArray[np.float64], ridge: float, iters: int) -> Any:
    """Solve ``(A^T A + ridge I) E = A^T T + ridge E_0`` for all columns at once (conjugate
    gradients, one step size per column), starting from the prior."""
    x = prior.copy()
    b = a.T @ t + ridge * prior

    def op(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(a.T @ (a @ v) + ridge * v)

    r = b - op(x)
    p = r.copy()
    rs = (r * r).sum(axis=0)
    tol = 1e-10 * max(float((b * b).sum(axis=0).max()), 1e-30)
    for _ in range(iters):
        ap = op(p)
        alpha = rs / np.maximum((p * ap).sum(axis=0), 1e-30)
        x += p * alpha
        r -= ap * alpha
        rs_new = (r * r).sum(axis=0)
        if float(rs_new.max()) < tol:
            break
        p = r + p * (rs_new / np.maximum(rs, 1e-30))
        rs = rs_new
    return x


@dataclass(frozen=True)
class StudentFit:
    """:func:`fit_student`'s result: the encoder (products: student, queries: teacher), what the fit
    did, and every text's student vector (what ``encoder.encode(texts)`` returns, computed once)."""

    encoder: StudentEncoder
    stats: StudentStats
    vectors: Matrix


def fit_student(
    teacher: Encoder, texts: Sequence[str], config: StudentConfig | None = None, *, progress: bool = False
) -> StudentFit:
    """Embed a sample of ``texts`` with ``teacher`` and fit a static student to it (module docstring).
    ``teacher`` may be wrapped in the embedding cache (the sample goes through it)."""
    import time

    cfg = config or StudentConfig()
    onnx = _onnx_teacher(teacher)
    n = len(texts)
    if n == 0:
        raise ValueError("fit_student: no texts")
    flat, lengths = _tokens(onnx, texts)
    used = np.unique(flat)
    vocab = max(onnx.vocab_size(), int(used.max()) + 1 if len(used) else 0)
    col = np.full(vocab, -1, dtype=np.int64)
    col[used] = np.arange(len(used))
    counts = np.bincount(col[flat], minlength=len(used))
    freq = (counts + 1.0) / (counts.sum() + len(used))
    w = cfg.sif / (cfg.sif + freq)

    rng = np.random.default_rng(cfg.seed)
    m = cfg.sample_size(n)
    sample = np.sort(rng.choice(n, size=m, replace=False))
    t0 = time.perf_counter()
    target = teacher.encode([texts[i] for i in sample], progress=progress).astype(np.float64)
    teacher_s = time.perf_counter() - t0
    n_hold = round(cfg.holdout * m) if m >= 200 else 0
    fit_rows = np.ones(m, dtype=bool)
    fit_rows[rng.choice(m, size=n_hold, replace=False)] = False

    t0 = time.perf_counter()
    prior = onnx.single_token_vectors(used).astype(np.float64)
    prior_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    a_all = _weights_matrix(flat, lengths, col, w)
    del flat
    a = a_all[sample].astype(np.float64)
    table = _ridge_cg(a[fit_rows], target[fit_rows], prior, cfg.ridge, cfg.iterations)
    fit_s = time.perf_counter() - t0

    # row 0 of the table is zero: tokens never seen in the catalog map there (they add nothing)
    emb = np.vstack([np.zeros((1, table.shape[1])), table]).astype(np.float32)
    mapping = np.where(col >= 0, col + 1, 0).astype(np.int64)
    weights = np.ones(vocab, dtype=np.float32)
    weights[used] = w.astype(np.float32)
    static = StaticEncoder.from_tables(
        emb, mapping, weights, onnx.tokenizer_file, name="student", max_tokens=MAX_TOKENS
    )
    digest = _digest(static)
    held = ~fit_rows
    cos = np.zeros(0)
    if held.any():
        got = l2_normalise(np.asarray(a[held] @ table))
        cos = (got * l2_normalise(target[held])).sum(axis=1)
    stats = StudentStats(
        products=n,
        teacher_products=m,
        tokens=len(used),
        holdout_products=int(held.sum()),
        holdout_cosine_mean=float(cos.mean()) if len(cos) else float("nan"),
        holdout_cosine_p5=float(np.percentile(cos, 5)) if len(cos) else float("nan"),
        teacher_s=teacher_s,
        prior_s=prior_s,
        fit_s=fit_s,
    )
    meta = {"config": asdict(cfg), "stats": asdict(stats)}
    vectors = _student_vectors(a_all, table.astype(np.float32))
    return StudentFit(StudentEncoder(static, teacher, digest, meta), stats, vectors)
