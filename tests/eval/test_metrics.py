import math

import numpy as np
import pytest

from shelfwise.eval import (
    auc,
    coverage,
    head_items,
    intra_list_diversity,
    long_tail_share,
    mrr,
    ndcg_at_k,
    recall_at_k,
)


def test_ndcg_known_values() -> None:
    rel = {"a": 2.0, "b": 1.0}
    assert ndcg_at_k(["a", "b", "c"], rel, 10) == pytest.approx(1.0)
    expected = (1 / math.log2(2) + 3 / math.log2(3)) / (3 / math.log2(2) + 1 / math.log2(3))
    assert ndcg_at_k(["b", "a"], rel, 10) == pytest.approx(expected)
    assert ndcg_at_k(["c"], rel, 10) == 0.0


def test_recall_mrr() -> None:
    rel = {"a": 1.0, "b": 1.0, "z": 0.0}
    assert recall_at_k(["x", "a"], rel, 2) == 0.5
    assert mrr(["x", "y", "b"], rel) == pytest.approx(1 / 3)
    assert mrr(["z"], rel) == 0.0


def test_auc_ties_and_degenerate() -> None:
    assert auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auc([1, 1], [0, 1]) == pytest.approx(0.5)
    assert math.isnan(auc([1, 2], [1, 1]))


def test_catalogue_metrics() -> None:
    pop = np.array([100, 50, 10, 5, 1])
    assert head_items(pop, 0.2).tolist() == [True, False, False, False, False]
    assert long_tail_share([[0, 1], [2, 0]], pop) == 0.5
    assert coverage([[0, 1], [1, 2]], 5) == pytest.approx(0.6)
    v = np.eye(3, dtype=np.float32)
    assert intra_list_diversity([0, 1, 2], v) == pytest.approx(1.0)
    assert intra_list_diversity([0, 0], v) == pytest.approx(0.0)
