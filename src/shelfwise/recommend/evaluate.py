"""Offline evaluation of recommenders on a time-based split, and weight tuning for the hybrid.

The split holds out each user's *last* session/basket (everything earlier is training), the
per-user temporal protocol of next-basket recommendation (e.g. the Instacart competition's
own train/test orders). Metrics reuse :mod:`shelfwise.eval.metrics`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shelfwise.catalog.schema import Catalog
from shelfwise.eval.metrics import coverage, head_items, intra_list_diversity, list_auc, mrr, ndcg_at_k, recall_at_k
from shelfwise.events.schema import EventLog

if TYPE_CHECKING:
    from shelfwise.recommend.autotune import TuningReport
    from shelfwise.recommend.hybrid import HybridConfig

Ranker = Callable[[str], Sequence[int]]
MIN_EVAL_USERS = 100  # below this, one user more or less moves recall by >= 1 point: callers say so


def split_last_sessions(log: EventLog, n_last: int = 1) -> tuple[EventLog, EventLog]:
    """(earlier, held-out): each user's last ``n_last`` sessions (by their first event time) are held out.

    Users with at most ``n_last`` sessions stay entirely in training.
    """
    if n_last < 1:
        raise ValueError("n_last must be >= 1")
    start: dict[tuple[int, int], float] = {}
    for u, s, t in zip(log.user.tolist(), log.session.tolist(), log.timestamp.tolist(), strict=True):
        key = (u, s)
        if key not in start or t < start[key]:
            start[key] = t
    per_user: dict[int, list[tuple[float, int]]] = {}
    for (u, s), t in start.items():
        per_user.setdefault(u, []).append((t, s))
    held: set[int] = set()
    for sessions in per_user.values():
        if len(sessions) > n_last:
            held.update(s for _, s in sorted(sessions)[-n_last:])
    mask = np.isin(log.session, np.fromiter(held, dtype=np.int64, count=len(held)))
    return log.select(~mask), log.select(mask)


def _no_second_session(log: EventLog) -> str:
    """Why no user has a last session to hold out, with the counts that say what to change."""
    pairs = np.unique(np.stack([log.user, log.session]), axis=1) if len(log) else np.zeros((2, 0), np.int64)
    per_user = np.bincount(pairs[0]) if pairs.shape[1] else np.zeros(0, np.int64)
    n_users = int((per_user > 0).sum())
    days = np.unique(np.floor(log.timestamp / 86400.0)).size if len(log) else 0
    date_only = bool(len(log)) and bool(np.all(np.mod(log.timestamp, 86400.0) == 0))
    why = (
        "the timestamps are dates without a time of day, so each user's events of one day are one session"
        if date_only
        else "a log without session ids is cut into sessions at 30-minute gaps ('session_gap_minutes' in the "
        "events mapping)"
    )
    return (
        f"no user has more than one session, so there is no last session to hold out: {n_users} users, at most "
        f"{int(per_user.max()) if per_user.size else 0} session each, {days} distinct days in the log; {why}. "
        "A time-split evaluation needs users who come back."
    )


def truth_by_user(held_out: EventLog) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for u, i in zip(held_out.user.tolist(), held_out.item.tolist(), strict=True):
        if i >= 0:
            out.setdefault(held_out.users[u], set()).add(i)
    return out


@dataclass(frozen=True)
class RecMetrics:
    """Means over evaluated users; ``cold_recall`` over users whose held-out items include cold ones."""

    recall: float
    ndcg: float
    mrr: float
    coverage: float
    long_tail_share: float
    cold_recall: float
    diversity: float
    users: int
    cold_users: int
    k: int
    auc: float = float("nan")  # of each top-k list over the whole catalog, the unlisted tied below (list_auc)

    def as_dict(self) -> dict[str, float]:
        return {key: float(v) for key, v in asdict(self).items()}


def evaluate(
    rank: Ranker,
    truth: Mapping[str, set[int]],
    train_counts: npt.NDArray[np.floating],
    vectors: npt.NDArray[np.float32],
    k: int = 20,
) -> RecMetrics:
    """Score ``rank(user) -> catalog rows`` against held-out items.

    Long tail = outside the top 20% of items by training popularity; cold items = zero
    training interactions; diversity = intra-list cosine distance in ``vectors``; AUC = each user's
    top-k list's :func:`~shelfwise.eval.metrics.list_auc` over the catalog.
    """
    cold = np.asarray(train_counts) == 0
    head = head_items(train_counts, 0.2)
    lists: list[list[int]] = []
    rec, nd, rr, div, cold_rec, aucs = [], [], [], [], [], []
    for user, items in truth.items():
        ranked = [int(i) for i in rank(user)][:k]
        rel = dict.fromkeys(items, 1.0)
        lists.append(ranked)
        rec.append(recall_at_k(ranked, rel, k))
        nd.append(ndcg_at_k(ranked, rel, k))
        rr.append(mrr(ranked, rel, k))
        aucs.append(list_auc(ranked, set(items), len(train_counts)))
        div.append(intra_list_diversity(ranked, vectors))
        cold_items = {i for i in items if cold[i]}
        if cold_items:
            cold_rec.append(recall_at_k(ranked, dict.fromkeys(cold_items, 1.0), k))
    tail = [[i for i in lst if not head[i]] for lst in lists]
    slots = sum(len(lst) for lst in lists)
    return RecMetrics(
        recall=float(np.mean(rec)) if rec else 0.0,
        ndcg=float(np.mean(nd)) if nd else 0.0,
        mrr=float(np.mean(rr)) if rr else 0.0,
        coverage=coverage(lists, len(train_counts)),
        long_tail_share=sum(len(t) for t in tail) / slots if slots else 0.0,
        cold_recall=float(np.mean(cold_rec)) if cold_rec else 0.0,
        diversity=float(np.mean(div)) if div else 0.0,
        users=len(rec),
        cold_users=len(cold_rec),
        k=k,
        auc=float(np.nanmean(aucs)) if any(a == a for a in aucs) else float("nan"),
    )


def tune_weights(
    objective: Callable[[Mapping[str, float], float], float],
    start: Mapping[str, float],
    grid: Sequence[float] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0),
    penalties: Sequence[float] = (0.0,),
    rounds: int = 2,
) -> tuple[dict[str, float], float, float]:
    """Coordinate ascent over component weights (and a grid over the popularity penalty).

    ``objective(weights, penalty)`` returns a validation score to maximise (e.g. NDCG@20).
    Returns (best weights, best penalty, best score).
    """
    best_w, best_p = dict(start), penalties[0]
    best = objective(best_w, best_p)
    for _ in range(rounds):
        improved = False
        for name, value in itertools.product(list(best_w), grid):
            trial = {**best_w, name: value}
            if trial == best_w or not any(v > 0 for v in trial.values()):
                continue
            score = objective(trial, best_p)
            if score > best + 1e-9:
                best_w, best, improved = trial, score, True
        for p in penalties:
            score = objective(best_w, p)
            if score > best + 1e-9:
                best_p, best, improved = p, score, True
        if not improved:
            break
    return best_w, best_p, best


def holdout_split(log: EventLog) -> tuple[EventLog, dict[str, set[int]]]:
    """``log`` without each user's last session, and the items of those sessions by user; raises
    ``ValueError`` (saying why) when no user has a last session to hold out, which a caller may ask
    before anything is embedded (``recommend eval``)."""
    train_log, test_log = split_last_sessions(log)
    truth = truth_by_user(test_log)
    if not truth:
        raise ValueError(_no_second_session(log))
    return train_log, truth


def buy_again_ranker(train_log: EventLog, counts: npt.NDArray[np.floating], k: int) -> Ranker:
    """The shopper's own items, most interacted-with first (ties: the more popular), then the most
    popular others: personal top frequency (P-TopFreq in Hu et al., 2020), the baseline a store
    whose shoppers repeat (groceries) must be held to, and which global popularity is not."""
    mine = train_log.item >= 0
    pairs, n = np.unique(np.stack([train_log.user[mine], train_log.item[mine]]), axis=1, return_counts=True)
    order = np.lexsort((-counts[pairs[1]], -n, pairs[0]))  # by user, then own count, then popularity
    own: dict[str, list[int]] = {}
    for u, i in zip(pairs[0][order].tolist(), pairs[1][order].tolist(), strict=True):
        own.setdefault(train_log.users[u], []).append(i)
    popular = np.argsort(-counts, kind="stable")[: 2 * k].tolist()

    def rank(user: str) -> list[int]:
        head = own.get(user, [])[:k]
        taken = set(head)
        return head + [i for i in popular if i not in taken][: k - len(head)]

    return rank


@dataclass(frozen=True)
class HoldoutRun:
    """:func:`holdout_run`'s metrics by model, and the weights its hybrid fit evaluated: its config
    after the fit (a search's choice in place) and the report of that search."""

    metrics: dict[str, RecMetrics]
    config: HybridConfig
    tuning: TuningReport


@dataclass(frozen=True)
class HoldoutConfig:
    """How :func:`holdout_run` evaluates: lists of ``k``; ``exclude_seen``: the shoppers' seen items
    neither listed nor counted as hits (new items only; no buy-again row then); ``quiet_tuning``: the
    hybrid's tuning verdict logged at INFO (a caller that fitted the served model said one already)."""

    k: int = 20
    exclude_seen: bool = False
    quiet_tuning: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"HoldoutConfig.k must be a whole number >= 1, got {self.k!r}")


def holdout_report(
    catalog: Catalog,
    log: EventLog,
    vectors: npt.NDArray[np.float32],
    config: HybridConfig | None = None,
    k: int = 20,
    exclude_seen: bool = False,
    quiet_tuning: bool = False,
) -> dict[str, RecMetrics]:
    """:func:`holdout_run`'s metrics by model (``k``, ``exclude_seen``, ``quiet_tuning``: its
    :class:`HoldoutConfig`, as this public function has always taken them)."""
    return holdout_run(catalog, log, vectors, config, HoldoutConfig(k, exclude_seen, quiet_tuning)).metrics


def holdout_run(
    catalog: Catalog,
    log: EventLog,
    vectors: npt.NDArray[np.float32],
    config: HybridConfig | None = None,
    holdout: HoldoutConfig | None = None,
) -> HoldoutRun:
    """Hold out each user's last session, fit popularity and the hybrid on the rest, evaluate them,
    and, when repeats count (not ``holdout.exclude_seen``), the buy-again baseline
    (:func:`buy_again_ranker`). Each list is asked for the history alone (``Context.live`` False: a
    next session not yet under way), so the hybrid fuses with its between-sessions weights
    (:mod:`shelfwise.recommend.between`). The hybrid's tuning verdict is logged
    (:meth:`~shelfwise.recommend.autotune.TuningReport.announce`), at INFO with
    ``holdout.quiet_tuning``. ``holdout``: :class:`HoldoutConfig` (default: its defaults)."""
    from shelfwise.recommend.hybrid import HybridRecommender
    from shelfwise.recommend.interactions import Interactions
    from shelfwise.recommend.popularity import PopularityRecommender

    h = holdout if holdout is not None else HoldoutConfig()
    k, exclude_seen = h.k, h.exclude_seen
    train_log, truth = holdout_split(log)
    train = Interactions.from_log(train_log, catalog)
    if exclude_seen:
        prof = train.profiles
        truth = {u: s - prof.seen(u) for u, s in truth.items() if s - prof.seen(u)}
        if not truth:
            raise ValueError(
                "exclude_seen left nothing to evaluate: every item of every held-out last session was already "
                "seen by its user in training (run without --exclude-seen to count repeats)"
            )
    counts = train.item_counts()
    pop = PopularityRecommender()
    pop.fit(train)
    hybrid = HybridRecommender(vectors, config)
    hybrid.fit(train)
    hybrid.tuning.announce(quiet=h.quiet_tuning)

    def ranker(m: PopularityRecommender | HybridRecommender) -> Ranker:
        # the history alone, no session under way (Context.live False): the hybrid's between-sessions weights
        return lambda user: m.recommend(replace(m.context(user), live=False), k, exclude_seen=exclude_seen).ids.tolist()

    rankers = {"popularity": ranker(pop)}
    if not exclude_seen:  # under exclude_seen it would be popularity again
        rankers["buy-again"] = buy_again_ranker(train_log, counts, k)
    rankers["hybrid"] = ranker(hybrid)
    metrics = {name: evaluate(r, truth, counts, vectors, k) for name, r in rankers.items()}
    return HoldoutRun(metrics, hybrid.config, hybrid.tuning)
