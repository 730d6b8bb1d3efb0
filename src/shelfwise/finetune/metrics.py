"""Retrieval quality of a bi-encoder on held-out (anchor, positive) pairs.

Each distinct anchor is a query; the candidates are every distinct validation positive, the
pairs' hard negatives (products known not to match: the near misses) and ``distractors`` (a sample
of catalog texts), so the score is retrieval among catalog items, not a pairwise loss. Per anchor:
MRR (first relevant hit), NDCG@k and recall@k over all of its positives
(binary relevance; Jarvelin & Kekalainen, 2002, "Cumulated gain-based evaluation of IR techniques").
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.finetune.pairs import PairSet

K = 10
MAX_ANCHORS = 300  # queries scored per evaluation: each one costs encodes of its text and its positives
METRICS = ("ndcg@10", "recall@10", "mrr")
LABELS = {"ndcg@10": "NDCG@10", "recall@10": "recall@10", "mrr": "MRR"}

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AnchorScores:
    """Per-anchor metric values (same anchor order for any model given the same pairs)."""

    anchors: tuple[str, ...]
    values: dict[str, Floats]

    def mean(self) -> dict[str, float]:
        return {m: float(v.mean()) if len(v) else float("nan") for m, v in self.values.items()}


def _ideal_dcg(n: int, k: int) -> float:
    return float(sum(1.0 / np.log2(i + 2) for i in range(min(n, k))))


def _select(
    val: PairSet, distractors: Sequence[str], max_anchors: int
) -> tuple[list[str], list[str], dict[str, list[int]]]:
    """The scored anchors (a fixed sample), the candidate texts, each anchor's positives' rows."""
    anchors = sorted(set(val.anchors))
    if len(anchors) > max_anchors:
        anchors = sorted(random.Random(0).sample(anchors, max_anchors))
    keep = set(anchors)
    mine = [(a, p) for a, p in zip(val.anchors, val.positives, strict=True) if a in keep]
    hard = [val.negative(i) for i, a in enumerate(val.anchors) if a in keep and val.negative(i)]
    cands = list(dict.fromkeys([p for _, p in mine] + hard + list(distractors)))
    pos_of = {t: i for i, t in enumerate(cands)}
    gold: dict[str, set[int]] = {a: set() for a in anchors}
    for a, p in mine:
        gold[a].add(pos_of[p])
    return anchors, cands, {a: sorted(g) for a, g in gold.items()}


def eval_size(val: PairSet, distractors: Sequence[str] = (), max_anchors: int = MAX_ANCHORS) -> tuple[int, int]:
    """(queries, candidate texts) one evaluation of ``val`` scores."""
    anchors, cands, _ = _select(val, distractors, max_anchors)
    return len(anchors), len(cands)


def anchor_scores(
    model: Any,
    val: PairSet,
    distractors: Sequence[str] = (),
    *,
    batch_size: int = 64,
    max_anchors: int = MAX_ANCHORS,
) -> AnchorScores:
    """``model``: anything with ``encode(texts, normalize_embeddings=..., ...)`` (a SentenceTransformer).

    At most ``max_anchors`` anchors are scored (a fixed sample, seed 0), against their own positives
    plus ``distractors``, to keep each evaluation to about ``max_anchors * 3 + len(distractors)`` encodes."""
    if len(val) == 0:
        return AnchorScores((), {m: np.zeros(0) for m in METRICS})
    anchors, cands, gold = _select(val, distractors, max_anchors)
    enc = {"batch_size": batch_size, "normalize_embeddings": True, "convert_to_numpy": True}
    sims = model.encode(anchors, **enc) @ model.encode(cands, **enc).T
    out = {m: np.zeros(len(anchors)) for m in METRICS}
    for i, a in enumerate(anchors):
        g = gold[a]
        ranks = np.array([int((sims[i] > sims[i, j]).sum()) + 1 for j in g])  # ties count in the anchor's favour
        hits = ranks[ranks <= K]
        out["mrr"][i] = 1.0 / ranks.min()
        out["ndcg@10"][i] = float((1.0 / np.log2(hits + 1)).sum()) / _ideal_dcg(len(g), K)
        out["recall@10"][i] = len(hits) / len(g)
    return AnchorScores(tuple(anchors), out)


def validation_metrics(model: Any, val: PairSet, distractors: Sequence[str] = (), **kw: Any) -> dict[str, float]:
    """Mean NDCG@10, recall@10 and MRR (``nan`` for an empty ``val``)."""
    if len(val) == 0:
        return {m: float("nan") for m in METRICS}
    return anchor_scores(model, val, distractors, **kw).mean()
