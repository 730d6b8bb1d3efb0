"""Interaction valuation on a handful of shoppers says its values rest on that many baskets."""

from __future__ import annotations

import pytest

from shelfwise.catalog import Catalog
from shelfwise.cli.value_cmd import _print
from shelfwise.events import Event, EventLog, EventType
from shelfwise.valuation.montecarlo import TMCConfig
from shelfwise.valuation.pipeline import value_interactions


def _three_sessions(user: str, items: list[str], t0: float) -> list[Event]:
    """Three one-hour-apart baskets of the same two items (the last one is the test basket)."""
    return [
        Event(user, EventType.PURCHASE, t0 + s * 3600.0 + j, item, session_id=f"{user}-{s}")
        for s in range(3)
        for j, item in enumerate(items)
    ]


def test_few_validation_users_are_named_in_the_notes_and_printed(
    tiny_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    events = _three_sessions("a", ["p1", "p2"], 0.0) + _three_sessions("b", ["p5", "p6"], 100.0)
    log = EventLog.from_events(events, tiny_catalog)
    said: list[str] = []
    rep = value_interactions(tiny_catalog, log, tmc=TMCConfig(max_permutations=4), progress=said.append)
    note = "only 2 validation users (with 3+ sessions) and 2 test users (2+), fewer than 100: these values"
    assert any(note in n for n in rep.notes)
    assert any(line.startswith("note: ") and note in line for line in said)
    _print(rep.summary())
    assert f"note: {note}" in capsys.readouterr().out


def test_a_log_whose_model_scores_zero_says_no_group_can_be_told_apart(tiny_catalog: Catalog) -> None:
    """Every group value printed +0.00000 and 'most valuable: Sport' still came out, with no word why."""
    # each basket holds items no earlier basket shared: co-occurrence reaches none of the next one's
    events = [
        Event(u, EventType.PURCHASE, t0 + s * 3600.0, item, session_id=f"{u}-{s}")
        for u, t0, items in (("a", 0.0, ["p1", "p5", "p9"]), ("b", 100.0, ["p2", "p6", "p10"]))
        for s, item in enumerate(items)
    ]
    log = EventLog.from_events(events, tiny_catalog)
    said: list[str] = []
    rep = value_interactions(tiny_catalog, log, tmc=TMCConfig(max_permutations=4), progress=said.append)
    assert rep.metrics["utility_all_data"] == 0.0
    assert any("so every value below is 0 and no group can be told apart" in n for n in rep.notes)
    first = "note: with all the data the co-occurrence recommender scores NDCG@10 0"
    assert any(line.startswith(first) for line in said)
    busy = _three_sessions("a", ["p1", "p2"], 0.0) + _three_sessions("b", ["p5", "p6"], 100.0)
    rep = value_interactions(tiny_catalog, EventLog.from_events(busy, tiny_catalog), tmc=TMCConfig(max_permutations=4))
    assert rep.metrics["utility_all_data"] > 0 and not any("told apart" in n for n in rep.notes)


def test_the_notes_say_which_groups_to_collect_more_of() -> None:
    """The valuation named values but not what to collect next (the brief: "to guide what to collect")."""
    import numpy as np

    from shelfwise.valuation.base import Values
    from shelfwise.valuation.pipeline import collect_next

    values = Values(
        "tmc-shapley", "group", ("Shoes", "Bags", "Hats", "Socks"), np.array([0.02, 0.06, -0.01, 0.0]),
        sizes=np.array([10, 200, 5, 7]),
    )  # fmt: skip
    said = collect_next(values, "category")
    assert said.startswith(
        "collect next, by category: more interactions like those of Shoes (+2.00e-03 an interaction)"
    )
    assert said.index("Shoes") < said.index("Bags")  # per interaction, not in total: Bags' 0.06 is over 200
    assert "; Hats lowered it (check those before collecting more)" in said and "Socks" not in said
    assert collect_next(Values("tmc-shapley", "group", ("A",), np.array([0.0]), sizes=np.array([3])), "x") == ""


def test_collect_next_names_no_group_whose_sign_is_within_the_monte_carlo_noise() -> None:
    """A TMC estimate of +0.01 +/- 0.03 does not say more of that group raises the score (nor -0.01
    that it lowered it): only values beyond 2 standard errors of zero are named."""
    import numpy as np

    from shelfwise.valuation.base import Values
    from shelfwise.valuation.pipeline import collect_next

    values = Values(
        "tmc-shapley", "group", ("Shoes", "Bags", "Hats", "Socks"), np.array([0.05, 0.01, -0.01, -0.05]),
        stderr=np.array([0.01, 0.03, 0.03, 0.01]), sizes=np.array([10, 1, 1, 10]),
    )  # fmt: skip
    said = collect_next(values, "category")
    assert "Shoes" in said and "Socks lowered it" in said
    assert "Bags" not in said and "Hats" not in said
    noisy = Values("tmc-shapley", "group", ("A", "B"), np.array([0.01, -0.01]), stderr=np.array([0.02, 0.02]))
    assert collect_next(noisy, "x") == ""
