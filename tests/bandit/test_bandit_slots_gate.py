"""The relevance gate of the exploration slots: the policy chooses among the tail items a shopper's
scores rank highest, and the propensity of each pick is computed over the pool it was drawn from."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.bandit import BernoulliTS, SlotConfig, SlotExplorer, ThompsonConfig
from shelfwise.bandit.slots import gate
from shelfwise.catalog import Catalog
from shelfwise.results import Results

BASE = Results(np.array([0, 1], dtype=np.int64), np.array([1.0, 0.9], dtype=np.float32))
# rows 0 and 1 are the model's list; 2..11 the rest; only 5, 7, 9 have evidence, 9 the most
RELEVANCE = np.array([0.9, 0.8, 0, 0, 0, 0.3, 0, 0.2, 0, 0.6, 0, 0], dtype=np.float32)


def _explorer(catalog: Catalog, candidates: int, share: float = 0.25, seed: int = 0) -> SlotExplorer:
    config = SlotConfig(explore_share=share, first_slot=1, head_fraction=0.0, candidates=candidates)
    return SlotExplorer(catalog, BernoulliTS(len(catalog), ThompsonConfig(seed=seed)), config)


def test_the_gate_is_the_top_scored_pool_with_evidence() -> None:
    pool = np.ones(12, dtype=bool)
    pool[[0, 1]] = False
    assert np.flatnonzero(gate(pool, RELEVANCE, 2)).tolist() == [5, 9]
    assert np.flatnonzero(gate(pool, RELEVANCE, 10)).tolist() == [5, 7, 9]  # no evidence, no entry


def test_gated_picks_come_from_the_top_scored_tail_items(tiny_catalog: Catalog) -> None:
    shown: set[int] = set()
    for seed in range(40):
        ex = _explorer(tiny_catalog, candidates=2, seed=seed)
        e = ex.explore(BASE, 4, user="u", relevance=RELEVANCE)  # one slot of four
        assert e.slots == [1] and len(e.draws) == 1
        shown.add(int(e.results.ids[1]))
    assert shown == {5, 9}  # a fresh prior: either of the two, never an item outside the gate
    ungated = {
        int(_explorer(tiny_catalog, 0, seed=s).explore(BASE, 4, relevance=RELEVANCE).picks[0]) for s in range(40)
    }
    assert len(ungated - {5, 9}) > 3  # without the gate: the whole tail


def test_a_short_gate_is_filled_from_the_rest_of_the_tail(tiny_catalog: Catalog) -> None:
    ex = _explorer(tiny_catalog, candidates=5, share=0.5)  # two slots of four, three items with evidence...
    only = np.where(np.arange(12) == 7, 0.5, 0.0)  # ...here one
    e = ex.explore(BASE, 4, user="u", relevance=only)
    assert len(e.draws) == 2 and e.draws[0].picks.tolist() == [7]
    assert not e.draws[1].pool[7] and e.draws[1].pool.sum() == 9  # the rest: tail minus the list and the gate
    p = ex.propensities(e, n_sim=3000)
    assert p[0] == 1.0  # the gate held one item for two slots: shown for sure
    assert p[1] == pytest.approx(1 / 9, abs=0.02)  # one of the nine others, at random under a fresh prior


def test_propensities_follow_the_pool_and_the_posterior(tiny_catalog: Catalog) -> None:
    ex = _explorer(tiny_catalog, candidates=3)
    e = ex.explore(BASE, 4, user="u", relevance=RELEVANCE)
    assert ex.propensities(e, n_sim=4000)[0] == pytest.approx(1 / 3, abs=0.03)  # one of the gate's three
    wide = _explorer(tiny_catalog, candidates=0)
    assert wide.propensities(wide.explore(BASE, 4, relevance=RELEVANCE), n_sim=4000)[0] == pytest.approx(0.1, abs=0.02)
    policy = ex.policy
    assert isinstance(policy, BernoulliTS)
    policy.update(np.full(30, 9), np.ones(30))  # item 9 wins thirty times: the posterior favours it
    policy.update(np.repeat([5, 7], 30), np.zeros(60))
    e = ex.explore(BASE, 4, user="v", relevance=RELEVANCE)
    assert e.picks.tolist() == [9] and ex.propensities(e, n_sim=2000)[0] > 0.95


def test_no_gate_draws_as_before(tiny_catalog: Catalog) -> None:
    """``candidates=0`` ignores the scores: the same picks, seed for seed, as with no scores given."""
    for seed in range(5):
        a = _explorer(tiny_catalog, 0, share=0.5, seed=seed).explore(BASE, 4, relevance=RELEVANCE)
        b = _explorer(tiny_catalog, 0, share=0.5, seed=seed).explore(BASE, 4)
        assert a.picks.tolist() == b.picks.tolist() and len(a.draws) == 1 and a.draws[0].pool.sum() == 10


def test_candidates_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="candidates"):
        SlotConfig(candidates=-1)


def test_the_gate_breaks_ties_by_the_lower_index() -> None:
    """As its docstring says: scores tied at the gate's edge (a fusion of few components ties many
    items) admit the lowest rows, not whichever a partition leaves there."""
    relevance = np.ones(1000, dtype=np.float32)
    relevance[::7] = 2.0  # 143 items above the tie
    got = np.flatnonzero(gate(np.ones(1000, dtype=bool), relevance, 200))
    tied = [r for r in range(1000) if r % 7][:57]
    assert got.tolist() == sorted([*range(0, 1000, 7), *tied])


@pytest.mark.parametrize("kind", ["ucb1", "epsilon", "thompson"])
def test_propensity_batches_bound_what_the_policy_draws(
    tiny_catalog: Catalog, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UCB1 and epsilon-greedy draw for every arm, not only the pool's (Thompson sampling draws for
    the pool alone): batches sized by a small gate's width would ask them for ``SIM_DRAWS`` draws
    per gated arm, all arms each (at 50k items and a gate of 10, ~800 MB)."""
    from shelfwise.bandit import UCB1, EpsilonGreedy
    from shelfwise.bandit import slots as slots_module

    n = len(tiny_catalog)
    policy = {"ucb1": UCB1(n), "epsilon": EpsilonGreedy(n), "thompson": BernoulliTS(n)}[kind]
    config = SlotConfig(explore_share=0.25, first_slot=1, head_fraction=0.0, candidates=3)
    ex = SlotExplorer(tiny_catalog, policy, config)
    e = ex.explore(BASE, 4, user="u", relevance=RELEVANCE)
    drawn: list[int] = []
    plain = policy.select

    def counted(n_rounds: int = 1, k: int = 1, **kw: object) -> np.ndarray:
        mask = kw.get("mask")
        width = int(mask.sum()) if kind == "thompson" and isinstance(mask, np.ndarray) else n
        drawn.append(n_rounds * width)
        return plain(n_rounds, k, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(policy, "select", counted)
    monkeypatch.setattr(slots_module, "SIM_DRAWS", 2 * n)
    assert len(ex.propensities(e, n_sim=100)) == 1
    assert sum(drawn) >= 100 * 3 and max(drawn) <= 2 * n
