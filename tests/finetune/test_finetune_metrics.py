"""Held-out retrieval metrics: exact values on a fake model with hand-placed vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from shelfwise.finetune import PairSet, validation_metrics
from shelfwise.finetune.metrics import anchor_scores


class _Table:
    """``encode`` looks each text up in a table of unit vectors."""

    def __init__(self, vecs: dict[str, list[float]]) -> None:
        self.vecs = {k: np.asarray(v, dtype=np.float32) / np.linalg.norm(v) for k, v in vecs.items()}

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        return np.stack([self.vecs[t] for t in texts])


def test_ndcg_recall_and_mrr_over_all_positives() -> None:
    # q1 has two positives: a ranks 1st, b ranks 3rd (behind distractor d)
    model = _Table({"q1": [1, 0], "a": [1, 0.05], "d": [1, 0.2], "b": [1, 0.5], "q2": [0, 1]})
    val = PairSet(("q1", "q1", "q2"), ("a", "b", "b"), "v")
    s = anchor_scores(model, val, ["d"])
    assert s.anchors == ("q1", "q2")
    idcg2 = 1 + 1 / np.log2(3)
    assert s.values["ndcg@10"][0] == pytest.approx((1 + 1 / np.log2(4)) / idcg2)
    assert s.values["mrr"][0] == 1.0 and s.values["recall@10"][0] == 1.0
    # q2 = [0, 1]: b (the most "upward") ranks first
    assert s.values["mrr"][1] == 1.0
    m = validation_metrics(model, val, ["d"])
    assert m["mrr"] == 1.0


def test_recall_at_10_counts_only_the_top_ten() -> None:
    vecs = {f"d{i}": [1.0, 0.01 * i] for i in range(12)} | {"q": [1.0, 0.2], "p": [0.0, 1.0]}
    model = _Table(vecs)
    m = validation_metrics(model, PairSet(("q",), ("p",), "v"), [f"d{i}" for i in range(12)])
    assert m["recall@10"] == 0.0 and m["ndcg@10"] == 0.0 and m["mrr"] == pytest.approx(1 / 13)


def test_empty_validation_is_nan() -> None:
    m = validation_metrics(_Table({}), PairSet((), ()))
    assert all(np.isnan(v) for v in m.values())


def test_large_validation_is_scored_on_a_fixed_sample_of_queries() -> None:
    from shelfwise.finetune.metrics import eval_size

    val = PairSet(tuple(f"q{i // 2}" for i in range(40)), tuple(f"p{i}" for i in range(40)), "v")
    assert eval_size(val, ["d1", "d2"]) == (20, 42)
    assert eval_size(val, ["d1", "d2"], max_anchors=5) == (5, 12)  # only the sampled queries' positives
    model = _Table({f"q{i}": [1.0, i] for i in range(20)} | {f"p{i}": [1.0, i // 2] for i in range(40)})
    a = anchor_scores(model, val, max_anchors=5)
    assert len(a.anchors) == 5 and a.anchors == anchor_scores(model, val, max_anchors=5).anchors
