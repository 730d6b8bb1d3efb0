"""Contract for :class:`shelfwise.bandit.Policy`: selection shape and dtype, distinct allowed arms,
masks, update validation and effect, determinism under a seed, and the save/load round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfwise.bandit import Policy

N_ARMS = 5


class PolicyContract:
    """Subclasses implement :meth:`make` (a fresh policy over ``N_ARMS`` arms) and ``load``; a
    contextual policy also sets ``dim`` (features per arm)."""

    dim = 0

    def make(self) -> Any:
        raise NotImplementedError

    def load(self, path: Path) -> Any:
        raise NotImplementedError

    def features(self, n_rounds: int) -> np.ndarray | None:
        if not self.dim:
            return None
        x = np.zeros((n_rounds, N_ARMS, self.dim))
        x[:, :, 0] = np.arange(N_ARMS) / N_ARMS
        x[:, :, -1] = 1.0
        return x

    def feed(self, pol: Any, arms: list[int], rewards: list[float]) -> None:
        f = self.features(1)
        rows = None if f is None else f[0, np.clip(arms, 0, N_ARMS - 1)]
        pol.update(np.asarray(arms, dtype=np.int64), np.asarray(rewards, dtype=np.float64), rows)

    def test_select_shape_dtype_distinct(self) -> None:
        pol = self.make()
        assert isinstance(pol, Policy) and pol.n_arms == N_ARMS
        sel = pol.select(7, 3, features=self.features(7))
        assert sel.shape == (7, 3) and sel.dtype == np.int64
        assert ((sel >= 0) & (sel < N_ARMS)).all()
        assert all(len(set(row)) == 3 for row in sel.tolist())

    def test_mask_is_honoured(self) -> None:
        pol = self.make()
        mask = np.array([True, False, True, False, True])
        assert set(pol.select(50, 2, features=self.features(50), mask=mask).ravel().tolist()) <= {0, 2, 4}
        with pytest.raises(ValueError, match="allowed arms"):
            pol.select(1, 4, features=self.features(1), mask=mask)

    def test_update_validates_and_learns(self) -> None:
        pol = self.make()
        with pytest.raises(ValueError):
            self.feed(pol, [N_ARMS], [1.0])
        for _ in range(60):
            self.feed(pol, [3, 1, 0, 2, 4], [1.0, 0.0, 0.0, 0.0, 0.0])
        picks = pol.select(200, 1, features=self.features(200))[:, 0]
        assert (picks == 3).mean() > 0.5

    def test_deterministic_under_seed(self) -> None:
        a, b = self.make(), self.make()
        for p in (a, b):
            self.feed(p, [1, 2, 2], [1.0, 0.0, 1.0])
        f = self.features(20)
        np.testing.assert_array_equal(a.select(20, 2, features=f), b.select(20, 2, features=f))

    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        pol = self.make()
        self.feed(pol, [0, 4, 4], [1.0, 0.0, 1.0])
        pol.save(tmp_path / "a")
        back = self.load(tmp_path / "a")
        assert type(back) is type(pol) and back.n_arms == N_ARMS
        assert "pickle" not in (tmp_path / "a" / "policy.json").read_text()
        back.save(tmp_path / "b")  # what was loaded saves to the same state
        assert (tmp_path / "a" / "policy.json").read_text() == (tmp_path / "b" / "policy.json").read_text()
        with np.load(tmp_path / "a" / "state.npz") as za, np.load(tmp_path / "b" / "state.npz") as zb:
            assert za.files == zb.files and all(np.array_equal(za[k], zb[k]) for k in za.files)
