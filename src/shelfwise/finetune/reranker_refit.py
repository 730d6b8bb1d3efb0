"""What a shelf's reranker becomes when ``shelfwise train`` publishes a new encoder into the shelf.

An LTR reranker reads the first stage: its features include the bi-encoder cosine, the fused score
and the rank (``rank/features.py``), so weights fitted on the old encoder's scores, kept as they
were, rerank a shifted distribution, and the served search after publishing (new first stage + old
reranker) is not what the served-search gate measured. So, with a new encoder:

* an LTR reranker is **refitted** on the new searcher with the judged queries it was fitted on: those
  given to ``train`` (``--queries`` / ``--judgments``), else the ones recorded with it
  (``reranker/judgments.json``, written since session 19 by every fit); its config, and its
  popularity feature (unless ``--events`` refits that), are kept;
* an LTR reranker saved before the judgments were recorded, with none given, cannot be refitted:
  ``train`` refuses before training and says what to pass: the judgments, ``--keep-reranker`` (serve
  the old weights on the new scores, gated as served) or ``--drop-reranker`` (serve the first stage);
* a cross-encoder reads the texts (its blend reads the first-stage score min-max scaled per list):
  kept and re-bound, as before (``--drop-reranker`` drops it);
* the served-search gate (:mod:`~shelfwise.finetune.served_gate`) then compares the shelf's stack as
  it serves now (its own first stage and reranker) with what would be served after (new first stage
  and the reranker chosen here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shelfwise.eval.judgments import Judgments
from shelfwise.events.schema import EventLog
from shelfwise.rank.ltr import LTRReranker, fit_reranker, read_trained_on
from shelfwise.rank.saved import load_reranker
from shelfwise.retrieve.hybrid import HybridSearcher

NONE, RETRAIN, KEEP, DROP = "none", "retrain", "keep", "drop"
CHOICES = (KEEP, DROP)  # what a user may ask for (--keep-reranker / --drop-reranker); refitting is the default


class StaleReranker(ValueError):
    """The shelf's LTR reranker cannot be refitted (no judgments given or recorded) and the user did
    not say whether to keep or drop it."""


@dataclass(frozen=True)
class RerankerPlan:
    """``action``: none (the shelf has no reranker), retrain, keep or drop; ``kind``: ltr / cross ("" for
    none); ``judgments``: what a retrain fits on, and ``source``: where they came from."""

    action: str
    kind: str = ""
    judgments: Judgments | None = None
    source: str = ""

    def describe(self) -> str:
        """The line ``train`` prints once the shelf is published."""
        if self.action == RETRAIN and self.judgments is not None:
            return (
                f"refitted the LTR reranker on the new encoder's scores ({len(self.judgments.judged())} judged "
                f"queries, {self.source})"
            )
        if self.action == KEEP and self.kind == "ltr":
            return "--keep-reranker: kept the LTR reranker fitted on the previous encoder's scores (gated as served)"
        if self.action == KEEP:
            return "kept the cross-encoder reranker (it reads the texts; its blend reads the first stage per list)"
        if self.action == DROP:
            return f"--drop-reranker: dropped the {self.kind} reranker; the shelf serves the first stage"
        return ""


def plan_reranker(shelf: str | Path, judgments: Judgments | None = None, choice: str | None = None) -> RerankerPlan:
    """What the reranker of the shelf saved at ``shelf`` becomes with a new encoder (module docstring).
    ``judgments``: given to ``train``; ``choice``: ``"keep"`` / ``"drop"`` or None (refit an LTR one).
    Raises :class:`StaleReranker` naming the options when an LTR reranker cannot be refitted."""
    from shelfwise.snapshot.io import SUPPORTED
    from shelfwise.snapshot.manifest import read_manifest

    if choice is not None and choice not in CHOICES:
        raise ValueError(f"reranker choice must be one of {CHOICES} or None, got {choice!r}")
    m = read_manifest(Path(shelf), SUPPORTED)
    if not m.has("reranker"):
        return RerankerPlan(NONE)
    kind = m.parts["reranker"].kind
    if choice == DROP:
        return RerankerPlan(DROP, kind)
    if kind != "ltr" or choice == KEEP:
        return RerankerPlan(KEEP, kind)
    if judgments is not None:
        return RerankerPlan(RETRAIN, kind, judgments, "given with --queries/--judgments")
    recorded = read_trained_on(m.folder("reranker"))
    if recorded is not None:
        return RerankerPlan(RETRAIN, kind, recorded, f"recorded with it in {m.folder('reranker')}")
    raise StaleReranker(
        f"{shelf}: its LTR reranker reads the encoder's scores but was saved without the judged queries it was "
        "fitted on, so it cannot be refitted for the new encoder: pass them (--queries and --judgments) to refit "
        "it, --keep-reranker to serve it on the new scores anyway, or --drop-reranker to serve the first stage"
    )


def apply_plan(plan: RerankerPlan, shelf: str | Path, searcher: HybridSearcher, events: EventLog | None = None) -> None:
    """Set on ``searcher`` (the new encoder's, over the shelf's catalog) the reranker ``plan`` says it
    serves with: the saved one re-bound (keep), refitted on it (retrain), or none."""
    from shelfwise.snapshot.build import item_counts
    from shelfwise.snapshot.io import SUPPORTED
    from shelfwise.snapshot.manifest import read_manifest

    searcher.reranker = None  # a refit reads the first stage alone
    if plan.action in (NONE, DROP):
        return
    saved = load_reranker(read_manifest(Path(shelf), SUPPORTED).folder("reranker"), searcher)
    if plan.action == KEEP:
        searcher.reranker = saved
        return
    if not isinstance(saved, LTRReranker) or plan.judgments is None:
        raise ValueError(f"{shelf}: only an LTR reranker is refitted, with judgments (plan {plan.action}/{plan.kind})")
    counts = item_counts(events, len(searcher.catalog))
    popularity = counts if counts is not None else np.expm1(saved.extractor.log_popularity.astype(np.float64))
    j = plan.judgments
    searcher.reranker = fit_reranker(searcher, j.queries, j.relevance, popularity=popularity, config=saved.model.config)
