"""A saved exploration-slot explorer keeps its settings, the relevance gate included (docs/features.md:
``SlotConfig(candidates=N)``, "kept in a saved explorer")."""

from __future__ import annotations

from pathlib import Path

from shelfwise.bandit import BernoulliTS, SlotConfig, SlotExplorer, ThompsonConfig
from shelfwise.catalog import Catalog
from shelfwise.snapshot.livestate import load_bandit, save_bandit


def test_a_saved_explorer_keeps_its_relevance_gate(tmp_path: Path, tiny_catalog: Catalog) -> None:
    config = SlotConfig(explore_share=0.3, candidates=7)
    ex = SlotExplorer(tiny_catalog, BernoulliTS(len(tiny_catalog), ThompsonConfig(seed=1)), config)
    save_bandit(ex, tmp_path / "bandit")
    back = load_bandit(tmp_path / "bandit", tiny_catalog)
    assert back.config == config and back.config.candidates == 7
