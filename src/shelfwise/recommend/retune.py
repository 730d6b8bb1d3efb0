"""Weight search apart from fitting: a refit reuses the weights an earlier fit's search chose.

Fit-time tuning (:mod:`shelfwise.recommend.autotune`) fits every component twice (once on the
rows before the validation slice, once on all rows) and scores thousands of validation prefixes
in between: on Instacart the fit with it took 3.3 s, a fit keeping earlier weights 0.45 s, implicit ALS
0.43 s in the same run (``sessions_fit_refit_instacart_s14.json``, load 1.1-1.4). A store that
refits nightly on a log that grew by a day does not need a new search each night. Gorse splits
the two the same way (its master runs a *model search* every ``model_search_period`` and a plain
*model fit* every ``model_fit_period``); here a fit given the :class:`SavedTuning` of the model it
replaces keeps that model's weights, unless the search is older than ``TuneConfig.reuse_days``,
the log grew or shrank past ``TuneConfig.reuse_growth`` times the rows it was searched on, or the
components' settings changed; then it searches again. The report says which
(``TuningReport.status == "reused"``, its ``tuned_at`` the search's own time).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.recommend.autotune import TuneConfig, TuningReport
from shelfwise.recommend.hybrid_config import HybridConfig
from shelfwise.recommend.persist import StateFileError, config_from_json, read_json
from shelfwise.recommend.related_tune import reuse_related

if TYPE_CHECKING:
    from shelfwise.recommend.hybrid import HybridRecommender

RETUNE = ("auto", "always")  # shelfwise index / serve --retune: keep a replaced model's search, or search again
SEARCHED = ("tuned", "reused")  # statuses whose weights came from a search on the store's own sessions
DAY_S = 86_400.0


@dataclass(frozen=True)
class SavedTuning:
    """A fitted hybrid's settings (its weights included) and the report of the search behind them."""

    config: HybridConfig
    report: TuningReport

    @classmethod
    def of(cls, rec: HybridRecommender) -> SavedTuning:
        """A fitted recommender's settings and tuning report (in memory, nothing read)."""
        return cls(rec.config, rec.tuning)

    @classmethod
    def read(cls, folder: str | Path) -> SavedTuning:
        """From a saved recommender folder's ``hybrid.json`` alone (no arrays are read);
        :class:`~shelfwise.recommend.persist.StateFileError` naming the file when it is missing or bad."""
        f = Path(folder) / "hybrid.json"
        meta = read_json(f)
        try:
            cfg = config_from_json(HybridConfig, meta.get("config"), "config")
        except (TypeError, ValueError) as e:
            raise StateFileError(f, f"bad config ({e})") from e
        raw = meta.get("tuning")
        return cls(cfg, TuningReport.from_dict(raw) if isinstance(raw, dict) else TuningReport())


def reuse_verdict(saved: SavedTuning, config: HybridConfig, interactions: int, now: float) -> str | None:
    """None when ``saved``'s weights may serve a fit of ``config`` on ``interactions`` rows at time
    ``now`` (unix seconds) without a new search; otherwise why not, in words. The search must have
    started from ``config``'s own weights (they decide which components run: a weight that turns
    SASRec on, say) and the other settings must be the same, but for the reuse policy and threads."""
    rep, tc = saved.report, config.tune
    if rep.status not in SEARCHED:
        return {
            "defaults": "the model replaced kept the default weights (its log was too small to search)",
        }.get(rep.status, "the model replaced was fitted without a weight search")
    if rep.tuned_at is None or not rep.start_weights:
        return "the saved search is undated (saved by an older shelfwise)"
    searched_from = ((rep.start_weights, rep.start_penalty), (rep.start_new_weights, rep.start_new_penalty))
    related_from = rep.start_related_weights or dict(config.similar_weights)  # unrecorded: an older search
    if (
        (config.fusion(False), config.fusion(True)) != searched_from
        or related_from != dict(config.similar_weights)
        or _settings(saved.config) != _settings(config)
    ):
        return "the recommender's settings changed since that search"
    if tc.between and rep.between_status == "not run":
        return "the saved search chose no between-sessions weights (saved by an older shelfwise)"
    for configured, started in (
        (config.between_weights, rep.start_between_weights),
        (config.between_new_weights, rep.start_between_new_weights),
    ):
        if configured is not None and dict(configured) != started:
            return "the recommender's between-sessions weights changed since that search"
    age = (now - rep.tuned_at) / DAY_S
    if age > tc.reuse_days:
        return f"the last search is {age:.1f} days old (a new one every {tc.reuse_days:g} days)"
    if age < 0:
        return "the last search is dated in the future (clock change?)"
    growth = max(interactions, 1) / max(rep.interactions, 1)
    if not 1 / tc.reuse_growth <= growth <= tc.reuse_growth:
        return f"the log has {interactions:,} interactions, {growth:.2f}x the {rep.interactions:,} it was searched on"
    return None


def newest(*candidates: SavedTuning | None) -> SavedTuning | None:
    """Of ``candidates``, the one whose weights came from the latest search (None: none was searched)."""
    searched = [c for c in candidates if c is not None and c.report.status in SEARCHED and c.report.tuned_at]
    return max(searched, key=lambda c: c.report.tuned_at or 0.0, default=None)


def reused_report(saved: SavedTuning, now: float) -> TuningReport:
    """``saved``'s report as a reuse: its weights, scores, search time and size kept, status and reason new."""
    rep = saved.report
    assert rep.tuned_at is not None
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(rep.tuned_at))
    tc = saved.config.tune
    reason = (
        f"kept from the search of {when} ({_age(max(now - rep.tuned_at, 0.0) / DAY_S)} ago, on "
        f"{rep.interactions:,} interactions, {rep.repeat_cases} prefixes); a new search runs after "
        f"{tc.reuse_days:g} days, or when the log is under 1/{tc.reuse_growth:g} or over {tc.reuse_growth:g}x "
        "that size (--retune always searches now)"
    )
    return replace(rep, status="reused", reason=reason)


def reuse(config: HybridConfig, saved: SavedTuning, now: float) -> tuple[HybridConfig, TuningReport]:
    """``config`` with the weights ``saved``'s search chose (:meth:`HybridConfig.searched`, the
    related-items ones when it chose them), and the report of that reuse. Under
    ``TuneConfig(between=False)`` the between-sessions weights are ``config``'s own (the in-session
    ones serve unless configured), and the report says no between-sessions search ran."""
    between = config.tune.between
    cfg = reuse_related(config.searched(saved.config, between=between), saved.config, saved.report)
    rep = replace(reused_report(saved, now), configured=config.fusion_sets())
    if not between:
        fresh = TuningReport()
        rep = replace(rep, **{f.name: getattr(fresh, f.name) for f in fields(TuningReport) if "between" in f.name})
    return cfg, rep


def configured(config: HybridConfig, rep: TuningReport) -> HybridConfig | None:
    """``config`` (a fitted hybrid's) with every fusion as configured before the search ``rep``
    reports replaced some: what a fit on other rows starts from to search them again (a report's
    time split). ``config`` itself when no search ran; None when ``rep`` does not record them
    (saved by an older shelfwise)."""
    if rep.status not in SEARCHED:
        return config
    return config.with_fusion_sets(rep.configured) if rep.configured else None


def _settings(config: HybridConfig) -> HybridConfig:
    """``config`` without what a search does not depend on: the fusion it replaces, the reuse policy
    (``tune``) and thread counts."""
    return replace(
        config.untuned(),
        tune=TuneConfig(),
        als=replace(config.als, num_threads=0),
        sasrec=replace(config.sasrec, threads=0),
    )


def _age(days: float) -> str:
    """``days`` as minutes, hours or days, whichever reads best."""
    if days < 1 / 24:
        return f"{max(math.floor(days * 1440), 0)} min"
    if days < 2:
        return f"{days * 24:.0f} h"
    return f"{days:.1f} days"
