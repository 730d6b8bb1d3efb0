"""Matrix-factorisation component, fitted by the ``implicit`` library (CPU).

Two models, chosen by :attr:`ALSConfig.model`:

* ``"als"``: Hu, Koren & Volinsky, 2008, "Collaborative Filtering for Implicit Feedback
  Datasets": binary preferences with confidence ``c_ui = alpha * w_ui`` (``implicit``'s
  convention; ``w`` is the summed, optionally log-damped event weight), alternating least
  squares with conjugate-gradient row solves (Takács, Pilászy & Tikk, 2011).
* ``"bpr"``: Rendle, Freudenthaler, Gantner & Schmidt-Thieme, 2009, "BPR: Bayesian
  Personalized Ranking from Implicit Feedback": pairwise SGD on sampled (user, seen, unseen)
  triples; ``implicit`` appends an item-bias column to the factors.

Users are *folded in* at query time from their live history: the closed-form ALS user solve
``x = (YᵀY + Yᵀ(C - I)Y + λI)⁻¹ YᵀCp`` on the fitted item factors (the same solve as
``implicit``'s ``recalculate_user``, done here in NumPy so a loaded model serves without
``implicit``). A user unknown at fit time gets scores from their first event, and events after
the fit change everyone's scores at once. By default known users are folded in too: on Instacart
(validation split) that matches the learned ALS factors and beats the learned BPR ones (NDCG@20
0.28 vs 0.22); ``fold_in_known_users=False`` uses the learned factors for them instead. Items
with no interactions at fit time have no factors worth scoring (``-inf``); the hybrid's content
signal covers them. Only the items with factors are kept (``factors``, rows ``rows``): at 1M
catalog rows of which 82k have events that is 21 MB instead of 256 MB per copy, and scoring
touches those rows only. ``implicit``'s ALS sets the factors of an item with no interactions to
exactly zero, so the full matrix (:attr:`ALSRecommender.item_factors`) is the compact one with
zero rows. ``YᵀY`` is taken over the full fitted matrix (BPR leaves untrained items at their
random start) and saved. Factors are saved as ``als.npz`` + ``als.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import MissingExtraError
from shelfwise.recommend.base import BaseRecommender, Context, context_entries, no_evidence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import StateFileError, check_shape, config_to_json, read_npz, write_json
from shelfwise.results import FloatArray

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
MODELS = ("als", "bpr")


@dataclass(frozen=True)
class ALSConfig:
    """Hyper-parameters of the factor component (``"als"`` in the hybrid), validated on construction.

    ``model``: ``"als"`` (Hu et al., 2008) or ``"bpr"`` (Rendle et al., 2009; start from
    :meth:`bpr`, whose defaults suit it). ``alpha`` scales ALS confidence; ``log_weights`` damps
    repeated events with ``log1p`` before that; ``learning_rate`` is BPR's SGD step.
    ``regularization`` is the L2 weight of both models and of the fold-in solve.
    ``fold_in_known_users``: see the module docstring. ``num_threads``: ``implicit``'s worker
    threads, 0 = all cores (ALS results do not depend on it; BPR's Hogwild SGD is only
    reproducible with 1).
    """

    model: str = "als"
    factors: int = 64
    regularization: float = 0.1
    alpha: float = 1.0
    log_weights: bool = False
    iterations: int = 15
    learning_rate: float = 0.01
    fold_in_known_users: bool = True
    num_threads: int = 0
    seed: int = 0

    @classmethod
    def bpr(cls, **overrides: Any) -> ALSConfig:
        """BPR with settings that worked on Instacart's validation split (lr 0.05, L2 0.01, 300 epochs)."""
        return cls(**{"model": "bpr", "learning_rate": 0.05, "regularization": 0.01, "iterations": 300, **overrides})

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"ALSConfig.model must be one of {MODELS}, got {self.model!r}")
        if self.factors < 1 or self.iterations < 1:
            raise ValueError("ALSConfig: factors and iterations must be >= 1")
        if self.regularization < 0 or self.alpha <= 0 or self.learning_rate <= 0:
            raise ValueError("ALSConfig: regularization >= 0, alpha > 0 and learning_rate > 0")
        if self.num_threads < 0:
            raise ValueError("ALSConfig.num_threads must be >= 0 (0 = all cores)")


def _implicit_classes() -> tuple[Any, Any]:
    try:
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking
    except ImportError as e:
        raise MissingExtraError("implicit", "recommend") from e
    return AlternatingLeastSquares, BayesianPersonalizedRanking


def implicit_model(cfg: ALSConfig) -> Any:
    """A fresh ``implicit`` CPU model for ``cfg``; :class:`MissingExtraError` when it is not installed."""
    als, bpr = _implicit_classes()
    common = {
        "factors": cfg.factors,
        "regularization": cfg.regularization,
        "iterations": cfg.iterations,
        "num_threads": cfg.num_threads,
        "random_state": cfg.seed,
    }
    if cfg.model == "bpr":
        return bpr(learning_rate=cfg.learning_rate, **common)
    return als(alpha=cfg.alpha, **common)


def fold_in(item_factors: F32, yty: F64, items: npt.NDArray[np.int64], confidence: F64, reg: float) -> F64:
    """argmin_x Σ_i c_i (1 - x·y_i)² + Σ_{j unseen} (x·y_j)² + reg |x|², ``c`` = confidence per item.

    Hu et al. (2008), eq. 4, with their ``YᵀY`` precomputation: only the user's own items enter.
    """
    a, b = fold_in_system(item_factors, yty, items, confidence, reg)
    return np.asarray(np.linalg.solve(a, b), dtype=np.float64)


def fold_in_system(
    item_factors: F32, yty: F64, items: npt.NDArray[np.int64], confidence: F64, reg: float
) -> tuple[F64, F64]:
    """The normal equations ``(A, b)`` that :func:`fold_in` solves (:func:`fold_in_systems` of one user)."""
    yi = item_factors[items].astype(np.float64)[None]
    a, b = fold_in_systems(yi, np.asarray(confidence, dtype=np.float64)[None], yty, reg)
    return a[0], b[0, :, 0]


def fold_in_systems(yi: F64, confidence: F64, yty: F64, reg: float) -> tuple[F64, F64]:
    """The normal equations of ``m`` users with ``L`` items each, as stacks: ``yi`` (m, L, d) their
    items' factors, ``confidence`` (m, L); returns ``A = YᵀY + Yᵢᵀ(Cᵢ - I)Yᵢ + λI`` (m, d, d) and
    ``b = YᵢᵀCᵢp`` (m, d, 1), each user's the same BLAS products as one user alone."""
    weighted = (yi * (confidence - 1.0)[:, :, None]).transpose(0, 2, 1)  # yi.T * (c - 1), per user
    a = np.matmul(weighted, yi)
    a += yty  # (YᵀY + that) + λI, without two more stacks
    a += reg * np.eye(yty.shape[0])
    return a, np.matmul(yi.transpose(0, 2, 1), confidence[:, :, None])


class ALSRecommender(BaseRecommender):
    """Implicit-feedback matrix factorisation (ALS or BPR via ``implicit``) with query-time fold-in."""

    name = "als"

    def __init__(self, config: ALSConfig | None = None) -> None:
        super().__init__()
        self.config = config or ALSConfig()
        self.factors: F32 = np.zeros((0, self.config.factors), dtype=np.float32)  # rows ``rows`` only
        self.rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # catalog rows with factors
        self._pos: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # catalog row -> row of ``factors``
        self.user_factors: F32 = np.zeros((0, self.config.factors), dtype=np.float32)
        self.users: dict[str, int] = {}
        self.known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._unit: F32 = np.zeros((0, self.config.factors), dtype=np.float32)
        self._yty: F64 = np.zeros((0, 0))

    @property
    def item_factors(self) -> F32:
        """The full (n_items, dim) factor matrix, zero rows for items without factors; built on
        each call (tests, offline tools): serving reads :attr:`factors` of :attr:`rows`."""
        out = np.zeros((len(self.known), self._dim()), dtype=np.float32)
        out[self.rows] = self.factors
        return out

    def _set_factors(self, full: F32) -> None:
        """Keep the rows of the fitted ``full`` matrix that ``known`` marks (``YᵀY`` over all of it)."""
        rows = np.flatnonzero(self.known).astype(np.int64)
        y = full.astype(np.float64)
        self._keep(rows, full[rows], y.T @ y)

    def _keep(self, rows: npt.NDArray[np.int64], factors: F32, yty: F64) -> None:
        """Serve from ``factors`` of catalog ``rows`` with Gram matrix ``yty``; also the
        unit-length factors ``score_item`` uses."""
        self.rows, self.factors, self._yty = rows, np.ascontiguousarray(factors, dtype=np.float32), yty
        self._pos = np.full(len(self.known), -1, dtype=np.int64)
        self._pos[rows] = np.arange(len(rows), dtype=np.int64)
        norms = np.maximum(np.linalg.norm(self.factors, axis=1, keepdims=True), 1e-12)
        self._unit = (self.factors / norms).astype(np.float32)

    def confidence(self, weights: npt.ArrayLike) -> F64:
        """Implicit weights -> ALS confidence ``alpha * w`` (``alpha * log1p(w)`` with ``log_weights``)."""
        w = np.asarray(weights, dtype=np.float64)
        return self.config.alpha * (np.log1p(w) if self.config.log_weights else w)

    def fit(self, data: Interactions) -> None:
        """:meth:`BaseRecommender.fit` with the shared histories (``data.profiles``) read after the
        factors are fitted: the hybrid's fit-time tuning builds them in another thread meanwhile."""
        self._catalog = data.catalog
        self._fit(data)
        self.profiles = data.profiles

    def _fit(self, data: Interactions) -> None:
        self._fit_model(data, self.config.iterations, None)

    def refit(self, data: Interactions, iterations: int) -> None:
        """Fit on ``data`` (the same catalog) starting from the current item factors, ``iterations``
        ALS sweeps instead of ``config.iterations`` from random factors: after fit-time tuning the
        factors learned on the earlier rows are most of the way there. BPR, or nothing fitted
        yet, fits from scratch."""
        warm = self.config.model == "als" and self.known.any() and len(self.known) == data.n_items
        self._catalog, self.profiles = data.catalog, data.profiles
        if warm:
            self._fit_model(data, iterations, self.item_factors)
        else:
            self._fit_model(data, self.config.iterations, None)

    def _fit_model(self, data: Interactions, iterations: int, item_factors: F32 | None) -> None:
        from threadpoolctl import threadpool_limits

        r = data.user_item()
        if self.config.log_weights:
            r.data = np.log1p(r.data)
        dim = self._dim()
        full = np.zeros((data.n_items, dim), dtype=np.float32)
        self.user_factors = np.zeros((0, dim), dtype=np.float32)
        self.users = {}
        _implicit_classes()  # import first: BLAS libraries it loads are then under the limit below
        with threadpool_limits(1, "blas"):  # implicit's advice: a BLAS thread pool fights its own threads
            model = implicit_model(replace(self.config, iterations=iterations))
            if item_factors is not None:
                model.item_factors = item_factors  # implicit starts from factors already set
            if r.nnz:
                model.fit(r.astype(np.float32).tocsr(), show_progress=False)
                full = np.ascontiguousarray(model.item_factors, dtype=np.float32)
                self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
                self.users = {u: i for i, u in enumerate(data.users)}
        self.known = np.asarray(r.getnnz(axis=0) > 0).ravel()
        self._set_factors(full)

    def _dim(self) -> int:
        """Width of the stored factors: BPR's item-bias column makes it ``factors + 1``."""
        return self.config.factors + (1 if self.config.model == "bpr" else 0)

    def user_vector(self, ctx: Context) -> F32 | None:
        """The shopper's factor, folded in from ``ctx`` (or learned, for a user seen at fit time when
        ``fold_in_known_users`` is off); None when nothing in ``ctx`` has factors."""
        if not self.config.fold_in_known_users and ctx.user in self.users:
            return self.user_factors[self.users[str(ctx.user)]]
        owner, a, b = self._fold_in_systems([ctx])  # score_many's path for one context: the same numbers
        if not len(owner):
            return None
        return np.linalg.solve(a, b)[0, :, 0].astype(np.float32)

    def score(self, ctx: Context) -> FloatArray:
        x = self.user_vector(ctx)
        if x is None:
            return no_evidence(self.n_items)
        out = no_evidence(self.n_items)
        out[self.rows] = self.factors @ x  # items without factors stay -inf
        return out

    def score_many(self, contexts: Sequence[Context], block: int = 4096) -> F32:
        """:meth:`score` of each context, the fold-in systems solved as one stack.

        Scores are the same matrix-vector products as :meth:`score` (a matrix product would round
        differently), taken ``block`` items at a time so that block of factors stays in cache
        across contexts. BLAS kernels take rows in small groups (8 in OpenBLAS's sgemv); blocks
        of a multiple of 64 items keep every item in the group, so the same rounding, as one
        product over the catalog (tests/recommend/test_recommend_batch.py checks it bit for bit).
        Contexts with the same items and weights (e.g. sessions opening on the same click) share
        one solve and one product."""
        if block < 1 or block % 64:
            raise ValueError("ALSRecommender.score_many: block must be a positive multiple of 64")
        out = np.full((len(contexts), self.n_items), -np.inf, dtype=np.float32)
        vectors: list[F32] = []  # distinct user factors; which[j]: context j's
        which: dict[int, int] = {}
        fold: dict[tuple[str, bytes, str, bytes], list[int]] = {}  # the same items and weights: one solve
        for j, c in enumerate(contexts):
            if not self.config.fold_in_known_users and c.user in self.users:
                which[j] = len(vectors)
                vectors.append(self.user_factors[self.users[str(c.user)]])
            else:
                key = (c.items.dtype.str, c.items.tobytes(), c.weights.dtype.str, c.weights.tobytes())
                fold.setdefault(key, []).append(j)
        groups = list(fold.values())
        owner, a, b = self._fold_in_systems([contexts[g[0]] for g in groups])
        if len(owner):
            solved = np.linalg.solve(a, b)[..., 0].astype(np.float32)
            for k, x in zip(owner.tolist(), solved, strict=True):
                which.update(dict.fromkeys(groups[k], len(vectors)))
                vectors.append(x)
        if not which:
            return out
        at = np.fromiter(which, dtype=np.int64, count=len(which))
        of = np.fromiter(which.values(), dtype=np.int64, count=len(which))
        for lo in range(0, len(self.rows), block):  # items with factors only; the others stay -inf
            y, cols = self.factors[lo : lo + block], self.rows[lo : lo + block]
            part = np.empty((len(vectors), len(cols)), dtype=np.float32)
            for r, x in enumerate(vectors):
                np.matmul(y, x, out=part[r])
            out[np.ix_(at, cols)] = part[of]
        return out

    def _fold_in_systems(self, contexts: Sequence[Context]) -> tuple[npt.NDArray[np.int64], F64, F64]:
        """(contexts that fold in, their stacked normal equations ``A``, ``b`` as (m, d, 1)): each
        context's distinct items with factors and positive summed weight, their confidence, and
        :func:`fold_in_systems` of all contexts with the same number of such items at once (the
        same BLAS calls per context, so the same numbers as one at a time)."""
        d = self._dim()
        entry_row, entry_item, entry_weight = context_entries(contexts)
        if not len(entry_row):
            return np.zeros(0, np.int64), np.zeros((0, d, d)), np.zeros((0, d, 1))
        n = self.n_items
        uniq, inv = np.unique(entry_row * n + entry_item.astype(np.int64), return_inverse=True)
        w = np.bincount(inv, weights=entry_weight.astype(np.float64))
        row, items = uniq // n, uniq % n
        keep = self.known[items] & (w > 0)
        row, items, conf = row[keep], items[keep], self.confidence(w[keep])
        size = np.bincount(row, minlength=len(contexts))
        start = np.concatenate([[0], np.cumsum(size)[:-1]])
        owners, systems_a, systems_b = [], [], []
        for length in np.unique(size[size > 0]).tolist():
            members = np.flatnonzero(size == length)
            at = start[members][:, None] + np.arange(length)
            yi = self.factors[self._pos[items[at]]].astype(np.float64)  # (m, length, d)
            a, b = fold_in_systems(yi, conf[at], self._yty, self.config.regularization)
            systems_a.append(a)
            systems_b.append(b)
            owners.append(members)
        if not owners:  # no context kept an item ALS knows (all unseen in its training rows)
            return np.zeros(0, np.int64), np.zeros((0, d, d)), np.zeros((0, d, 1))
        return np.concatenate(owners), np.concatenate(systems_a), np.concatenate(systems_b)

    def score_item(self, item: int) -> FloatArray:
        if not self.known[item]:
            return no_evidence(self.n_items)
        out = no_evidence(self.n_items)
        out[self.rows] = self._unit @ self._unit[self._pos[item]]  # cosine on factors normalised once at fit/load
        return out

    def explain(self, ctx: Context | None, item: int) -> str:
        return self.wording.similar_shoppers()

    # --- persistence (npz + JSON, no pickle) -------------------------------------------------
    def save(self, path: str | Path) -> None:
        """``als.npz`` (the factors of the items that have them and their rows, ``YᵀY``, user
        factors and ids, the known-item mask) and ``als.json`` (config)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        ids = list(self.users)
        np.savez(
            p / "als.npz",
            factors=self.factors,
            rows=self.rows,
            yty=self._yty,
            user_factors=self.user_factors,
            known=self.known,
            user_ids=np.asarray(ids, dtype=np.str_) if ids else np.zeros(0, dtype="<U1"),
        )
        write_json(p / "als.json", config_to_json(self.config))

    def load_state(self, path: str | Path) -> None:
        """Restore factors saved by :meth:`save` (after ``fit`` or ``attach`` on the same catalog).

        Older folders load too: a full ``item_factors`` matrix (before only the items with factors
        were kept) is compacted on load, and without user factors every user is folded in.
        """
        f = Path(path) / "als.npz"
        z = read_npz(f, ("known",))
        dim = self._dim()
        self.known = check_shape(f, "known", z["known"].astype(bool), (self.n_items,))
        if "item_factors" in z:  # saved before compact factors
            full = check_shape(f, "item_factors", z["item_factors"], (self.n_items, dim))
            self._set_factors(np.ascontiguousarray(full, dtype=np.float32))
        elif "factors" in z and "rows" in z and "yty" in z:
            rows = z["rows"].astype(np.int64)
            if not np.array_equal(rows, np.flatnonzero(self.known)):
                raise StateFileError(f, "rows do not match the known-item mask")
            y = check_shape(f, "factors", z["factors"], (len(rows), dim))
            self._keep(rows, y, check_shape(f, "yty", z["yty"].astype(np.float64), (dim, dim)))
        else:
            raise StateFileError(f, "missing arrays: item_factors, or factors + rows + yty")
        ids = [str(u) for u in z.get("user_ids", np.zeros(0, dtype="<U1")).tolist()]
        x = z.get("user_factors", np.zeros((0, dim)))
        check_shape(f, "user_factors", x, (len(ids), dim))
        if len(set(ids)) != len(ids):
            raise StateFileError(f, "user_ids are not unique")
        self.user_factors = np.ascontiguousarray(x, dtype=np.float32)
        self.users = {u: i for i, u in enumerate(ids)}
