"""End to end: mine pairs from a store's data, fine-tune, gate on held-out pairs, version the
model, rebuild the index."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.onnx_encoder import runtime_available
from shelfwise.encode.registry import CONVERSION_META, MODEL_META, model_prefixes
from shelfwise.eval.judgments import Judgments
from shelfwise.events.schema import EventLog
from shelfwise.finetune.artifacts import PAIRS, ModelStore, ModelVersion, read_pairs
from shelfwise.finetune.config import FinetuneConfig
from shelfwise.finetune.continual import ReplayConfig, replay_mix
from shelfwise.finetune.gate import DEFAULT_MIN_GAIN, GateReport, holdout_gate
from shelfwise.finetune.metrics import eval_size
from shelfwise.finetune.pairs import PairSet, copurchase_pairs, pairs_from_events, pairs_from_judgments
from shelfwise.finetune.rebuild import build_index_atomically, build_shelf_folder, check_index_out, publish_into_shelf
from shelfwise.finetune.served_gate import ServedCheck
from shelfwise.finetune.trainer import TrainedModel, fine_tune, load_st, mean_pooled
from shelfwise.retrieve.hybrid import HybridSearcher

# Search encoders (shelfwise.encode.ENCODERS) -> the trainable weights behind them.
TRAINABLE_BASE = {
    "e5": "e5",
    "e5-onnx": "e5",
    "minilm": "minilm",
    "minilm-int8": "minilm",
    "minilm-onnx": "minilm",
    "minilm-onnx-q8": "minilm",
    "static-minilm": "minilm",  # static students: their teacher (the index then runs the tuned transformer)
    "static-e5": "e5",
}
DEFAULT_BASE = "e5"  # the weights behind the default search encoder (e5-onnx)


def base_for_encoder(spec: str | None, name: str | None = None) -> tuple[str, str]:
    """The base to fine-tune for an index built with encoder ``spec`` (its recorded ``name`` where an
    older index has no spec), and why: its own weights (``e5-onnx`` -> ``e5``, a fine-tuned folder ->
    that folder), :data:`DEFAULT_BASE` when unknown, missing or not trainable (hashing)."""
    if spec in TRAINABLE_BASE:
        return TRAINABLE_BASE[spec], f"the index's encoder is {spec}"
    if spec:
        path = Path(spec)
        if (path / "modules.json").exists() or (path / "config.json").exists():
            return str(path), "the index's encoder is this model folder"
        if path.is_absolute() or "/" in spec:
            return DEFAULT_BASE, f"the index's encoder folder {spec} is not here; training {DEFAULT_BASE} instead"
        return DEFAULT_BASE, f"the index's encoder {spec} is not trainable; training {DEFAULT_BASE} instead"
    low = (name or "").lower()
    for key, base in (("minilm", "minilm"), ("e5", "e5")):
        if key in low:
            return base, f"the index's encoder is {name}"
    return DEFAULT_BASE, f"the index records no trainable encoder; training {DEFAULT_BASE}"


def base_family(base: str) -> str:
    """``"e5"`` / ``"minilm"`` for those bases, for the converted E5 folder and for model versions
    trained from them (read from their ``shelfwise_model.json``); ``""`` for other folders."""
    if base in ("e5", "minilm"):
        return base
    root = Path(base)
    if (root / MODEL_META).exists():
        recorded = str(json.loads((root / MODEL_META).read_text()).get("base", ""))
        return recorded if recorded in ("e5", "minilm") else ""
    return "e5" if (root / CONVERSION_META).exists() else ""


def _parent_version(base: str) -> str | None:
    meta = Path(base) / MODEL_META
    return str(json.loads(meta.read_text()).get("version")) if base not in ("e5", "minilm") and meta.exists() else None


def base_prefixes(base: str) -> dict[str, str]:
    """Role prefixes of ``base`` (E5's ``"query: "`` / ``"passage: "``; none for MiniLM), without
    converting or loading the model."""
    if base == "e5":
        from shelfwise.encode.e5 import PREFIXES

        return dict(PREFIXES)
    if base == "minilm":
        return {}
    return model_prefixes(base)


def resolve_base(base: str) -> Path:
    """``minilm`` (packaged all-MiniLM-L6-v2), ``e5`` (converted multilingual-e5-small) or a folder."""
    if base == "minilm":
        from shelfwise.encode.sentence import packaged_model_path

        return packaged_model_path()
    if base == "e5":
        from shelfwise.encode.e5 import e5_model_path

        return e5_model_path()
    path = Path(base)
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise FileNotFoundError(f"{base}: not 'minilm', 'e5' or a sentence-transformers model folder")
    return path


@dataclass(frozen=True)
class TrainingData:
    """Pairs split by anchor: ``train`` is learnt, ``val`` picks the step (early stopping), and
    ``holdout``, seen by neither, decides whether the result is published."""

    train: PairSet
    val: PairSet
    holdout: PairSet = field(default_factory=lambda: PairSet((), ()))
    prefixes: dict[str, str] = field(default_factory=dict)  # role prefixes already on the texts

    def describe(self) -> str:
        def n(p: PairSet) -> str:
            return f"{len(p)} pairs / {len(set(p.anchors))} anchors"

        return f"training {n(self.train)} ({self.train.source}); validation {n(self.val)}; held out {n(self.holdout)}"


def mine_pairs(
    catalog: Catalog,
    judgments: Judgments | None = None,
    log: EventLog | None = None,
    *,
    val_fraction: float = 0.15,
    holdout_fraction: float = 0.15,
    max_copurchase: int | None = 10_000,
    prefixes: dict[str, str] | None = None,
    ranked: Callable[[str], Sequence[str]] | None = None,
    seed: int = 0,
) -> TrainingData:
    """Every available pair source, each split by anchor into train / validation / holdout.

    ``prefixes``: the base model's role prefixes (:func:`~shelfwise.encode.registry.model_prefixes`),
    put on the texts as search will encode them: queries get ``query``, products ``passage``.
    ``ranked``: the store's current search (query -> item ids, best first), whose top results not
    judged relevant become hard negatives of judged queries (:func:`pairs_from_judgments`)."""
    q_pre, p_pre = (prefixes or {}).get("query", ""), (prefixes or {}).get("passage", "")
    if val_fraction <= 0 or holdout_fraction < 0 or val_fraction + holdout_fraction >= 1:
        raise ValueError("val_fraction > 0, holdout_fraction >= 0, and together < 1")
    sets: list[PairSet] = []
    if judgments is not None:
        sets.append(pairs_from_judgments(judgments, catalog, ranked=ranked).prefixed(q_pre, p_pre))
    if log is not None:
        q = pairs_from_events(log, catalog)
        if len(q):
            sets.append(q.prefixed(q_pre, p_pre))
        c = copurchase_pairs(log, catalog, max_pairs=max_copurchase, seed=seed)
        if len(c):
            sets.append(c.prefixed(p_pre, p_pre))
    found = sum(len(s) for s in sets)
    if not sets or found < 4:
        given = [what for what, x in (("judgments", judgments), ("events", log)) if x is not None]
        got = f"{found} pair(s) from the {' and '.join(given)} given, fewer than 4" if given else "nothing given"
        raise ValueError(
            f"no training pairs ({got}): give judgments (judged-relevant products in the catalog) or events with "
            "queries / co-purchases"
        )
    empty = PairSet((), ())
    train, val, hold = empty, empty, empty
    for s in sets:
        a, rest = s.split(1.0 - val_fraction - holdout_fraction, seed)
        b, c = rest.split(val_fraction / (val_fraction + holdout_fraction), seed) if holdout_fraction else (rest, empty)
        # the anchor split can put x -> y and y -> x (two shoppers' co-purchases) on different sides: a
        # scored pair whose reverse trains is left out of scoring (its signal trains; anchors stay apart)
        b, c = b.reversing(a)[1], c.reversing(a)[1]
        train, val, hold = train + a, val + b, hold + c
    return TrainingData(train, val, hold, dict(prefixes or {}))


def _distractors(catalog: Catalog, n: int, prefix: str = "") -> list[str]:
    texts = catalog.texts()
    return [prefix + t for t in texts[:: max(len(texts) // max(n, 1), 1)][:n]]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train`` did: the model, its held-out comparison, the version written (None when
    the gate refused it), and whether ``force`` overrode the gate."""

    trained: TrainedModel
    gate: GateReport
    version: ModelVersion | None
    forced: bool = False
    held_out: PairSet = field(default_factory=lambda: PairSet((), ()))  # what the gate scored (unseen_by_base)

    @property
    def published(self) -> bool:
        return self.version is not None


def train_and_publish(
    catalog: Catalog,
    data: TrainingData,
    store: ModelStore,
    *,
    base: str = DEFAULT_BASE,
    config: FinetuneConfig | None = None,
    n_distractors: int = 1000,
    min_gain: float = DEFAULT_MIN_GAIN,
    min_se: float = 0.0,
    force: bool = False,
    progress: bool = False,
    say: Callable[[str], None] | None = None,
    onnx: bool = True,
    replay: ReplayConfig | None = None,
) -> TrainOutcome:
    """Fine-tune ``base``, compare it with ``base`` on the holdout, and save a new version in
    ``store`` only if it gains more than ``min_gain`` NDCG@10 there and, with ``min_se``, more than that
    many standard errors of the per-query gain (or ``force``).

    ``data`` must carry the base's role prefixes (``mine_pairs(..., prefixes=base_prefixes(base))``).
    Unset learning rate and softmax scale come from the base family's defaults
    (:meth:`FinetuneConfig.for_base`). A base that is itself a stored version is recorded as the
    version's parent, and the new version keeps its family name (``e5@v0002``).
    ``onnx``: the saved version also gets its int8 ONNX export, which search then runs (mean-pooled
    models, with the ``fast`` extra installed; otherwise it is saved without and says so).
    ``replay``: when ``base`` is a stored version that kept its training pairs, ``replay.ratio`` of
    them per new pair are mixed into training (:func:`~shelfwise.finetune.continual.replay_mix`;
    default 1.0; those whose query is now validation or held out are left out), so what it learnt is
    rehearsed; the new version keeps the pairs it was trained on for the next one."""
    tell = say or (_stderr if progress else None)
    prefixes = base_prefixes(base)
    if data.prefixes != prefixes:
        raise ValueError(
            f"training pairs carry role prefixes {data.prefixes} but base {base!r} expects {prefixes}: "
            "mine them with mine_pairs(..., prefixes=base_prefixes(base))"
        )
    export = onnx and runtime_available("onnxruntime", "onnx", "tokenizers")
    if onnx and not export and tell is not None:
        tell("onnxruntime / onnx not installed (pip install 'shelfwise[fast]'): the model is saved without its "
             "int8 ONNX export and search will run it in torch")  # fmt: skip
    base_dir = resolve_base(base)
    family = base_family(base)
    cfg = (config or FinetuneConfig()).for_base(family)
    distractors = _distractors(catalog, n_distractors, prefixes.get("passage", ""))
    base_model = load_st(base_dir)
    name = family or base_dir.name
    data = unseen_by_base(data, base_dir, tell)
    train = _with_replay(data, base_dir, replay or ReplayConfig(), tell)
    trained = fine_tune(
        base_model, train, data.val, cfg, distractors=distractors, base_name=name, progress=progress, say=say
    )
    if say is not None or progress:
        n, m = eval_size(data.holdout, distractors)
        parent = _parent_version(base)
        label = f"{parent}, the stored version this run continues" if parent else f"{name}, untrained"
        (say or _stderr)(f"comparing with the base model ({label}) on {n} held-out queries against {m} candidates")
    gate = holdout_gate(base_model, trained.model, data.holdout, distractors, min_gain=min_gain, min_se=min_se)
    run = {
        "base": base,
        "mode": cfg.mode,
        "pairs": {"train": len(train), "validation": len(data.val), "held_out": len(data.holdout)},
        "sources": data.train.source,
        "gate": gate.to_json() | {"passed": gate.passed, "min_gain": min_gain, "min_se": min_se},
        "train_log": asdict(trained.log),
    }
    if not (gate.passed or force):
        store.record_run({**run, "version": None, "why": gate.summary()})
        return TrainOutcome(trained, gate, None, held_out=data.holdout)
    lg = trained.log
    metrics = {f"val_{lg.metric}": lg.best_val, "best_step": float(lg.best_step)} | gate.to_json()
    sources = tuple(sorted(set(data.train.source.split("+"))))
    if export and not mean_pooled(trained.model):
        export = False
        if tell is not None:
            tell("not exporting to ONNX: the model is not transformer + mean pooling (search runs it in torch)")
    if export and tell is not None:
        tell("exporting the model to int8 ONNX for search")
    mv = store.save(
        trained,
        n_train=len(train),
        sources=sources,
        metrics=metrics,
        prefixes=prefixes,
        onnx=export,
        parent=_parent_version(base),
        pairs=train,
    )
    if export and not mv.onnx and tell is not None:
        tell(f"ONNX export failed ({mv.onnx_error}): {mv.path} is saved without it; search runs it in torch")
    store.record_run({**run, "version": mv.version, "forced": not gate.passed})
    return TrainOutcome(trained, gate, mv, forced=not gate.passed, held_out=data.holdout)


def unseen_by_base(data: TrainingData, base_dir: Path, tell: Callable[[str], None] | None = None) -> TrainingData:
    """``data`` with every validation and held-out pair whose anchor the stored version at ``base_dir``
    was trained on (as an anchor, or as a positive: item-to-item pairs run both ways) moved to training.
    A new run's split reshuffles the anchors, so queries the base learnt could land in the holdout,
    and both gates would score what one of the models has seen. No change without stored pairs."""
    if not (base_dir / PAIRS).exists():
        return data
    old = read_pairs(base_dir / PAIRS)
    seen = set(old.anchors) | set(old.positives)
    val_seen, val = data.val.by_anchor(seen)
    held_seen, held = data.holdout.by_anchor(seen)
    if not len(val_seen) and not len(held_seen):
        return data
    if tell is not None:
        tell(f"{len(val_seen)} validation and {len(held_seen)} held-out pairs moved to training: {base_dir.name} "
             "was trained on their anchors, so the gates score only what neither model has seen")  # fmt: skip
    return TrainingData(data.train + val_seen + held_seen, val, held, data.prefixes)


def _with_replay(
    data: TrainingData, base_dir: Path, replay: ReplayConfig, tell: Callable[[str], None] | None
) -> PairSet:
    """``data.train`` plus a replay sample of the pairs the stored version at ``base_dir`` was trained
    on (none kept, or ``ratio`` 0: ``data.train`` alone). Only pairs the new training pairs lack are
    replayed: trained again on unchanged data, replay would double its pairs rather than rehearse old
    ones. Replayed pairs whose anchor is a validation or held-out anchor now are dropped, and those
    that are a validation or held-out pair reversed (item-to-item pairs: training on x -> y teaches
    y -> x): the gates must not score what training saw."""
    if replay.ratio == 0 or not (base_dir / PAIRS).exists():
        if replay.ratio and (base_dir / MODEL_META).exists() and tell is not None:  # a stored version from before
            tell(f"nothing to replay: {base_dir.name} was saved without its training pairs (plain fine-tuning)")
        return data.train
    scored = data.val + data.holdout
    unseen = set(scored.anchors)
    reversed_ = set(zip(scored.positives, scored.anchors, strict=True))
    skip = reversed_ | set(zip(data.train.anchors, data.train.positives, strict=True))  # ... or in this run's data
    old = read_pairs(base_dir / PAIRS)
    pairs = zip(old.anchors, old.positives, strict=True)
    keep = [i for i, (a, p) in enumerate(pairs) if a not in unseen and (a, p) not in skip]  # one union, not one a pair
    old = PairSet(
        tuple(old.anchors[i] for i in keep),
        tuple(old.positives[i] for i in keep),
        old.source,
        tuple(old.negative(i) for i in keep),
    )
    if not keep:
        if tell is not None:
            tell(f"nothing to replay: every pair {base_dir.name} was trained on is in this run's pairs or scored now")
        return data.train
    mixed = replay_mix(data.train, old, replay)
    if tell is not None:
        tell(f"replaying {len(mixed) - len(data.train)} of the {len(old)} pairs {base_dir.name} was trained on "
             f"(--replay {replay.ratio:g} per new pair), so what it learnt is rehearsed")  # fmt: skip
    return mixed


def rebuild_index(
    catalog: Catalog,
    store: ModelStore,
    out: str | Path,
    version: str | None = None,
    *,
    cache: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = print,
    events: EventLog | None = None,
    judgments: Judgments | None = None,
    check: Judgments | None = None,
    force: bool = False,
    on_served: Callable[[ServedCheck], None] | None = None,
    reranker: str | None = None,
) -> HybridSearcher:
    """Re-embed the catalog with a stored model version and publish it at ``out``, which records
    the version's encoder name and its folder as the encoder spec, so a server reloads that model:

    * a saved shelf (``shelf.json``): its searcher is replaced in place
      (:func:`~shelfwise.finetune.rebuild.publish_into_shelf`; ``events`` refit its recommender);
      servers of it pick the change up on ``POST /admin/reload`` or SIGHUP;
    * missing or empty: a new shelf, as ``shelfwise index`` writes it (recommender fitted on
      ``events``, reranker trained on ``judgments``), for ``shelfwise serve --shelf <out>``;
    * an index folder from before shelves: rebuilt in that layout
      (:func:`~shelfwise.finetune.rebuild.build_index_atomically`, ``catalog.parquet`` beside it).

    With ``cache`` (an embedding-cache file), vectors already embedded by this version are reused;
    every write is atomic. ``check`` (held-out judged queries): a shelf's searcher is replaced only when
    its search gets no worse on them (:mod:`~shelfwise.finetune.served_gate`, ``force`` overrides;
    ``on_served`` is handed the comparison). A shelf's reranker is refitted for the new encoder, or
    kept / dropped as ``reranker`` (``"keep"`` / ``"drop"``) says
    (:mod:`~shelfwise.finetune.reranker_refit`)."""
    mv = store.get(version) if version else store.latest()
    if mv is None:
        raise KeyError(f"{store.root}: no model versions yet")
    layout = check_index_out(catalog, out)
    encoder = store.encoder(mv.version)
    spec = str(mv.path.resolve())
    if layout == "shelf":
        searcher, _ = publish_into_shelf(
            catalog,
            encoder,
            out,
            encoder_spec=spec,
            events=events,
            judgments=judgments,
            cache=cache,
            progress=progress,
            say=say,
            check=check,
            force=force,
            on_served=on_served,
            reranker=reranker,
        )
    elif layout == "new":
        searcher, _ = build_shelf_folder(
            catalog, encoder, out, encoder_spec=spec, events=events, judgments=judgments, cache=cache,
            progress=progress, say=say,
        )  # fmt: skip
    else:
        say(f"{out}: an index folder from before shelves, rebuilt in that layout (`shelfwise index` makes a shelf)")
        searcher, _ = build_index_atomically(
            catalog, encoder, out, encoder_spec=spec, cache=cache, progress=progress, say=say
        )
    return searcher
