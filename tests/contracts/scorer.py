"""Contract for recommender components (``ItemScorer`` over ``BaseRecommender``): dense float32
scores over the catalog (``-inf`` = no evidence), deterministic, ranked recommendations with one
reason each that honour filters and exclude-seen, and a save/load round trip where there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shelfwise.catalog import Catalog, Filters
from shelfwise.events import EventLog
from shelfwise.recommend import Context, Interactions, Recommender


class ScorerContract:
    """Subclasses implement :meth:`make` (an unfitted component) and, where the component keeps
    state on disk, :meth:`reload` (a second component given the first's saved state)."""

    persistent = True

    def make(self, catalog: Catalog) -> Any:
        raise NotImplementedError

    def reload(self, fitted: Any, catalog: Catalog, data: Interactions, path: Path) -> Any:
        fitted.save(path)
        back = self.make(catalog)
        back.attach(catalog, data.profiles)
        back.load_state(path)
        return back

    def fitted(self, catalog: Catalog, log: EventLog) -> tuple[Any, Interactions]:
        data = Interactions.from_log(log, catalog)
        model = self.make(catalog)
        model.fit(data)
        return model, data

    def context(self, catalog: Catalog) -> Context:
        return Context.of([catalog.row("p1"), catalog.row("p3")], user="u1")

    def test_scores_are_dense_float32(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        model, _ = self.fitted(tiny_catalog, tiny_log)
        assert isinstance(model, Recommender) and isinstance(model.name, str)
        for s in (model.score(self.context(tiny_catalog)), model.score_item(tiny_catalog.row("p1"))):
            assert s.shape == (len(tiny_catalog),) and s.dtype == np.float32
            assert not np.isnan(s).any() and not np.isposinf(s).any()

    def test_scores_are_deterministic(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        a, _ = self.fitted(tiny_catalog, tiny_log)
        b, _ = self.fitted(tiny_catalog, tiny_log)
        ctx = self.context(tiny_catalog)
        np.testing.assert_array_equal(a.score(ctx), a.score(ctx))
        np.testing.assert_allclose(a.score(ctx), b.score(ctx), rtol=1e-5)

    def test_score_returns_a_new_array(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        """The hybrid writes into a component's scores (seen items under exclude_seen)."""
        model, _ = self.fitted(tiny_catalog, tiny_log)
        ctx = self.context(tiny_catalog)
        first = model.score(ctx)
        want = first.copy()
        first[:] = 123.0
        np.testing.assert_array_equal(model.score(ctx), want)

    def test_recommend_ranks_filters_and_explains(self, tiny_catalog: Catalog, tiny_log: EventLog) -> None:
        model, _ = self.fitted(tiny_catalog, tiny_log)
        ctx = self.context(tiny_catalog)
        rec = model.recommend(ctx, k=4)
        assert len(rec) <= 4 and len(set(rec.ids.tolist())) == len(rec)
        assert (np.diff(rec.scores) <= 0).all() and np.isfinite(rec.scores).all()
        assert all(isinstance(r, str) for r in rec.reasons)
        assert not set(rec.ids.tolist()) & set(ctx.items.tolist())  # exclude_seen by default
        men = tiny_catalog.category_mask(("Men",))
        assert men[model.recommend(ctx, k=10, filters=Filters(category=("Men",))).ids].all()
        sim = model.similar(tiny_catalog.row("p1"), k=3)
        assert tiny_catalog.row("p1") not in sim.ids.tolist() and len(sim) <= 3

    def test_save_load_round_trip(self, tiny_catalog: Catalog, tiny_log: EventLog, tmp_path: Path) -> None:
        if not self.persistent:
            return
        model, data = self.fitted(tiny_catalog, tiny_log)
        back = self.reload(model, tiny_catalog, data, tmp_path / "state")
        ctx = self.context(tiny_catalog)
        np.testing.assert_allclose(back.score(ctx), model.score(ctx), rtol=1e-5)
        np.testing.assert_allclose(back.score_item(0), model.score_item(0), rtol=1e-5)
