"""Versioned model artefacts: ``<root>/v0001/`` is a sentence-transformers folder (weights in
``model.safetensors``, config JSON, tokenizer) plus ``shelfwise_model.json`` describing how it was
made (base, mode, config, data sizes, validation history, parent version, role prefixes), and, when
exported, ``onnx/`` (the same weights as int8 ONNX, which is what search then runs: no torch at
encode time). No pickle anywhere.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shelfwise.encode.base import Encoder
from shelfwise.encode.registry import MODEL_META, ONNX_SUBDIR, folder_encoder, hash_weights, versioned_name
from shelfwise.finetune.pairs import PairSet
from shelfwise.finetune.trainer import TrainedModel

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

_VERSION = re.compile(r"^v(\d{4,})$")
META = MODEL_META
PAIRS = "pairs.jsonl"  # the training pairs of a version, replayed by the versions trained from it
RUNS = "runs.jsonl"  # a record per training run (published or refused), and one per shelf it went into or not


@dataclass(frozen=True)
class ModelVersion:
    version: str
    path: Path
    base: str
    mode: str
    created: float
    weights_sha256: str
    parent: str | None = None
    n_train: int = 0
    sources: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    onnx_error: str = ""

    @property
    def onnx(self) -> bool:
        """Whether the version carries its int8 ONNX export (``onnx/``), which search runs."""
        return (self.path / ONNX_SUBDIR / "model.onnx").exists()

    @property
    def encoder_name(self) -> str:
        """Identifies the weights (embedding caches key on it); ``load_encoder(<folder>)`` gives this name,
        with ``:passage`` / ``:query`` after it for a model with role prefixes (E5)."""
        return versioned_name(self.base, self.version, self.weights_sha256)


class ModelStore:
    """Append-only folder of model versions; ``save`` / ``versions`` / ``latest`` / ``encoder``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def versions(self) -> list[ModelVersion]:
        if not self.root.exists():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if _VERSION.match(d.name) and (d / META).exists():
                out.append(self._read(d))
        return out

    def latest(self) -> ModelVersion | None:
        vs = self.versions()
        return vs[-1] if vs else None

    def get(self, version: str) -> ModelVersion:
        d = self.root / version
        if not (d / META).exists():
            known = [v.version for v in self.versions()]
            raise KeyError(f"{self.root}: no model version {version!r}; known: {known}")
        return self._read(d)

    def _read(self, d: Path) -> ModelVersion:
        raw = json.loads((d / META).read_text())
        return ModelVersion(
            version=raw["version"],
            path=d,
            base=raw["base"],
            mode=raw["mode"],
            created=float(raw["created"]),
            weights_sha256=raw["weights_sha256"],
            parent=raw.get("parent"),
            n_train=int(raw.get("n_train", 0)),
            sources=tuple(raw.get("sources", ())),
            metrics={k: math.nan if v is None else float(v) for k, v in raw.get("metrics", {}).items()},
            prefixes={str(k): str(v) for k, v in (raw.get("prefixes") or {}).items()},
            onnx_error=str(raw.get("onnx_error", "")),
        )

    def _next(self) -> str:
        nums = [
            int(m.group(1))
            for d in (self.root.iterdir() if self.root.exists() else [])
            if (m := _VERSION.match(d.name))
        ]
        return f"v{(max(nums) + 1) if nums else 1:04d}"

    def save(
        self,
        trained: TrainedModel,
        *,
        n_train: int,
        sources: tuple[str, ...] = (),
        metrics: dict[str, float] | None = None,
        parent: str | None = None,
        prefixes: dict[str, str] | None = None,
        onnx: bool = False,
        pairs: PairSet | None = None,
    ) -> ModelVersion:
        """Write the next version atomically (temp folder, then rename). ``prefixes``: the base
        model's role prefixes (E5), recorded so queries and products are encoded as in training.
        ``onnx``: also export the weights as int8 ONNX (``onnx/``), the fast path search runs.
        ``pairs``: the pairs it was trained on (:data:`PAIRS`, JSON lines), which a version trained
        from this one replays (:meth:`pairs`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = self._next()
        tmp = self.root / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        trained.model.save(str(tmp), safe_serialization=True)
        weights = tmp / "model.safetensors"
        if not weights.exists():
            raise RuntimeError(f"{tmp}: sentence-transformers did not write model.safetensors")
        onnx_error = ""
        if onnx:  # a failed export never loses the trained weights: the version is saved without it
            from shelfwise.encode.onnx_encoder import export_onnx

            try:
                export_onnx(tmp, tmp / ONNX_SUBDIR, source=f"{trained.base}@{version}", prefixes=prefixes)
            except Exception as exc:  # any exporter failure: a missing extra, an unsupported op
                shutil.rmtree(tmp / ONNX_SUBDIR, ignore_errors=True)
                onnx_error = f"{type(exc).__name__}: {exc}"
        meta = {
            "version": version,
            "base": trained.base,
            "mode": trained.config.mode,
            "created": time.time(),
            "weights_sha256": hash_weights(tmp),
            "parent": parent,
            "n_train": n_train,
            "sources": list(sources),
            "metrics": metrics or {},
            "prefixes": prefixes or {},
            "onnx_error": onnx_error,
            "config": asdict(trained.config) | {"learning_rate": trained.config.lr},
            "train_log": asdict(trained.log),
        }
        if pairs is not None:
            write_pairs(tmp / PAIRS, pairs)
        # strict JSON (no NaN: a run without validation pairs has no validation score), so any JSON reader takes it
        (tmp / META).write_text(json.dumps(_finite(meta), indent=2, allow_nan=False))
        tmp.rename(self.root / version)
        return self._read(self.root / version)

    def record_run(self, entry: dict[str, object]) -> None:
        """Append one run's record to :data:`RUNS` (JSON lines, strict JSON): every run, published or
        refused, so the store is also the experiment log (``runs()`` reads it back)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps(_finite({"time": time.time(), **entry}), allow_nan=False)
        with (self.root / RUNS).open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def runs(self) -> list[dict[str, object]]:
        """The run records, oldest first (none before the first run)."""
        path = self.root / RUNS
        if not path.exists():
            return []
        out: list[dict[str, object]] = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    out.append(dict(json.loads(line)))
                except (ValueError, TypeError) as exc:  # e.g. a line cut by a crash mid-write
                    raise ValueError(f"{path}: line {n}: not a run record ({exc})") from None
        return out

    def pairs(self, version: str) -> PairSet | None:
        """The training pairs stored with ``version`` (None: saved without them, before they were kept)."""
        path = self.get(version).path / PAIRS
        return read_pairs(path) if path.exists() else None

    def encoder(self, version: str | None = None) -> Encoder:
        """The encoder of a stored version (default latest), as ``load_encoder(<its folder>)`` gives it:
        its ONNX export when it has one, with its role prefixes."""
        mv = self.get(version) if version else self.latest()
        if mv is None:
            raise KeyError(f"{self.root}: no model versions yet")
        return folder_encoder(mv.path)


def write_pairs(path: Path, pairs: PairSet) -> None:
    """``pairs`` as JSON lines: ``{"a": anchor, "p": positive, "n": negative}`` (n only where one is)."""
    with path.open("w", encoding="utf-8") as f:
        for i, (a, p) in enumerate(zip(pairs.anchors, pairs.positives, strict=True)):
            row = {"a": a, "p": p} | ({"n": neg} if (neg := pairs.negative(i)) else {})
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_pairs(path: Path) -> PairSet:
    """The pairs :func:`write_pairs` wrote; a damaged line fails naming the file and line."""
    anchors: list[str] = []
    positives: list[str] = []
    negatives: list[str] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                anchors.append(str(row["a"]))
                positives.append(str(row["p"]))
                negatives.append(str(row.get("n", "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}: line {n}: not a training pair ({exc})") from None
    return PairSet(tuple(anchors), tuple(positives), f"replay:{path.parent.name}", tuple(negatives))


def _finite(value: object) -> JsonValue:
    """``value`` (nested dicts / lists / tuples of JSON scalars) with NaN and infinities as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"not JSON: {type(value).__name__}")
