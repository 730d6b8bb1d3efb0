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
    # ties at the edge: the lowest indices among the equal values, as a stable sort of -popularity gives
    tied = np.array([3, 7, 3, 3, 9, 3, 0, 3])
    assert np.flatnonzero(head_items(tied, 0.5)).tolist() == [0, 1, 2, 4]
    assert np.flatnonzero(head_items(tied, 0.25)).tolist() == [1, 4]
    assert head_items(tied, 1.0).all() and not head_items(tied, 0.0).any()
    assert long_tail_share([[0, 1], [2, 0]], pop) == 0.5
    assert coverage([[0, 1], [1, 2]], 5) == pytest.approx(0.6)
    v = np.eye(3, dtype=np.float32)
    assert intra_list_diversity([0, 1, 2], v) == pytest.approx(1.0)
    assert intra_list_diversity([0, 0], v) == pytest.approx(0.0)


def test_list_auc_is_the_full_auc_with_the_unlisted_items_tied_below() -> None:
    from shelfwise.eval.metrics import auc, list_auc

    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(5, 40))
        ranked = [int(i) for i in rng.permutation(n)[: int(rng.integers(1, n))]]
        relevant = {int(i) for i in rng.choice(n, size=int(rng.integers(1, n)), replace=False)}
        scores = np.zeros(n)
        scores[ranked] = np.arange(len(ranked), 0, -1)  # listed: by position; unlisted: 0, tied below
        labels = np.isin(np.arange(n), list(relevant)).astype(int)
        assert list_auc(ranked, relevant, n) == pytest.approx(auc(scores, labels))
    assert list_auc([3, 1], {3}, 10) == 1.0  # the relevant item first: above all 9 others
    assert list_auc([3, 3, 1, 1], {3}, 10) == 1.0  # an item listed twice counts once (it went negative)
    assert list_auc([1, 2], {3}, 4) == pytest.approx(0.5 / 3)  # unlisted: below the 2 listed, tied with 1 other
    assert math.isnan(list_auc([1], set(), 10)) and math.isnan(list_auc([1], {0, 1}, 2))
