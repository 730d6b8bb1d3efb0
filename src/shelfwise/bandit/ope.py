"""Off-policy evaluation of a ranking policy from logged bandit feedback.

Estimators (value = expected reward per logged slot):

* IPW: inverse propensity weighting (Horvitz & Thompson 1952; Precup et al. 2000).
* SNIPW: self-normalised IPW (Swaminathan & Joachims 2015, "The self-normalized estimator for
  counterfactual learning").
* DM: direct method, the evaluation policy's expectation under a fitted reward model.
* DR: doubly robust, DM plus an IPW correction of the model's residual on logged actions (Dudík,
  Langford & Li 2011, "Doubly robust policy evaluation and learning").

Slots follow the Open Bandit Dataset convention (Saito et al. 2021, "Open Bandit Dataset and
Pipeline"): each logged row is one (impression, position) with the logging propensity of its
item at that position; the evaluation policy gives ``action_dist[.., a, position]``. The reward
model for DM/DR is an L2-regularised logistic regression cross-fitted over folds (predictions
for a row never come from a model that saw it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from shelfwise.bandit.mab import BernoulliTS, ThompsonConfig
from shelfwise.errors import DataError, RowError
from shelfwise.events.loader import parse_timestamp

_log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RATE_TOLERANCE = 1e-9  # float rounding around a click rate's bounds is not an unstable estimate


@dataclass(frozen=True)
class BanditLog:
    """Logged bandit feedback, time-ordered. ``position`` is 0-based; ``context`` (n, d) user
    features; ``affinity`` (n, n_actions) user-item scores (zeros if unknown); ``action_context``
    (n_actions, d_a) item features."""

    action: IntArray
    position: IntArray
    reward: FloatArray
    pscore: FloatArray
    context: FloatArray
    affinity: FloatArray
    action_context: FloatArray

    def __post_init__(self) -> None:
        n = self.action.shape[0]
        for name in ("position", "reward", "pscore"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"BanditLog.{name} must have shape ({n},)")
        if self.context.shape[0] != n or self.affinity.shape[0] != n:
            raise ValueError("BanditLog: context and affinity need one row per logged slot")
        if self.affinity.shape[1] != self.action_context.shape[0]:
            raise ValueError("BanditLog: affinity columns must match action_context rows (one per action)")
        if n and (self.action.min() < 0 or self.action.max() >= self.n_actions):
            raise ValueError(f"BanditLog: actions must be in [0, {self.n_actions})")
        if n and not ((self.pscore > 0) & (self.pscore <= 1)).all():
            raise ValueError("BanditLog: propensity scores must be in (0, 1]")

    def __len__(self) -> int:
        return int(self.action.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.action_context.shape[0])

    @property
    def len_list(self) -> int:
        return int(self.position.max()) + 1 if len(self) else 0

    def take(self, rows: IntArray) -> BanditLog:
        """The log restricted to (or resampled by) ``rows``."""
        return BanditLog(
            self.action[rows],
            self.position[rows],
            self.reward[rows],
            self.pscore[rows],
            self.context[rows],
            self.affinity[rows],
            self.action_context,
        )


def _one_hot(columns: list[list[object]]) -> FloatArray:
    """One-hot encode categorical columns, dropping each column's first (sorted) level."""
    blocks = []
    for col in columns:
        levels = sorted({str(v) for v in col})[1:]
        idx = {v: j for j, v in enumerate(levels)}
        m = np.zeros((len(col), len(levels)))
        for i, v in enumerate(col):
            j = idx.get(str(v))
            if j is not None:
                m[i, j] = 1.0
        blocks.append(m)
    return np.hstack(blocks) if blocks else np.zeros((len(columns[0]) if columns else 0, 0))


def _read(path: str | Path) -> dict[str, list[object]]:
    """Columns of a Parquet file, or of a CSV such as the Open Bandit Dataset's own ``all.csv``
    (its unnamed index column is ignored); other formats are an error naming the file."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pcsv.read_csv(p).to_pydict()
        if suffix == ".parquet":
            return pq.read_table(p).to_pydict()
    except pa.ArrowInvalid as exc:
        raise DataError([RowError(str(p), 0, "<file>", f"unreadable {suffix[1:]} file: {exc}")]) from exc
    raise DataError([RowError(str(p), 0, "<file>", "unsupported format; use .parquet or .csv (OBD columns)")])


@dataclass(frozen=True)
class OBDLoad:
    """A loaded log and one :class:`RowError` (file, 1-based row, field) per bad value skipped."""

    log: BanditLog
    errors: list[RowError] = field(default_factory=list)


def _as_int(v: object) -> int | None:
    """A non-negative whole number from an int, a whole float (1.0: a pandas export of an int column
    with a gap) or their text ("3", "1.0"; CSV columns holding one bad value are read as text
    throughout), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        t = v.strip()
        if t.isdigit():
            return int(t)
        x = _as_float(t)
        return int(x) if x is not None and x >= 0 and x.is_integer() else None
    if isinstance(v, int | np.integer):
        return int(v) if v >= 0 else None
    if isinstance(v, float | np.floating) and np.isfinite(v) and v >= 0 and float(v).is_integer():
        return int(v)
    return None


def _as_click(v: object) -> int | None:
    """A click flag: 0/1 as :func:`_as_int` reads them, or a boolean (a Parquet bool column)."""
    if isinstance(v, bool | np.bool_):
        return int(v)
    return _as_int(v)


def _as_float(v: object) -> float | None:
    """A finite number from a number or its text, else None."""
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    return x if np.isfinite(x) else None


@dataclass(frozen=True)
class _Row:
    """One valid log row, parsed."""

    ts: float
    item: int
    position: int
    click: float
    pscore: float
    affinity: tuple[float, ...]


def _parse_row(
    file: str, cols: dict[str, list[object]], i: int, affinity_cols: list[str], line: int
) -> tuple[list[RowError], _Row | None]:
    """Row ``i`` (0-based) parsed, or the validation errors of each bad value (``line``: its number
    in the file's terms, see :class:`RowError`)."""
    errors: list[RowError] = []
    ts = 0.0
    try:
        ts = parse_timestamp(cols["timestamp"][i])
    except (TypeError, ValueError):
        errors.append(RowError(file, line, "timestamp", f"not a timestamp: {cols['timestamp'][i]!r}"))
    click = _as_click(cols["click"][i])
    if click not in (0, 1):
        errors.append(RowError(file, line, "click", f"must be 0 or 1, got {cols['click'][i]!r}"))
    ps = _as_float(cols["propensity_score"][i])
    if ps is None or not 0 < ps <= 1:
        errors.append(
            RowError(file, line, "propensity_score", f"must be in (0, 1], got {cols['propensity_score'][i]!r}")
        )
    ints = {}
    for name in ("item_id", "position"):
        ints[name] = _as_int(cols[name][i])
        if ints[name] is None:
            errors.append(RowError(file, line, name, f"must be a non-negative integer, got {cols[name][i]!r}"))
    aff = [_as_float(cols[c][i]) for c in affinity_cols]
    for c, x in zip(affinity_cols, aff, strict=True):
        if x is None:
            errors.append(RowError(file, line, c, f"must be a number, got {cols[c][i]!r}"))
    if errors:
        return errors, None
    item, pos = ints["item_id"], ints["position"]
    assert item is not None and pos is not None and click is not None and ps is not None
    return [], _Row(ts, item, pos, float(click), ps, tuple(x for x in aff if x is not None))


def _line(file: str, i: int) -> int:
    """The 0-based data row ``i`` as :class:`RowError` counts it: CSV line (header = line 1), or Parquet row."""
    return i + 2 if Path(file).suffix.lower() == ".csv" else i + 1


def read_obd(path: str | Path, item_context: str | Path | None = None, *, strict: bool = False) -> OBDLoad:
    """Read an Open Bandit Dataset log (Parquet/its CSV columns: timestamp, item_id, position,
    click, propensity_score, user_feature_*, user-item_affinity_*) and optionally its item context.

    Every bad value is reported as a :class:`RowError` naming file, row (CSV: line) and field, and its
    row is skipped; the good rows are kept (in the item context too: a bad item id skips that item's
    features). Raises :class:`DataError` listing them all when no valid log row is left, or on any
    bad row with ``strict=True``."""
    file = str(path)
    cols = _read(path)
    need = ["timestamp", "item_id", "position", "click", "propensity_score"]
    missing = [c for c in need if c not in cols]
    if missing:
        raise DataError([RowError(file, 0, c, "missing column") for c in missing], f"{file}: not an OBD log")
    affinity_cols = sorted(
        (c for c in cols if c.startswith("user-item_affinity_") and c[19:].isdigit()), key=lambda c: int(c[19:])
    )
    errors: list[RowError] = []
    parsed: list[tuple[int, _Row]] = []
    for i in range(len(cols["item_id"])):
        errs, row = _parse_row(file, cols, i, affinity_cols, _line(file, i))
        errors.extend(errs)
        if row is not None:
            parsed.append((i, row))
    context_errors: list[RowError] = []
    action_context = _item_context(item_context, context_errors) if item_context is not None else None
    errors += context_errors
    if errors and (strict or not parsed):
        why = "bad rows" if parsed else "bad rows and no valid one"
        raise DataError(errors, f"{file}: {len({(e.file, e.row) for e in errors})} {why}")
    parsed.sort(key=lambda t: t[1].ts)  # stable: equal times keep file order
    order = [i for i, _ in parsed]
    rows = [r for _, r in parsed]
    n = len(rows)
    action = np.asarray([r.item for r in rows], dtype=np.int64)
    raw_pos = np.asarray([r.position for r in rows], dtype=np.int64)
    position = np.searchsorted(np.unique(raw_pos), raw_pos).astype(np.int64)
    ufeat = sorted(c for c in cols if c.startswith("user_feature"))
    context = _one_hot([[cols[c][j] for j in order] for c in ufeat]) if ufeat else np.zeros((n, 0))
    n_actions = int(action.max()) + 1 if n else 0
    if action_context is not None:
        n_actions = max(n_actions, action_context.shape[0])
        action_context = np.vstack(
            [action_context, np.zeros((n_actions - action_context.shape[0], action_context.shape[1]))]
        )
    else:
        action_context = np.zeros((n_actions, 0))
    affinity = np.zeros((n, n_actions))
    for k, c in enumerate(affinity_cols):
        a = int(c[19:])
        if a < n_actions:
            affinity[:, a] = [r.affinity[k] for r in rows]
    log = BanditLog(
        action=action,
        position=position,
        reward=np.asarray([r.click for r in rows], dtype=np.float64),
        pscore=np.asarray([r.pscore for r in rows], dtype=np.float64),
        context=context,
        affinity=affinity,
        action_context=action_context,
    )
    return OBDLoad(log, errors)


def _item_context(path: str | Path, errors: list[RowError]) -> FloatArray:
    """Item features (one row per item id, numeric columns as is, others one-hot); a row with a bad
    item id is reported in ``errors`` and skipped."""
    file = str(path)
    ic = _read(path)
    if "item_id" not in ic:
        raise DataError([RowError(file, 0, "item_id", "missing column")], f"{file}: not an OBD item context")
    keep: list[int] = []
    ids: list[int] = []
    for i, v in enumerate(ic["item_id"]):
        item = _as_int(v)
        if item is None:
            errors.append(RowError(file, _line(file, i), "item_id", f"must be a non-negative integer, got {v!r}"))
        else:
            keep.append(i)
            ids.append(item)
    feats = [c for c in ic if c != "item_id" and c.strip()]  # the OBD CSV's unnamed index column is ""
    num = [c for c in feats if all(isinstance(ic[c][i], int | float) for i in keep)]
    cat = [c for c in feats if c not in num]
    blocks = [np.asarray([[ic[c][i] for i in keep] for c in num], dtype=np.float64).T] if num else []
    blocks.append(_one_hot([[ic[c][i] for i in keep] for c in cat]) if cat else np.zeros((len(keep), 0)))
    out = np.zeros((max(ids) + 1 if ids else 0, sum(b.shape[1] for b in blocks)))
    if ids:
        out[np.asarray(ids)] = np.hstack(blocks)
    return out


def load_obd(path: str | Path, item_context: str | Path | None = None, *, strict: bool = False) -> BanditLog:
    """:func:`read_obd`'s log; skipped bad rows are logged as one warning listing each of them."""
    res = read_obd(path, item_context, strict=strict)
    if res.errors:
        _log.warning("%s", DataError(res.errors, f"{path}: skipped {len(res.errors)} bad values"))
    return res.log


@dataclass(frozen=True)
class RewardModelConfig:
    """L2 strength ``l2`` (on the summed log-loss) and ``folds`` for cross-fitting (1 = in-sample)."""

    l2: float = 1.0
    folds: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.l2 < 0 or self.folds < 1:
            raise ValueError("RewardModelConfig: l2 >= 0 and folds >= 1")


class RewardModel:
    """Logistic click model ``q(x, a, k) = sigmoid(x.w + z_a.v + u_a + p_k + b)`` over user features
    ``x``, item features ``z_a``, an item bias ``u_a`` and a position bias ``p_k``."""

    def __init__(self, config: RewardModelConfig | None = None) -> None:
        self.config = config or RewardModelConfig()

    @staticmethod
    def _parts(log: BanditLog, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        d, da, na = log.context.shape[1], log.action_context.shape[1], log.n_actions
        wc, wa, ua, pk = w[:d], w[d : d + da], w[d + da : d + da + na], w[d + da + na : -1]
        return log.context @ wc, log.action_context @ wa + ua, pk, float(w[-1])

    def _fit(self, log: BanditLog, rows: IntArray) -> FloatArray:
        d, da, na, pl = log.context.shape[1], log.action_context.shape[1], log.n_actions, log.len_list
        x, z, a, k, y = log.context[rows], log.action_context, log.action[rows], log.position[rows], log.reward[rows]
        size = d + da + na + pl + 1
        l2 = self.config.l2

        def loss(w: FloatArray) -> tuple[float, FloatArray]:
            item = z @ w[d : d + da] + w[d + da : d + da + na]
            logit = x @ w[:d] + item[a] + w[d + da + na : -1][k] + w[-1]
            p = expit(logit)
            eps = 1e-12
            nll = -float(np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
            g = p - y
            grad = np.zeros(size)
            grad[:d] = x.T @ g
            gi = np.bincount(a, weights=g, minlength=na)
            grad[d : d + da] = z.T @ gi
            grad[d + da : d + da + na] = gi
            grad[d + da + na : -1] = np.bincount(k, weights=g, minlength=pl)
            grad[-1] = g.sum()
            reg = w.copy()
            reg[-1] = 0.0
            return nll + 0.5 * l2 * float(reg @ reg), grad + l2 * reg

        y_mean = float(np.clip(y.mean(), 1e-4, 1 - 1e-4)) if len(y) else 0.5
        w0 = np.zeros(size)
        w0[-1] = np.log(y_mean / (1 - y_mean))
        res = minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        return np.asarray(res.x)

    def _folds(self, log: BanditLog) -> list[tuple[IntArray, FloatArray]]:
        """Per cross-fitting fold: its rows and the weights fitted without them (1 fold: in-sample)."""
        n = len(log)
        folds = np.random.default_rng(self.config.seed).permutation(n) % self.config.folds
        out = []
        for f in range(self.config.folds):
            test = np.flatnonzero(folds == f)
            train = np.flatnonzero(folds != f) if self.config.folds > 1 else test
            out.append((test, self._fit(log, train)))
        return out

    def fit_predict(self, log: BanditLog) -> FloatArray:
        """Cross-fitted click probabilities for every logged row, action and position: (n, n_actions, len_list)."""
        out = np.zeros((len(log), log.n_actions, log.len_list))
        for test, w in self._folds(log):
            user, item, pos, b = self._parts(log, w)
            out[test] = expit(user[test, None, None] + item[None, :, None] + pos[None, None, :] + b)
        return out

    def fit_predict_at(self, log: BanditLog, actions: list[IntArray]) -> list[FloatArray]:
        """Cross-fitted click probabilities of each row's own position for each array of per-row
        ``actions`` (e.g. the logged and a target policy's): (n,) each, without the (n, n_actions,
        len_list) table of :meth:`fit_predict` (a store's item count makes that too large)."""
        out = [np.zeros(len(log)) for _ in actions]
        for test, w in self._folds(log):
            user, item, pos, b = self._parts(log, w)
            for got, act in zip(out, actions, strict=True):
                got[test] = expit(user[test] + item[act[test]] + pos[log.position[test]] + b)
        return out


@dataclass(frozen=True)
class Estimate:
    value: float
    stderr: float


@dataclass(frozen=True)
class OPEReport:
    """Estimated value per logged slot of the evaluation policy; ``dm``/``dr`` need a reward model."""

    ipw: Estimate
    snipw: Estimate
    dm: Estimate | None
    dr: Estimate | None
    max_weight: float = float("nan")
    """Largest importance weight pi(a|x) / pscore over the logged slots."""
    ess: float = float("nan")
    """Effective sample size of the weights, (sum w)^2 / sum w^2 (Kong 1992): how many slots IPW rests on."""

    def as_rows(self) -> list[tuple[str, float, float]]:
        named = [("ipw", self.ipw), ("snipw", self.snipw), ("dm", self.dm), ("dr", self.dr)]
        return [(name, e.value, e.stderr) for name, e in named if e is not None]


def mean_estimate(terms: FloatArray) -> Estimate:
    """The mean of ``terms`` and its standard error (nan for fewer than two; both nan for none)."""
    n = terms.shape[0]
    mean = float(terms.mean()) if n else float("nan")
    return Estimate(mean, float(terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"))


def policy_probs(log: BanditLog, action_dist: FloatArray) -> FloatArray:
    """Evaluation policy's probability of every action at each row's logged position: (n, n_actions).
    ``action_dist`` is (n_actions, len_list) for a context-free policy or (n, n_actions, len_list)."""
    ad = np.asarray(action_dist, dtype=np.float64)
    if ad.ndim == 2:
        if ad.shape != (log.n_actions, log.len_list):
            raise ValueError(f"action_dist {ad.shape}, expected ({log.n_actions}, {log.len_list})")
        return np.asarray(ad[:, log.position].T)
    if ad.shape != (len(log), log.n_actions, log.len_list):
        raise ValueError(f"action_dist {ad.shape}, expected ({len(log)}, {log.n_actions}, {log.len_list})")
    return np.asarray(ad[np.arange(len(log)), :, log.position])


def evaluate_policy(log: BanditLog, action_dist: FloatArray, q_hat: FloatArray | None = None) -> OPEReport:
    """IPW, SNIPW and (when ``q_hat`` from :meth:`RewardModel.fit_predict` is given) DM and DR."""
    rows = np.arange(len(log))
    pi = policy_probs(log, action_dist)
    w = pi[rows, log.action] / log.pscore
    if q_hat is None:
        return _report(w, log.reward)
    if q_hat.shape != (len(log), log.n_actions, log.len_list):
        raise ValueError(f"q_hat {q_hat.shape}, expected ({len(log)}, {log.n_actions}, {log.len_list})")
    q = q_hat[rows, :, log.position]
    return _report(w, log.reward, (pi * q).sum(axis=1), q[rows, log.action])


def evaluate_actions(log: BanditLog, target: IntArray, folds: int = 3, seed: int = 0) -> OPEReport:
    """IPW, SNIPW, DM and DR of the deterministic policy that plays ``target[i]`` at row ``i``'s
    position (its weight: 1 / pscore where the logged action is the target, else 0), with a
    cross-fitted :class:`RewardModel` read at the two actions only (:meth:`RewardModel.fit_predict_at`)."""
    if target.shape != (len(log),) or (len(log) and (target.min() < 0 or target.max() >= log.n_actions)):
        raise ValueError(f"target: one action in [0, {log.n_actions}) per logged row ({len(log)})")
    w = (target == log.action) / log.pscore
    if len(log) < max(folds, 2):
        return _report(w, log.reward)
    model = RewardModel(RewardModelConfig(folds=folds, seed=seed))
    q_target, q_logged = model.fit_predict_at(log, [target, log.action])
    return _report(w, log.reward, q_target, q_logged)


def _report(
    w: FloatArray, r: FloatArray, dm: FloatArray | None = None, q_logged: FloatArray | None = None
) -> OPEReport:
    """The estimates from importance weights ``w`` and rewards ``r``; DM and DR from ``dm`` (each
    row's expected reward under the evaluated policy) and ``q_logged`` (the model's at the logged action)."""
    n = len(r)
    ipw = mean_estimate(w * r)
    sn = float((w * r).sum() / w.sum()) if w.sum() > 0 else float("nan")
    sn_terms = w * (r - sn) / max(float(w.mean()), 1e-12)  # delta-method influence terms
    snipw = Estimate(sn, float(sn_terms.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"))
    max_w = float(w.max()) if len(w) else float("nan")
    ess = float(w.sum() ** 2 / (w**2).sum()) if (w**2).sum() > 0 else 0.0
    if dm is None or q_logged is None:
        return OPEReport(ipw, snipw, None, None, max_w, ess)
    return OPEReport(ipw, snipw, mean_estimate(dm), mean_estimate(dm + w * (r - q_logged)), max_w, ess)


@dataclass(frozen=True)
class ThompsonOPEConfig:
    """``n_sim``: Monte Carlo posterior draws for the policy's action distribution; ``folds``:
    cross-fitting folds of the reward model; ``seed`` for both."""

    n_sim: int = 100_000
    folds: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_sim < 1 or self.folds < 1:
            raise ValueError("ThompsonOPEConfig: n_sim >= 1 and folds >= 1")


@dataclass(frozen=True)
class EstimateRow:
    """One estimator's value and, when the on-policy value is known (and non-zero), its relative error."""

    name: str
    value: float
    stderr: float
    rel_error: float | None


@dataclass(frozen=True)
class PolicyEvaluation:
    """IPW/SNIPW/DM/DR estimates of a policy on a log, with the on-policy value when known."""

    report: OPEReport
    n_slots: int
    n_actions: int
    len_list: int
    truth: float | None
    binary_reward: bool = False
    """Every logged reward is 0 or 1 (clicks): a value is then a rate, in [0, 1]."""
    uniform_policy: bool = False
    """The evaluated policy ranks every action alike (one Beta posterior for all: it plays at random)."""

    def notes(self) -> list[str]:
        """Plain warnings: a comparison with an on-policy log while the evaluated policy is the
        uniform default (the log's policy is then almost surely another one); with click (0/1)
        rewards, an estimate outside [0, 1] is not a rate and comes from large importance weights
        (IPW and DR are unbiased but unbounded; SNIPW normalises the weights and stays in [0, 1],
        Swaminathan & Joachims 2015)."""
        out = []
        if self.uniform_policy and self.truth is not None:
            out.append(
                "the evaluated policy gives every action the same Beta posterior, so it ranks at random; "
                "rel.err compares it with the on-policy log's click rate, which means something only if that "
                "log came from a random policy too: give the evaluated policy's posteriors with --prior"
            )
        if not self.binary_reward:
            return out
        out += [
            f"{name} {value:.4f} is outside [0, 1], the range of a click rate: importance weights up to "
            f"{self.report.max_weight:.1f} (effective sample size {self.report.ess:.1f} of {self.n_slots} slots) "
            "make it unstable here; prefer snipw, or a log whose propensities cover the policy's choices"
            for name, value, _ in self.report.as_rows()
            if not -RATE_TOLERANCE <= value <= 1.0 + RATE_TOLERANCE  # DR's rounding of 0 reads -0.00000
        ]
        return out

    def rows(self) -> list[EstimateRow]:
        t = self.truth
        return [
            EstimateRow(name, value, se, abs(value - t) / t if t else None) for name, value, se in self.report.as_rows()
        ]


def evaluate_bernoulli_ts(
    log: BanditLog,
    alpha: FloatArray | None = None,
    beta: FloatArray | None = None,
    *,
    config: ThompsonOPEConfig | None = None,
    truth: BanditLog | None = None,
) -> PolicyEvaluation:
    """Off-policy value of a Bernoulli Thompson-sampling ranking policy with Beta(``alpha``, ``beta``)
    posteriors (default Beta(1, 1)) on ``log``: its action distribution by Monte Carlo (as in the
    OBD pipeline, Saito et al. 2021), a cross-fitted :class:`RewardModel`, then
    :func:`evaluate_policy`. ``truth``, an on-policy log of the evaluated policy, gives the value
    the estimates are compared with (its mean reward)."""
    cfg = config or ThompsonOPEConfig()
    policy = BernoulliTS(log.n_actions, ThompsonConfig(seed=cfg.seed), alpha=alpha, beta=beta)
    dist = policy.action_dist(log.len_list, cfg.n_sim)
    q = RewardModel(RewardModelConfig(folds=cfg.folds, seed=cfg.seed)).fit_predict(log)
    on_policy = float(truth.reward.mean()) if truth is not None and len(truth) else None
    binary = bool(np.isin(log.reward, (0.0, 1.0)).all())
    report = evaluate_policy(log, dist, q)
    uniform = bool(np.ptp(policy.alpha) == 0 and np.ptp(policy.beta) == 0)
    return PolicyEvaluation(report, len(log), log.n_actions, log.len_list, on_policy, binary, uniform)
