"""Implicit-feedback matrix factorisation by alternating least squares.

Hu, Koren & Volinsky, 2008, "Collaborative Filtering for Implicit Feedback Datasets": confidence
``c_ui = 1 + alpha * r_ui`` on binary preferences, exact per-row solves with the ``Y^T Y``
precomputation trick. Users are *folded in* at query time from their current history (the
same closed-form solve), so new events change recommendations without retraining, and a
session-only shopper gets scores too. Items never seen in training cannot be scored (-inf).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.base import BaseRecommender, Context, no_evidence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import check_shape, read_npz
from shelfwise.results import FloatArray

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ALSConfig:
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 2.0
    iterations: int = 12
    seed: int = 0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError("ALSConfig: factors and iterations must be >= 1")
        if self.regularization < 0 or self.alpha <= 0:
            raise ValueError("ALSConfig: regularization >= 0 and alpha > 0")


def _solve_rows(r: sp.csr_matrix, y: F64, yty: F64, reg: float, alpha: float) -> F64:
    """For each row u of ``r``: argmin_x sum_i c_ui (p_ui - x.y_i)^2 + reg |x|^2."""
    f = y.shape[1]
    out = np.zeros((r.shape[0], f))
    eye = reg * np.eye(f)
    for u in range(r.shape[0]):
        a, b = r.indptr[u], r.indptr[u + 1]
        if a == b:
            continue
        yi = y[r.indices[a:b]]
        c = alpha * r.data[a:b].astype(np.float64)
        out[u] = np.linalg.solve(yty + (yi.T * c) @ yi + eye, yi.T @ (1.0 + c))
    return out


class ALSRecommender(BaseRecommender):
    name = "als"

    def __init__(self, config: ALSConfig | None = None) -> None:
        super().__init__()
        self.config = config or ALSConfig()
        self.item_factors: F64 = np.zeros((0, self.config.factors))
        self.known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._yty: F64 = np.zeros((0, 0))

    def _fit(self, data: Interactions) -> None:
        cfg = self.config
        r = data.user_item()
        r.data = np.log1p(r.data)  # dampen repeated purchases
        rt = r.T.tocsr()
        rng = np.random.default_rng(cfg.seed)
        y = rng.normal(0.0, 0.01, (data.n_items, cfg.factors))
        x = np.zeros((data.n_users, cfg.factors))
        for _ in range(cfg.iterations):
            x = _solve_rows(r, y, y.T @ y, cfg.regularization, cfg.alpha)
            y = _solve_rows(rt, x, x.T @ x, cfg.regularization, cfg.alpha)
        self.item_factors = y
        self.known = np.asarray(rt.getnnz(axis=1) > 0).ravel()
        self._yty = y.T @ y

    def user_vector(self, ctx: Context) -> F64:
        """Fold a history/session into the factor space (one least-squares solve)."""
        r = sp.csr_matrix(
            (np.log1p(ctx.weights.astype(np.float64)), (np.zeros(len(ctx), dtype=np.int64), ctx.items)),
            shape=(1, self.n_items),
        )
        r.sum_duplicates()
        cfg = self.config
        return _solve_rows(r, self.item_factors, self._yty, cfg.regularization, cfg.alpha)[0]

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx):
            return no_evidence(self.n_items)
        s = (self.item_factors @ self.user_vector(ctx)).astype(np.float32)
        return np.where(self.known, s, -np.inf).astype(np.float32)

    def score_item(self, item: int) -> FloatArray:
        if not self.known[item]:
            return no_evidence(self.n_items)
        y = self.item_factors
        norms = np.maximum(np.linalg.norm(y, axis=1), 1e-12)
        s = (y @ y[item]) / (norms * norms[item])
        return np.where(self.known, s, -np.inf).astype(np.float32)

    def explain(self, ctx: Context | None, item: int) -> str:
        return "shoppers with similar baskets bought this"

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "als.npz", item_factors=self.item_factors, known=self.known)
        (p / "als.json").write_text(json.dumps(asdict(self.config)), encoding="utf-8")

    def load_state(self, path: str | Path) -> None:
        """Restore factors saved by :meth:`save` (after ``fit`` or ``attach`` on the same catalog)."""
        f = Path(path) / "als.npz"
        z = read_npz(f, ("item_factors", "known"))
        y = check_shape(f, "item_factors", z["item_factors"], (self.n_items, self.config.factors))
        self.known = check_shape(f, "known", z["known"].astype(bool), (self.n_items,))
        self.item_factors = y.astype(np.float64)
        self._yty = self.item_factors.T @ self.item_factors
