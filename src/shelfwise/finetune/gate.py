"""Publish gate: a fine-tuned model goes live only if it beats the model it started from on pairs
that neither training nor early stopping saw (the *holdout*: queries / anchors split off before
training, so picking the best step on validation cannot flatter it).

The comparison is paired: both models are scored on the same held-out anchors against the same
candidates, and the standard error of the per-anchor NDCG@10 differences is reported beside the
gain so a user can tell a real gain from noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shelfwise.finetune.metrics import LABELS, anchor_scores
from shelfwise.finetune.pairs import PairSet

GATE_METRIC = "ndcg@10"
DEFAULT_MIN_GAIN = 0.005  # absolute NDCG@10: below this a full catalog re-embed is not worth it
FEW_ANCHORS = 20


@dataclass(frozen=True)
class GateReport:
    """Held-out comparison of the base model and the fine-tuned candidate."""

    metric: str
    base: float
    candidate: float
    stderr: float
    n_anchors: int
    min_gain: float
    candidate_recall: float = float("nan")
    base_recall: float = float("nan")
    min_se: float = 0.0
    """The gain must also exceed this many standard errors (0: not asked; a positive value refuses a
    holdout of one query, which has none)."""

    @property
    def gain(self) -> float:
        return self.candidate - self.base

    @property
    def passed(self) -> bool:
        """True when the candidate beats the base by more than ``min_gain`` and, with ``min_se``, by
        more than that many standard errors (never on no holdout)."""
        if self.n_anchors == 0 or math.isnan(self.gain) or not self.gain > self.min_gain:
            return False
        return self.min_se == 0 or (not math.isnan(self.stderr) and self.gain > self.min_se * self.stderr)

    def summary(self) -> str:
        """One line: both scores, the gain and its standard error, the holdout size."""
        if self.n_anchors == 0:
            return "no held-out pairs to compare on"
        line = (
            f"held-out {LABELS.get(self.metric, self.metric)} {self.candidate:.4f} vs base {self.base:.4f} "
            f"({self.gain:+.4f}{self._stderr_text()}, {self.n_anchors} queries; "
            f"needs > {self.min_gain:+.4f}{f' and > {self.min_se:g} s.e.' if self.min_se else ''})"
        )
        if self.n_anchors < FEW_ANCHORS:
            line += f"; only {self.n_anchors} held-out queries, so this comparison is noisy"
        return line

    def _stderr_text(self) -> str:
        return ", no s.e. from one query" if math.isnan(self.stderr) else f" \u00b1 {self.stderr:.4f} s.e."

    def to_json(self) -> dict[str, float]:
        return {
            f"holdout_{self.metric}": self.candidate,
            f"holdout_base_{self.metric}": self.base,
            "holdout_stderr": self.stderr,
            "holdout_anchors": float(self.n_anchors),
            "holdout_recall@10": self.candidate_recall,
            "holdout_base_recall@10": self.base_recall,
        }


def holdout_gate(
    base: Any,
    candidate: Any,
    holdout: PairSet,
    distractors: Sequence[str] = (),
    *,
    min_gain: float = DEFAULT_MIN_GAIN,
    min_se: float = 0.0,
    metric: str = GATE_METRIC,
) -> GateReport:
    """Score ``base`` and ``candidate`` (loaded SentenceTransformers) on ``holdout``."""
    if len(holdout) == 0:
        nan = float("nan")
        return GateReport(metric, nan, nan, nan, 0, min_gain, min_se=min_se)
    b = anchor_scores(base, holdout, distractors)
    c = anchor_scores(candidate, holdout, distractors)
    diff = c.values[metric] - b.values[metric]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    bm, cm = b.mean(), c.mean()
    return GateReport(
        metric,
        bm[metric],
        cm[metric],
        se,
        len(diff),
        min_gain,
        candidate_recall=cm["recall@10"],
        base_recall=bm["recall@10"],
        min_se=min_se,
    )
