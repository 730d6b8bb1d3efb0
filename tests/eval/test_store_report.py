"""Exposure measures and the store evaluation report on the tiny made-up catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from shelfwise.catalog import Catalog
from shelfwise.eval.exposure import exposure, gini, group_shares, lorenz, popularity_deciles, position_weights
from shelfwise.eval.judgments import Judgments
from shelfwise.eval.store_report import build_store_report, probe_queries
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend.hybrid import build_recommender
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf
from shelfwise.valuation import Values
from shelfwise.valuation.report import SUMMARY_FILE, ValuationReport
from shelfwise.valuation.summary import load_valuation


def test_gini_and_lorenz() -> None:
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0) and gini([0, 0, 0]) == 0.0
    assert gini([0, 0, 0, 5]) == pytest.approx(0.75)  # (n - 1) / n: one item takes all
    x, y = lorenz([0, 0, 0, 5])
    assert x.tolist() == [0, 0.25, 0.5, 0.75, 1.0] and y.tolist() == [0, 0, 0, 0, 1.0]


def test_exposure_and_group_shares() -> None:
    w = position_weights(3)
    assert w[0] == 1.0 and w[1] == pytest.approx(1 / np.log2(3))
    e = exposure([[0, 1], [0, 2]], 4, k=2)
    assert e.tolist() == pytest.approx([2.0, w[1], w[1], 0.0])
    assert exposure([[0, 1]], 3, k=2, weighted=False).tolist() == [1.0, 1.0, 0.0]
    shares = {s.group: s for s in group_shares(["a", "a", "b", ""], e)}
    assert shares["a"].catalog_share == 0.5 and shares["(none)"].exposure_share == 0.0
    assert sum(s.exposure_share for s in shares.values()) == pytest.approx(1.0)
    assert shares["a"].ratio > 1 > shares["b"].ratio
    d = popularity_deciles([5, 4, 0, 0], e, bins=2)
    assert d.sum() == pytest.approx(1.0) and d[0] > d[1]


def _shelf(catalog: Catalog, searcher: HybridSearcher, sessions: int) -> Shelf:
    """Shoppers with ``sessions`` sessions each (two allow a time split)."""
    taste = {"u1": ["p1", "p3", "p2", "p4"], "u2": ["p5", "p6", "p12", "p7"], "u3": ["p9", "p10", "p8", "p9"]}
    events = [
        Event(
            user_id=u,
            item_id=i,
            type=EventType.PURCHASE,
            timestamp=float(10 * j),
            session_id=f"{u}-{j * sessions // 4}",
        )
        for u, items in taste.items()
        for j, i in enumerate(items)
    ]
    log = EventLog.from_events(events, catalog)
    rec = build_recommender(catalog, log, searcher.item_vectors)
    return Shelf(catalog=catalog, searcher=searcher, events=log, recommender=rec, user_profiles=rec.profiles)


def test_store_report_with_judgments_and_time_split(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    judged = Judgments(
        {"a": "black trousers", "b": "dress"}, {"a": {"p1": 2.0, "p11": 1.0}, "b": {"p5": 1.0, "p6": 1.0}}
    )
    shelf = _shelf(tiny_catalog, tiny_searcher, sessions=2)
    report = build_store_report(shelf, tmp_path / "plots", judgments=judged, k=5)
    f = report.figures
    assert {"peer:bm25s", "bm25", "dense", "hybrid"} <= set(f["search"])
    assert set(f["recommend"]["time_split"]) == {"popularity", "buy-again", "hybrid"}
    assert f["recommend"]["catalogue"]["shoppers"] == 3
    assert {"search", "recommendations"} <= set(f["exposure"])
    assert 0.0 <= f["exposure"]["search"]["gini"] <= 1.0 and f["exposure"]["search"]["lists"] == 2
    fair = f["exposure"]["fairness"]["top-level category"]
    assert {g["group"] for g in fair} == {"Men", "Women", "Kids", "Sport"}
    assert sum(g["recommendations_share"] for g in fair) == pytest.approx(1.0)
    assert "brand" in f["exposure"]["fairness"]  # the tiny catalog has brands
    out = report.write(tmp_path / "r.html")
    html = out.read_text()
    assert "peer:bm25s" in html and "Fairness of exposure by brand" in html and html.count("data:image/png") >= 5
    assert "95% CI" in html and "paired bootstrap over the same queries" in html  # is 'x peer' a difference?
    assert re.search(r"<td>hybrid</td>.*?<td>\[\d\.\d{3}, \d\.\d{3}\]</td>", html, re.S)
    held = int(f["recommend"]["time_split"]["hybrid"]["users"])
    assert f"Only {held} held-out shoppers (fewer than 100): too few to tell these rows apart" in html  # as eval says
    assert (tmp_path / "r.json").is_file() and (tmp_path / "plots" / "exposure_lorenz.png").is_file()


def test_store_report_without_judgments_or_time_split(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    shelf = _shelf(tiny_catalog, tiny_searcher, sessions=1)
    report = build_store_report(shelf, tmp_path / "plots")
    assert "search" not in report.figures and "time_split" not in report.figures["recommend"]
    html = report.html()
    assert "No time split" in html and "probe queries" in html and ".." not in html.split("No time split")[1][:400]
    assert report.figures["exposure"]["search"]["lists"] == len(probe_queries(shelf))
    bare = build_store_report(Shelf(catalog=tiny_catalog, searcher=tiny_searcher), tmp_path / "p2")
    assert "pass --events FILE" in bare.html() and "recommendations" not in bare.figures["exposure"]


def test_store_report_carries_the_valuation_summary(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher
) -> None:
    val = ValuationReport("labels by brand", metrics={"noise precision": 0.75}, notes=["made up"])
    val.values["brands: loo"] = Values("loo", "group", ("Acme", "Flora", "Nordic"), np.array([0.2, 0.0, -0.4]))
    val.write(tmp_path / "val")
    report = build_store_report(
        Shelf(catalog=tiny_catalog, searcher=tiny_searcher), tmp_path / "p", valuation=tmp_path / "val"
    )
    figures = json.loads(report.write(tmp_path / "r.html").with_suffix(".json").read_text())["valuation"]
    assert figures["title"] == "labels by brand" and figures["metrics"] == {"noise precision": 0.75}
    assert figures["notes"] == ["made up"] and figures["folder"] == str(tmp_path / "val")
    assert [row[0] for row in figures["values"]["brands: loo"]["least_valuable"]] == ["Nordic", "Flora", "Acme"]
    assert "Most valuable: brands: loo" in report.html() and "<h2>Data valuation: labels by brand</h2>" in report.html()
    (tmp_path / "val" / SUMMARY_FILE).write_text('{"title": "half a summary"}')
    with pytest.raises(ValueError, match=f"{SUMMARY_FILE}: not a valuation summary: values: missing"):
        load_valuation(tmp_path / "val")
    # a summary already read is used as given, the file not read again (the CLI reads it once, up front)
    again = build_store_report(
        Shelf(catalog=tiny_catalog, searcher=tiny_searcher),
        tmp_path / "p3",
        valuation=tmp_path / "val",
        valuation_summary=val.summary(),
    )
    assert again.figures["valuation"]["title"] == "labels by brand" and "Most valuable: brands: loo" in again.html()


def test_bar_chart_legend_does_not_cover_bars(tmp_path: Path) -> None:
    """The legend sits right of the axes (inside, at the lower right, it hid the MRR bars near 1)."""
    from shelfwise.eval.report import bar_chart, bar_figure, pyplot

    series = {"bm25": [0.8, 0.4, 1.0], "dense": [0.9, 0.5, 1.0], "hybrid + LTR rerank": [0.85, 0.5, 0.98]}
    fig = bar_figure("search", ["NDCG@10", "Recall@100", "MRR"], series)
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax.patches]
    assert len(bars) == 9 and not any(legend.overlaps(b) for b in bars)
    assert legend.x0 >= ax.get_window_extent().x1
    pyplot().close(fig)
    png = bar_chart(tmp_path / "chart.png", "search", ["NDCG@10", "Recall@100", "MRR"], series)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_store_facts_do_not_call_a_saved_recommenders_events_zero(
    tmp_path: Path, tiny_catalog: Catalog, tiny_searcher: HybridSearcher, tiny_log: EventLog
) -> None:
    """A shelf served from its saved recommender has shoppers with history but no event log loaded: the
    report said "behaviour events 0" beside "shoppers with history 2954" (the H&M demo shelf)."""
    from shelfwise.eval.store_report import store_facts, valuation_sections
    from shelfwise.valuation.summary import ValuationSummary

    rec = build_recommender(tiny_catalog, tiny_log, tiny_searcher.item_vectors)
    saved = store_facts(Shelf(catalog=tiny_catalog, searcher=tiny_searcher, recommender=rec))
    assert saved["behaviour events"].startswith("not loaded") and saved["shoppers with history"] == 4
    with_log = store_facts(Shelf(catalog=tiny_catalog, searcher=tiny_searcher, events=tiny_log, recommender=rec))
    assert with_log["behaviour events"] == len(tiny_log)
    assert store_facts(Shelf(catalog=tiny_catalog, searcher=tiny_searcher))["behaviour events"] == 0
    # `shelfwise value` titles already say "Data valuation: ...": not "Data valuation: Data valuation: ..."
    titled = valuation_sections(tmp_path, ValuationSummary("Data valuation: labelled texts"))
    assert titled[0].title == "Data valuation: labelled texts"


def test_chinese_plot_labels_use_an_installed_cjk_font(tmp_path: Path) -> None:
    """A Chinese store's category and brand names in the fairness plots: drawn with a CJK font where
    one is installed (the default DejaVu Sans has none: boxes, and one warning per character)."""
    import warnings

    from matplotlib import font_manager

    from shelfwise.eval.report import CJK_FONTS, bar_chart

    if not {f.name for f in font_manager.fontManager.ttflist} & set(CJK_FONTS):
        pytest.skip("no CJK font installed on this machine")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bar_chart(tmp_path / "zh.png", "类目", ["服装", "家居"], {"搜索": [0.4, 0.6]})
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
