"""End-to-end valuation runs on generic inputs (used by ``shelfwise value`` and the benchmark).

Two views of the store's training data, each valued with the project's own metric:

* **Labelled texts** (:func:`value_labelled_texts`): rows ``text, label[, group][, source]`` such
  as product titles with their category or search queries with their product class, embedded by
  the shop's encoder. Sample values are exact KNN-Shapley (Jia et al. 2019); group and source
  values are leave-one-group-out and TMC-Shapley (Ghorbani & Zou 2019) on a KNN utility whose
  players are the groups. Removal curves are measured on a separate test file when given.
* **Interactions** (:func:`value_interactions`): an event log valued for the co-occurrence
  recommender at group / source grain (category, recency window, event type), with values fitted
  on each user's second-to-last basket and removal curves measured on the last one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.base import Encoder
from shelfwise.errors import DataError, RowError, position
from shelfwise.events.schema import EventLog
from shelfwise.recommend.evaluate import MIN_EVAL_USERS
from shelfwise.results import IntArray
from shelfwise.tabular import read_rows
from shelfwise.valuation.base import Grain, Values, encode_groups
from shelfwise.valuation.interactions import (
    InteractionUtility,
    groups_by_category,
    groups_by_event_type,
    groups_by_recency,
)
from shelfwise.valuation.knn_shapley import KNNUtility, knn_shapley
from shelfwise.valuation.loo import leave_one_out
from shelfwise.valuation.montecarlo import TMCConfig, tmc_shapley
from shelfwise.valuation.removal import removal_curve
from shelfwise.valuation.report import ValuationReport
from shelfwise.valuation.suggest import suggest_labels

GROUPINGS = ("category", "recency", "event_type")


@dataclass(frozen=True)
class LabelledRows:
    """Texts with string labels and optional group / source tags, read from one file; ``skipped``
    lists the bad rows left out (file, line, field, reason)."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    groups: tuple[str, ...] | None
    sources: tuple[str, ...] | None
    skipped: tuple[RowError, ...] = ()
    where: tuple[str, ...] = ()  # each kept row's place in its file ("line 262", Parquet "row 5"): what to relabel


def read_labelled(
    path: str | Path,
    text_col: str = "text",
    label_col: str | None = "label",
    group_col: str | None = None,
    source_col: str | None = None,
    *,
    strict: bool = False,
) -> LabelledRows:
    """Read a CSV/TSV/JSONL/Parquet file. A row with a missing text/label/group/source value is
    reported as a :class:`RowError` (file, line, field) in ``skipped`` and left out, the good rows
    kept; ``strict=True`` raises :class:`DataError` on any bad row instead. A column absent from a
    fixed-header file (CSV, TSV, Parquet) fails at once, naming the file's columns."""
    cols = [c for c in (text_col, label_col, group_col, source_col) if c]
    out: dict[str, list[str]] = {c: [] for c in cols}
    where: list[str] = []
    errors: list[RowError] = []
    checked = Path(path).suffix.lower() not in (".csv", ".tsv", ".parquet")  # JSON Lines rows may omit keys
    for row, rec in read_rows(path):
        if isinstance(rec, RowError):
            errors.append(rec)
            continue
        if not checked:
            checked = True
            absent = [c for c in cols if c not in rec]
            if absent:
                raise DataError(
                    [RowError(str(path), 0, c, "no such column") for c in absent],
                    f"{path}: no column {', '.join(repr(c) for c in absent)}; its columns are {sorted(rec)} "
                    "(name them with --text-col / --label-col / --group-col / --source-col)",
                )
        bad = [c for c in cols if rec.get(c) is None or str(rec.get(c)).strip() == ""]
        if bad:
            errors.extend(RowError(str(path), row, c, "missing value" if c in rec else "no such column") for c in bad)
            continue
        for c in cols:
            out[c].append(str(rec[c]).strip())
        where.append(position(str(path), row))
    if errors and (strict or not out[text_col]):
        why = "bad values" if out[text_col] else "bad values and no valid row"
        raise DataError(errors, f"{path}: {len(errors)} {why}")
    if not out[text_col]:
        raise DataError([RowError(str(path), 0, "<file>", "no rows")])
    return LabelledRows(
        tuple(out[text_col]),
        tuple(out[label_col]) if label_col else (),
        tuple(out[group_col]) if group_col else None,
        tuple(out[source_col]) if source_col else None,
        tuple(errors),
        tuple(where),
    )


def _label_ids(train: Sequence[str], *others: Sequence[str]) -> tuple[IntArray, list[IntArray], tuple[str, ...]]:
    classes = tuple(sorted(set(train).union(*[set(o) for o in others])))
    pos = {c: i for i, c in enumerate(classes)}
    return (
        np.array([pos[c] for c in train], dtype=np.int64),
        [np.array([pos[c] for c in o], dtype=np.int64) for o in others],
        classes,
    )


def unseen_label_note(train: Sequence[str], valid: Sequence[str]) -> str | None:
    """A note when validation rows carry labels no training row has (the KNN utility can never get
    them right, whatever subset is kept); a ValueError when none of them is a training label, since
    every value would then be 0 (two files with different label names, or the wrong --label-col)."""
    known = set(train)
    unseen = [y for y in valid if y not in known]
    if not unseen:
        return None
    names = sorted(set(unseen))
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if len(unseen) == len(valid):
        raise ValueError(
            f"no validation label is a training label (validation: {shown}; training: "
            f"{', '.join(repr(n) for n in sorted(known)[:5])}{' ...' if len(known) > 5 else ''}): every value would "
            "be 0; check --label-col and that both files name the labels alike"
        )
    return (
        f"{len(unseen)} of {len(valid)} validation rows have a label no training row has ({shown}): "
        "they count as misses whatever is kept, so values rest on the other rows"
    )


def value_labelled_texts(
    train: LabelledRows,
    valid: LabelledRows,
    encoder: Encoder,
    *,
    test: LabelledRows | None = None,
    pool: LabelledRows | None = None,
    k: int = 5,
    tmc: TMCConfig | None = None,
    title: str = "Data valuation: labelled texts",
    progress: bool = False,
) -> ValuationReport:
    """Sample (KNN-Shapley), group and source (LOO + TMC-Shapley) values, removal curve, label-next list.
    ``progress``: a bar per file embedded (texts the embedding cache holds are not embedded again)."""
    t0 = time.perf_counter()
    unseen = unseen_label_note(train.labels, valid.labels)
    others = [valid.labels] + ([test.labels] if test is not None else [])
    y_tr, (y_va, *y_rest), _classes = _label_ids(train.labels, *others)
    x_tr = encoder.encode(list(train.texts), progress=progress)
    x_va = encoder.encode(list(valid.texts), progress=progress)
    embed_s = time.perf_counter() - t0
    rep = ValuationReport(title)
    rep.notes.append(
        f"Utility: mean precision@{k} on the validation file (the share of each validation text's {k} nearest "
        f"training texts, by {encoder.name}, that carry its label). A value is the part of it a sample, group "
        "or source brings (leave-one-out: what is lost without it); below 0, validation does better without "
        "it: check its labels."
    )
    if unseen is not None:
        rep.notes.append(unseen)
    # a sample is named by its place in the training file (rows skipped as bad do not shift it) and its text
    places = train.where or tuple(str(i) for i in range(len(train.texts)))
    names = tuple(f"{at}: {t[:60]}" for at, t in zip(places, train.texts, strict=True))
    samples = knn_shapley(x_tr, y_tr, x_va, y_va, k, names=names)
    rep.values["samples: knn-shapley"] = samples
    tagged: tuple[tuple[Grain, tuple[str, ...] | None], ...] = (("group", train.groups), ("source", train.sources))
    for grain, tags in tagged:
        if tags is None:
            continue
        gid, gnames = encode_groups(tags)
        rep.values[f"{grain}s: knn-shapley sum"] = samples.aggregate(gid, gnames, grain)
        u = KNNUtility(x_tr, y_tr, x_va, y_va, k, groups=gid)
        sizes = np.bincount(gid, minlength=len(gnames)).astype(np.int64)
        rep.values[f"{grain}s: leave-one-out"] = dataclasses.replace(
            leave_one_out(u, gnames, grain),
            sizes=sizes,
        )
        rep.values[f"{grain}s: tmc-shapley"] = dataclasses.replace(
            tmc_shapley(u, gnames, grain, tmc),
            sizes=sizes,
        )
    if test is not None:
        x_te = encoder.encode(list(test.texts), progress=progress)
        eval_u = KNNUtility(x_tr, y_tr, x_te, y_rest[0], k, metric="accuracy")
        rep.notes.append("Removal curves: KNN accuracy on the separate test file.")
    else:
        eval_u = KNNUtility(x_tr, y_tr, x_va, y_va, k, metric="accuracy")
        rep.notes.append("Removal curves: KNN accuracy on the validation file (no --test given: optimistic).")
    rep.curves["samples by knn-shapley"] = removal_curve(eval_u, samples)
    if pool is not None:
        u_all = KNNUtility(x_tr, y_tr, x_va, y_va, k)
        x_po = encoder.encode(list(pool.texts), progress=progress)
        rep.suggestions = suggest_labels(u_all, x_po, pool.groups)
    rep.metrics.update(
        {
            "train_rows": float(len(y_tr)),
            "valid_rows": float(len(y_va)),
            "k": float(k),
            "embed_seconds": embed_s,
            "total_seconds": time.perf_counter() - t0,
        }
    )
    return rep


COLLECT_NEXT = 3  # groups named as worth more data


def collect_next(values: Values, grouping: str) -> str:
    """Where more events of the same kind should help most: the groups with the highest value per
    interaction (positive), and those whose interactions lowered the utility, to check before
    collecting more (data Shapley values as a guide to acquisition, Ghorbani & Zou 2019, "Data
    Shapley", section 5). Only values more than 2 Monte-Carlo standard errors from 0 are named (a
    sign within the noise says neither). "" when no group has a positive value so told apart."""
    per = values.per_sample()
    noise = 2.0 * values.stderr if values.stderr is not None else np.zeros(len(values))
    sure = np.abs(values.values) > noise
    order = [int(i) for i in np.argsort(-per, kind="stable") if per[i] > 0 and sure[i]][:COLLECT_NEXT]
    if not order:
        return ""
    best = ", ".join(f"{values.names[i]} ({per[i]:+.2e} an interaction)" for i in order)
    harmful = [values.names[i] for i in np.argsort(per, kind="stable") if per[i] < 0 and sure[i]][:COLLECT_NEXT]
    worse = f"; {', '.join(harmful)} lowered it (check those before collecting more)" if harmful else ""
    return (
        f"collect next, by {grouping}: more interactions like those of {best} raise the validation score most "
        f"per interaction (TMC-Shapley value per interaction){worse}"
    )


def value_interactions(
    catalog: Catalog,
    log: EventLog,
    *,
    group_by: Sequence[str] = ("category",),
    k: int = 10,
    tmc: TMCConfig | None = None,
    title: str = "Data valuation: interactions (co-occurrence recommender)",
    progress: Callable[[str], None] | None = None,
) -> ValuationReport:
    """LOO and TMC-Shapley values of interaction groups, removal curves on the last basket.

    ``progress`` (e.g. ``print``) gets a line per step and per batch of TMC permutations."""
    say = progress or (lambda _msg: None)
    from shelfwise.recommend.evaluate import split_last_sessions, truth_by_user
    from shelfwise.recommend.interactions import Interactions

    unknown = [g for g in group_by if g not in GROUPINGS]
    if unknown:
        raise ValueError(f"unknown grouping(s) {unknown}; choose from {GROUPINGS}")
    t0 = time.perf_counter()
    rest_log, test_log = split_last_sessions(log)
    train_log, valid_log = split_last_sessions(rest_log)
    data = Interactions.from_log(train_log, catalog)
    valid, test = truth_by_user(valid_log), truth_by_user(test_log)
    if not valid or not test:
        raise ValueError(_too_few_sessions(log))
    rep = ValuationReport(title)
    few = _few_users_note(len(valid), len(test))
    if few:
        say(f"note: {few}")
        rep.notes.append(few)
    for g in group_by:
        if g == "category":
            gid, names = groups_by_category(data)
        elif g == "recency":
            gid, names = groups_by_recency(data)
        else:
            gid, names = groups_by_event_type(train_log, data)
        grain: Grain = "source" if g == "event_type" else "group"
        u = InteractionUtility(data, gid, valid, k=k)
        sizes = u.sizes()
        say(f"{g}: {len(names)} groups, {len(data)} interactions, {len(valid)} validation users")
        if g == group_by[0]:  # the same model on every row, whatever the grouping
            whole = u(np.arange(len(names), dtype=np.int64))
            rep.metrics["utility_all_data"] = whole
            if whole <= 0:
                flat = (
                    f"with all the data the co-occurrence recommender scores NDCG@{k} 0 on the validation baskets "
                    f"(none of their items is in its top {k} from the users' earlier baskets), so every value below "
                    "is 0 and no group can be told apart: the log has too little overlap between baskets to value"
                )
                say(f"note: {flat}")
                rep.notes.append(flat)
        loo = dataclasses.replace(leave_one_out(u, names, grain), sizes=sizes)
        rep.values[f"{g}: leave-one-out"] = loo
        say(f"  leave-one-out: {loo.evaluations} evaluations, {loo.seconds:.1f} s")
        if len(names) > 1:
            tmcv = dataclasses.replace(tmc_shapley(u, names, grain, tmc, progress=progress), sizes=sizes)
            rep.values[f"{g}: tmc-shapley"] = tmcv
            test_u = InteractionUtility(data, gid, test, k=k)
            t1 = time.perf_counter()
            rep.curves[f"{g} by tmc-shapley"] = removal_curve(test_u, tmcv, _group_fractions(len(names)))
            say(f"  removal curve on the test baskets: {time.perf_counter() - t1:.1f} s")
            advice = collect_next(tmcv, g)
            if advice:
                rep.notes.append(advice)
    rep.metrics.update(
        {
            "train_interactions": float(len(data)),
            "valid_users": float(len(valid)),
            "test_users": float(len(test)),
            "k": float(k),
            "total_seconds": time.perf_counter() - t0,
        }
    )
    rep.notes.append(
        f"Utility: NDCG@{k} of the co-occurrence recommender on each user's second-to-last basket; "
        "removal curves on the last basket."
    )
    return rep


def _too_few_sessions(log: EventLog) -> str:
    """Why no user can give a validation and a test basket, with the log's session counts."""
    per_user = np.bincount(np.unique(np.stack([log.user, log.session]), axis=1)[0], minlength=1)
    n_users = int(np.count_nonzero(per_user))
    return (
        "need users with at least three sessions (the last is the test basket, the one before it "
        f"validation): {int(np.count_nonzero(per_user >= 3))} of {n_users} users have three or more, "
        f"the most any user has is {int(per_user.max())}. Events without a session id are cut into "
        "sessions at 'session_gap_minutes' (default 30) in the events mapping; with date-only "
        "timestamps a user's purchases on one day are one session"
    )


def _few_users_note(valid: int, test: int) -> str:
    """A warning when the validation or test baskets come from fewer than ``MIN_EVAL_USERS``
    users: the values then rank groups by a handful of baskets (empty when there are enough)."""
    if min(valid, test) >= MIN_EVAL_USERS:
        return ""
    return (
        f"only {valid} validation users (with 3+ sessions) and {test} test users (2+), fewer than "
        f"{MIN_EVAL_USERS}: these values and curves rest on that many baskets and may be noise"
    )


def _group_fractions(n: int) -> tuple[float, ...]:
    steps = sorted({round(f * n) for f in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)})
    return tuple(s / n for s in steps)


__all__ = ["GROUPINGS", "LabelledRows", "Values", "read_labelled", "value_interactions", "value_labelled_texts"]
