"""The publish gate: compares two models on held-out pairs; refuses ties, noise-level gains, no data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfwise.finetune import GateReport, PairSet, holdout_gate

HOLD = PairSet(("q1", "q2", "q3"), ("a", "b", "c"), "h")


class _Model:
    """Puts each query on the item ``answer[query]`` (or far from everything when absent)."""

    def __init__(self, answer: dict[str, str]) -> None:
        self.answer = answer
        self.items = ["a", "b", "c", "d"]

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        out = []
        for t in texts:
            v = np.full(5, 0.1, dtype=np.float32)
            target = self.answer.get(t, t)
            if target in self.items:
                v[self.items.index(target)] = 1.0
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def test_better_model_passes_and_equal_model_does_not() -> None:
    base = _Model({"q1": "a", "q2": "c", "q3": "b"})
    better = _Model({"q1": "a", "q2": "b", "q3": "c"})
    g = holdout_gate(base, better, HOLD, ["d"], min_gain=0.0)
    assert g.passed and g.gain > 0 and g.n_anchors == 3 and g.candidate == 1.0
    assert "held-out NDCG@10 1.0000 vs base" in g.summary() and "noisy" in g.summary()
    same = holdout_gate(base, base, HOLD, ["d"], min_gain=0.0)
    assert same.gain == 0.0 and not same.passed  # a tie is not a gain
    assert not holdout_gate(base, better, HOLD, ["d"], min_gain=0.5).passed  # below the margin


def test_no_holdout_never_passes() -> None:
    g = holdout_gate(_Model({}), _Model({}), PairSet((), ()))
    assert not g.passed and g.n_anchors == 0 and g.summary() == "no held-out pairs to compare on"
    assert not GateReport("ndcg@10", math.nan, math.nan, math.nan, 5, 0.0).passed


def test_report_json_keys() -> None:
    g = GateReport("ndcg@10", 0.2, 0.3, 0.01, 40, 0.005, 0.5, 0.4)
    assert g.passed and "needs > +0.0050" in g.summary() and "noisy" not in g.summary()
    assert g.to_json()["holdout_ndcg@10"] == 0.3 and g.to_json()["holdout_base_ndcg@10"] == 0.2


def test_one_held_out_query_has_no_stderr_and_says_so_instead_of_nan() -> None:
    g = GateReport("ndcg@10", 1.0, 1.0, math.nan, 1, 0.005)
    assert "(+0.0000, no s.e. from one query, 1 queries" in g.summary() and "nan" not in g.summary()
    assert "\u00b1 0.0100 s.e." in GateReport("ndcg@10", 1.0, 0.9, 0.01, 40, 0.005).summary()


def test_min_se_refuses_a_gain_within_the_noise() -> None:
    """Home Depot slice, LoRA 4 steps: +0.0251 ± 0.0171 s.e. on 19 held-out queries (1.5 s.e.) was
    published by the fixed +0.005 bar; --min-se 2 asks for the gain to clear the noise as well."""
    noisy = GateReport("ndcg@10", 0.7515, 0.7766, 0.0171, 19, 0.005)
    assert noisy.passed  # the default asks only for min_gain
    strict = GateReport("ndcg@10", 0.7515, 0.7766, 0.0171, 19, 0.005, min_se=2.0)
    assert not strict.passed and "needs > +0.0050 and > 2 s.e.)" in strict.summary()
    assert GateReport("ndcg@10", 0.70, 0.78, 0.0171, 19, 0.005, min_se=2.0).passed  # 4.7 s.e.
    assert not GateReport("ndcg@10", 0.5, 0.9, math.nan, 1, 0.005, min_se=1.0).passed  # one query: no s.e.
