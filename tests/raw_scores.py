"""Raw component scores of the kinds the tuning pool meets, for tests of its scaling and candidates
(tests/recommend/test_recommend_lazy_scale.py, test_recommend_entries.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def tricky_rows(rng: np.random.Generator, b: int, n: int) -> npt.NDArray[np.float32]:
    """Rows of the kinds components give: sparse evidence (-inf elsewhere), counts with many ties,
    dot products of both signs, one negative value, all -inf, zeros, -0.0, huge and subnormal
    values, and values a step apart that scaling rounds together."""
    kind = rng.integers(0, 9, size=b)
    d = np.full((b, n), -np.inf, dtype=np.float32)
    for r, k in enumerate(kind.tolist()):
        ev = rng.random(n) < rng.choice([0.02, 0.3, 1.0])
        if k == 0:  # counts: ties
            d[r, ev] = rng.integers(0, 6, size=int(ev.sum()))
        elif k == 1:  # dot products of both signs
            d[r, ev] = rng.normal(size=int(ev.sum()))
        elif k == 2:  # one negative value
            d[r, ev] = -2.5
        elif k == 3:  # no evidence
            pass
        elif k == 4:  # zeros and -0.0
            d[r, ev] = rng.choice(np.array([0.0, -0.0, 1.0], dtype=np.float32), size=int(ev.sum()))
        elif k == 5:  # neighbours of one value: x / hi rounds several of them together
            base = np.float32(rng.uniform(0.5, 2.0))
            steps = rng.integers(0, 4, size=int(ev.sum())).astype(np.float32)
            d[r, ev] = base + steps * np.spacing(base)
            d[r, rng.integers(n)] = np.float32(3.0) * base
        elif k == 6:  # neighbours of one value among negatives: (x - lo) / (hi - lo) rounds them together
            base = np.float32(rng.uniform(0.5, 2.0))
            steps = rng.integers(0, 4, size=int(ev.sum())).astype(np.float32)
            d[r, ev] = base + steps * np.spacing(base)
            d[r, rng.integers(n)] = np.float32(-7.0)
        elif k == 7:  # huge and subnormal magnitudes
            d[r, ev] = rng.choice(
                np.array([1e-45, 3e-44, 1e-40, 1e30, 2e30, -1e-45], dtype=np.float32), size=int(ev.sum())
            )
        else:  # positive scores, a tail of tiny ones
            d[r, ev] = rng.random(int(ev.sum())) ** 8
    return d
