import numpy as np
import pytest

from shelfwise.results import Results


def test_from_scores_orders_and_masks() -> None:
    s = np.array([0.1, 0.9, 0.5, 0.7], dtype=np.float32)
    r = Results.from_scores(s, 3)
    assert r.ids.tolist() == [1, 3, 2]
    m = Results.from_scores(s, 3, mask=np.array([True, False, True, False]))
    assert m.ids.tolist() == [2, 0]
    assert np.allclose(m.scores, [0.5, 0.1])


def test_shape_mismatch_rejected() -> None:
    with pytest.raises(ValueError):
        Results(np.array([1, 2]), np.array([0.1], dtype=np.float32))


def test_exclude() -> None:
    r = Results(np.array([3, 1, 2]), np.array([3.0, 2.0, 1.0], dtype=np.float32))
    seen = np.zeros(4, dtype=bool)
    seen[1] = True
    assert r.exclude(seen).ids.tolist() == [3, 2]
