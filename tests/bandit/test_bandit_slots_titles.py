"""Explored picks of one list never share a product title (colour / size variants of one product):
each pool the policy draws from holds one row per title."""

from __future__ import annotations

import numpy as np

from shelfwise.bandit import BernoulliTS, SlotConfig, SlotExplorer, ThompsonConfig
from shelfwise.bandit.slots import gate
from shelfwise.catalog import Catalog, Product
from shelfwise.results import Results

N_TITLES, VARIANTS = 12, 3
BASE = Results(np.array([0, 1], dtype=np.int64), np.array([1.0, 0.9], dtype=np.float32))


def _catalog() -> Catalog:
    """Row r is colour r % 3 of title r // 3."""
    return Catalog(
        [Product(id=f"p{r}", title=f"Shirt {r // VARIANTS}", description="") for r in range(N_TITLES * VARIANTS)]
    )


def _relevance(n: int) -> np.ndarray:
    """Variants of one title score alike (as content scores do): a plain top-4 gate holds two titles."""
    rel = np.zeros(n, dtype=np.float32)
    rel[[6, 7, 8, 9, 10, 11]] = [0.9, 0.9, 0.8, 0.5, 0.7, 0.4]  # titles 2 and 3
    return rel


def _titles(cat: Catalog, rows: np.ndarray) -> list[int]:
    return cat.variant_codes[rows].tolist()


def test_one_per_title_keeps_the_first_row_of_each_title() -> None:
    cat = _catalog()
    pool = np.ones(len(cat), dtype=bool)
    pool[[0, 4]] = False
    kept = np.flatnonzero(cat.one_per_title(pool))
    assert kept.tolist() == [1, 3, *range(6, len(cat), VARIANTS)]


def test_a_title_aware_gate_keeps_each_titles_best_row() -> None:
    cat = _catalog()
    pool = np.ones(len(cat), dtype=bool)
    rel = _relevance(len(cat))
    assert np.flatnonzero(gate(pool, rel, 4)).tolist() == [6, 7, 8, 10]  # titles 2, 2, 2, 3
    assert np.flatnonzero(gate(pool, rel, 4, cat.variant_codes)).tolist() == [6, 10]  # only two titles score


def test_explored_picks_never_share_a_title() -> None:
    cat = _catalog()
    rel = _relevance(len(cat))
    shared = {False: 0, True: 0}
    for seed in range(60):
        for distinct in (False, True):
            for candidates in (0, 4):
                config = SlotConfig(explore_share=0.5, first_slot=1, head_fraction=0.0, candidates=candidates)
                ex = SlotExplorer(cat, BernoulliTS(len(cat), ThompsonConfig(seed=seed)), config)
                e = ex.explore(BASE, 8, relevance=rel, distinct=distinct)
                titles = _titles(cat, e.picks)
                assert len(e.picks) == 4
                shared[distinct] += len(set(titles)) < len(titles)
    assert shared[True] == 0
    assert shared[False] > 0  # the same draws without it do repeat titles: the check can fail
