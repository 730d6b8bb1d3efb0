"""The evaluation report of any store's shelf (``shelfwise report``; the demo reuses its sections).

Sections, each present when its inputs are:

* store: what the shelf holds (products, prices, images, events, encoder, search settings);
* searches (behaviour events): top searches, searches no product holds a word of, searches never
  followed by a click (:mod:`shelfwise.eval.searches`);
* search (judged queries): Shelfwise's modes next to the plain ``bm25s`` peer
  (:mod:`shelfwise.eval.peers`) in the same run, with and without the index's reranker;
* recommendations (behaviour events): popularity vs the hybrid on a time split (each shopper's last
  session held out, :func:`shelfwise.recommend.evaluate.holdout_report`); when no shopper has two
  sessions the report says so and gives catalogue-level figures of every shopper's top ``k``;
* exposure: how evenly search and recommendation lists spread attention (position-weighted
  exposure, Gini, Lorenz curves), the long tail (exposure by popularity decile), intra-list
  diversity, and fairness of exposure across categories and brands (share of exposure next to share
  of the catalog);
* data valuation: the summary of a ``shelfwise value`` folder.

Search exposure is measured on the judged queries, or, without them, on probe queries made of the
catalog's own category names (said so in the report).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shelfwise.eval.exposure import exposure, gini, group_shares, lorenz, popularity_deciles
from shelfwise.eval.judgments import (
    Judgments,
    SearchMetrics,
    evaluate_search,
    no_interval_note,
    paired_ratio_interval,
)
from shelfwise.eval.metrics import coverage, intra_list_diversity, long_tail_share
from shelfwise.eval.report import Section, bar_chart, pyplot, render_html
from shelfwise.eval.searches import held_by_catalog, search_analytics, searches_section
from shelfwise.recommend.autotune import TuningReport
from shelfwise.recommend.hybrid_config import HybridConfig
from shelfwise.recommend.retune import SEARCHED, configured
from shelfwise.shelf import Shelf
from shelfwise.valuation.summary import ValuationSummary, load_valuation

if TYPE_CHECKING:
    from shelfwise.recommend.hybrid import HybridRecommender

K = 10
MAX_USERS = 5000
TOP_GROUPS = 15


@dataclass
class StoreReport:
    """``sections`` render as HTML; ``figures`` is the same content as JSON-ready numbers."""

    title: str
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def html(self) -> str:
        return render_html(self.title, self.sections)

    def write(self, out: str | Path) -> Path:
        """Write the HTML report to ``out`` and its figures to ``out`` with a ``.json`` suffix."""
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        path.with_suffix(".json").write_text(json.dumps(self.figures, indent=1, default=float), encoding="utf-8")
        return path


def build_store_report(
    shelf: Shelf,
    plots: str | Path,
    *,
    judgments: Judgments | None = None,
    valuation: str | Path | None = None,
    valuation_summary: ValuationSummary | None = None,
    title: str = "Shelfwise evaluation report",
    k: int = K,
    max_users: int = MAX_USERS,
    seed: int = 0,
) -> StoreReport:
    """Evaluate ``shelf`` and assemble the report; PNG plots go to the folder ``plots``. ``valuation``:
    a ``shelfwise value`` folder (its summary and plots), ``valuation_summary`` its summary when the
    caller has already read it with :func:`load_valuation` (read here otherwise)."""
    plot_dir = Path(plots)
    plot_dir.mkdir(parents=True, exist_ok=True)
    report = StoreReport(title)
    store = store_facts(shelf)
    report.sections.append(Section("Store", ["what", "value"], [[a, b] for a, b in store.items()]))
    report.figures["store"] = store
    if shelf.events is not None:
        analytics = search_analytics(shelf.events, held_by_catalog(shelf.searcher))
        report.sections.append(searches_section(analytics))
        report.figures["searches"] = analytics.as_json()
    if judgments is not None:
        metrics = search_metrics(shelf, judgments)
        report.sections.append(search_section(metrics, plot_dir, len(judgments)))
        report.figures["search"] = {name: m.summary() for name, m in metrics.items()}
    section, rec_figures, rec_lists = recommendation_section(shelf, k, max_users, seed)
    report.sections.append(section)
    report.figures["recommend"] = rec_figures
    queries = list(judgments.queries.values()) if judgments is not None else probe_queries(shelf)
    probe = judgments is None
    sections, exp_figures = exposure_sections(shelf, queries, rec_lists, plot_dir, k, probe=probe)
    report.sections += sections
    report.figures["exposure"] = exp_figures
    if valuation is not None:
        folder = Path(valuation)
        summary = valuation_summary if valuation_summary is not None else load_valuation(folder)
        report.sections += valuation_sections(folder, summary)
        report.figures["valuation"] = {"folder": str(folder), **summary.as_json()}
    return report


# --- store ------------------------------------------------------------------------------------
def store_facts(shelf: Shelf) -> dict[str, Any]:
    cat, searcher = shelf.catalog, shelf.searcher
    n = len(cat)
    reranker = searcher.reranker
    events: int | str = len(shelf.events) if shelf.events is not None else 0
    if shelf.events is None and shelf.recommender is not None:  # a saved recommender: it had events, not 0
        events = "not loaded (the shelf's saved recommender; pass --events FILE for them)"
    return {
        "products": n,
        "top-level categories": len({p.category[:1] for p in cat.products if p.category}),
        "brands": len({p.brand.lower() for p in cat.products if p.brand}),
        "with a price": f"{int(np.isfinite(cat.price).sum())} ({np.isfinite(cat.price).mean():.0%})" if n else "0",
        "with an image": sum(1 for p in cat.products if p.image),
        "in stock": int(cat.in_stock.sum()),
        "behaviour events": events,
        "shoppers with history": len(_users(shelf)),
        "encoder": searcher.encoder.name,
        "multilingual vectors": searcher.multilingual.encoder.name if searcher.multilingual is not None else "none",
        "search": f"{searcher.config.fusion} fusion, dense weight {searcher.config.dense_weight}",
        "personal weight": searcher.config.personal_weight,
        "reranker": type(reranker).__name__ if reranker is not None else "none",
    }


# --- search -----------------------------------------------------------------------------------
def search_metrics(shelf: Shelf, judgments: Judgments) -> dict[str, SearchMetrics]:
    """Peers, then bm25 / dense / hybrid without the reranker, then hybrid with it (when the index has one)."""
    from shelfwise.eval.peers import build_peers
    from shelfwise.eval.tune import searcher_fn
    from shelfwise.index.language import detect_language
    from shelfwise.retrieve.search_config import MODES

    searcher, catalog = shelf.searcher, shelf.catalog
    language = searcher.language or detect_language(catalog.texts())
    names = ["bm25s", "bm25s-char"] if language.needs_multilingual else ["bm25s"]
    out = {f"peer:{name}": evaluate_search(fn, judgments) for name, fn in build_peers(names, catalog).items()}
    searcher.dense.prime([judgments.queries[q] for q in judgments.judged()])
    reranker, searcher.reranker = searcher.reranker, None
    try:
        for mode in MODES:
            out[mode] = evaluate_search(searcher_fn(searcher, mode=mode), judgments)
    finally:
        searcher.reranker = reranker
    if reranker is not None:
        out["hybrid + reranker"] = evaluate_search(searcher_fn(searcher, mode="hybrid"), judgments)
    return out


def search_section(metrics: Mapping[str, SearchMetrics], plots: Path, n_queries: int) -> Section:
    peers = [m for name, m in metrics.items() if name.startswith("peer:")]
    base = max(peers, key=lambda m: m.ndcg_at_10) if peers else None
    rows: list[list[object]] = []
    intervals = {name: paired_ratio_interval(m, base) for name, m in metrics.items() if base and m is not base}
    for name, m in metrics.items():
        ratio = m.ndcg_at_10 / base.ndcg_at_10 if base is not None and base.ndcg_at_10 > 0 else "-"
        lo, hi = intervals.get(name, (math.nan, math.nan))
        ci = f"[{lo:.3f}, {hi:.3f}]" if not math.isnan(lo) else "-"
        rows.append([name, m.ndcg_at_10, m.recall_at_100, m.mrr, ratio, ci, m.n_queries])
    chart = bar_chart(
        plots / "search_metrics.png",
        "Search on the judged queries",
        ["NDCG@10", "Recall@100", "MRR"],
        {name: [m.ndcg_at_10, m.recall_at_100, m.mrr] for name, m in metrics.items()},
    )
    notes = [
        f"{n_queries} judged queries; metrics average over those with a relevant item. 'peer:bm25s' is plain bm25s "
        "(English stop words, Snowball stemmer, default BM25) run in the same process; 'x peer' is NDCG@10 over the "
        "strongest peer's, with its 95% interval (paired bootstrap over the same queries, 1,000 resamples; one "
        "holding 1.000 is no measured difference).",
        "bm25 / dense / hybrid run without the index's reranker; 'hybrid + reranker' with it. A reranker trained on "
        "these same judgments is measured in-sample here: give held-out judgments for an honest figure.",
    ]
    base_name = next((name for name, m in metrics.items() if m is base), "the peer")
    gap = no_interval_note(base_name, intervals)
    notes += [gap] if gap else []
    header = ["system", "NDCG@10", "Recall@100", "MRR", "x peer", "95% CI", "queries"]
    return Section("Search", header, rows, notes, [chart])


# --- recommendations --------------------------------------------------------------------------
def _users(shelf: Shelf) -> list[str]:
    rec = shelf.recommender
    if rec is not None and rec.profiles is not None:
        return rec.profiles.users()
    return list(shelf.events.users) if shelf.events is not None else []


def recommendation_section(
    shelf: Shelf, k: int, max_users: int, seed: int
) -> tuple[Section, dict[str, Any], list[list[int]]]:
    """The time-split table (or why there is none) and every (sampled) shopper's top ``k`` lists."""
    rec = shelf.recommender
    if rec is None:
        note = "No behaviour events: pass --events FILE (or --recommender DIR) to evaluate recommendations."
        return Section("Recommendations", notes=[note]), {}, []
    figures: dict[str, Any] = {}
    notes: list[str] = []
    rows: list[list[object]] = []
    if shelf.events is not None:
        from shelfwise.recommend.evaluate import MIN_EVAL_USERS, HoldoutConfig, holdout_run

        config, start = split_start(rec)
        try:
            # the served model's fit said its tuning verdict: this second fit's is not printed again
            setup = HoldoutConfig(k=k, quiet_tuning=True)
            run = holdout_run(shelf.catalog, shelf.events, rec.item_vectors, config, setup)
        except ValueError as exc:
            why = str(exc).rstrip(".")  # its own sentence ends with one
            notes.append(f"No time split: {why}. The figures below are catalogue-level, over every shopper's top {k}.")
        else:
            split = run.metrics
            weights = evaluated_weights(run.config, run.tuning)
            figures["time_split_weights"] = {"started_from": start, **weights}
            notes.append(weights_note(start, weights))
            for name, m in split.items():
                quality = [m.recall, m.ndcg, m.mrr, m.auc]
                rows.append([name, *quality, m.coverage, m.long_tail_share, m.cold_recall, m.diversity, m.users])
            figures["time_split"] = {name: m.as_dict() for name, m in split.items()}
            notes.append(
                f"Time split: each shopper's last session held out, popularity and the hybrid fitted on the rest, "
                "beside buy-again, each shopper's own most-used items (every event kind) then popular ones "
                f"(metrics at {k}; long tail = outside the top 20% of items by training popularity; cold = items "
                "with no training interaction)."
            )
            held = max((m.users for m in split.values()), default=0)
            if held < MIN_EVAL_USERS:  # as `recommend eval` says it
                notes.append(
                    f"Only {held} held-out shoppers (fewer than {MIN_EVAL_USERS}): too few to tell these rows apart "
                    "(bench/bench_sessions.py reports bootstrap intervals)."
                )
    else:
        notes.append("Recommender loaded from a saved folder without its events: no time split possible.")
    users = _users(shelf)
    if len(users) > max_users:
        users = sorted(random.Random(seed).sample(users, max_users))
        notes.append(f"Catalogue-level figures over a random sample of {max_users} shoppers (seed {seed}).")
    lists = [rec.recommend(u, k).ids.tolist() for u in users]
    pop = _popularity(shelf)
    figures["catalogue"] = {
        "shoppers": len(lists),
        "coverage": coverage(lists, len(shelf.catalog)),
        "long_tail_share": long_tail_share(lists, pop) if pop is not None else None,
        "intra_list_diversity": _diversity(lists, shelf.searcher.item_vectors),
    }
    header = ["model", f"Recall@{k}", f"NDCG@{k}", "MRR", f"AUC (top {k})", "coverage", "long-tail share"]
    header += ["cold recall", "ILD", "users"]
    catalogue = [[a.replace("_", " ").replace("long tail", "long-tail"), b] for a, b in figures["catalogue"].items()]
    catalogue = [row for row in catalogue if row[1] is not None]
    if rows:
        section = Section("Recommendations (time split)", header, rows, notes)
    else:
        section = Section(f"Recommendations (every shopper's top {k})", ["figure", "value"], catalogue, notes)
    return section, figures, lists


def split_start(rec: HybridRecommender) -> tuple[HybridConfig, str]:
    """The config the time split's hybrid fits with, and where its weights come from, in words.
    Weights the served fit searched on this whole log saw the held-out last sessions: the split's
    fit starts from what the store configured (opt-in components, its own between-sessions weights
    included) and searches those parts again on its training rows; weights no search chose are the
    served ones."""
    if rec.tuning.status not in SEARCHED:
        return rec.config, "the served weights (no search chose them)"
    start = configured(rec.config, rec.tuning)
    if start is not None:
        return start, "the store's configured weights, the searched ones searched again on the training rows"
    return rec.config.untuned(), (
        "the default weights, searched again on the training rows (the served recommender was saved before "
        "shelfwise recorded the configured ones: refit it to evaluate those)"
    )


def evaluated_weights(config: HybridConfig, tuning: TuningReport) -> dict[str, Any]:
    """The split fit's personal-list fusions (positive weights, tail penalty), the "baskets" group size
    they read (None: the component's default) and its search's verdict; ``between sessions`` ranked the
    split's lists (each asked for the history alone, repeats counted). The related-items weights rank
    no personal list: not evaluated, not given."""
    sets = {
        "between sessions": config.fusion(False, live=False),
        "between sessions, new items": config.fusion(True, live=False),
        "in session": config.fusion(False),
        "in session, new items": config.fusion(True),
    }
    fusions = {
        name: {"weights": {n: w for n, w in ws.items() if w > 0}, "penalty": p} for name, (ws, p) in sets.items()
    }
    return {
        "fusions": fusions,
        "basket_group_size": config.basket_group_size,
        "search": tuning.status,
        "reason": tuning.reason,
    }


def weights_note(start: str, weights: dict[str, Any]) -> str:
    """The time split's hybrid weights (:func:`evaluated_weights`) in words: where they started and
    what its lists fused."""
    fusions = weights["fusions"]

    def said(name: str) -> str:
        f = fusions[name]
        pen = f" (tail penalty {f['penalty']:g})" if f["penalty"] > 0 else ""
        return ", ".join(f"{n} {w:g}" for n, w in f["weights"].items()) + pen

    return (
        f"Hybrid weights evaluated: {start} (the split fit's search: {weights['search']}). Its lists, each asked for "
        f"the history alone, fused the between-sessions weights: {said('between sessions')}; in session: "
        f"{said('in session')} (every set in the JSON file's time_split_weights)."
    )


def _popularity(shelf: Shelf) -> npt.NDArray[np.float64] | None:
    ev = shelf.events
    if ev is None:
        return None
    return np.bincount(ev.item[ev.item >= 0], minlength=len(shelf.catalog)).astype(np.float64)


def _diversity(lists: Sequence[Sequence[int]], vectors: npt.NDArray[np.float32]) -> float:
    vals = [intra_list_diversity(lst, vectors) for lst in lists if len(lst) > 1]
    return float(np.mean(vals)) if vals else 0.0


# --- exposure, long tail, fairness ------------------------------------------------------------
def probe_queries(shelf: Shelf, limit: int = 300) -> list[str]:
    """Every distinct category name of the catalog (any level), as queries."""
    names = dict.fromkeys(c.lower() for p in shelf.catalog.products for c in p.category if c.strip())
    return sorted(names)[:limit]


def exposure_sections(
    shelf: Shelf,
    queries: Sequence[str],
    rec_lists: Sequence[Sequence[int]],
    plots: Path,
    k: int = K,
    *,
    probe: bool = False,
) -> tuple[list[Section], dict[str, Any]]:
    """Exposure / long tail / diversity / fairness sections for search over ``queries`` and the
    recommendation lists ``rec_lists``; also their figures."""
    catalog, searcher = shelf.catalog, shelf.searcher
    n = len(catalog)
    if queries:
        searcher.dense.prime(list(queries))
    sources: dict[str, list[list[int]]] = {}
    if queries:
        sources["search"] = [searcher.search(q, k).ids.tolist() for q in queries]
    if rec_lists:
        sources["recommendations"] = [list(lst) for lst in rec_lists]
    if not sources:
        return [Section("Exposure", notes=["No queries and no recommendation lists to measure."])], {}
    pop = _popularity(shelf)
    exp = {name: exposure(lists, n, k) for name, lists in sources.items()}
    figures: dict[str, Any] = {}
    rows: list[list[object]] = []
    for name, lists in sources.items():
        f = {
            "lists": len(lists),
            "coverage": coverage(lists, n),
            "gini": gini(exp[name]),
            "long_tail_share": long_tail_share(lists, pop) if pop is not None else None,
            "intra_list_diversity": _diversity(lists, searcher.item_vectors),
        }
        figures[name] = f
        tail = f["long_tail_share"]
        rows.append(
            [name, f["lists"], f["coverage"], f["gini"], "-" if tail is None else tail, f["intra_list_diversity"]]
        )
    what = f"{len(queries)} probe queries (the catalog's category names)" if probe else f"{len(queries)} judged queries"
    notes = [
        f"Search: top {k} of {what}; recommendations: every shopper's top {k}. Exposure of an item = sum of "
        "1/log2(rank+1) over the lists it appears in (Singh & Joachims, 2018). Gini 0 = every product equally "
        "exposed, 1 = one product takes all attention (never-shown products count). Long tail = outside the top "
        "20% of products by behaviour events. ILD = mean pairwise cosine distance within a list (item vectors).",
    ]
    images = [_lorenz_plot(plots / "exposure_lorenz.png", exp)]
    if pop is not None:
        deciles = {name: popularity_deciles(pop, e) for name, e in exp.items()}
        figures["popularity_deciles"] = {name: d.tolist() for name, d in deciles.items()}
        images.append(_decile_plot(plots / "long_tail.png", pop, deciles))
    header = ["list source", "lists", "coverage", "Gini of exposure", "long-tail share", "intra-list diversity"]
    sections = [Section("Exposure, long tail and diversity", header, rows, notes, images)]
    fairness_sections, fairness = _fairness(shelf, exp, plots)
    figures["fairness"] = fairness
    return sections + fairness_sections, figures


def _fairness(
    shelf: Shelf, exp: Mapping[str, npt.NDArray[np.float64]], plots: Path
) -> tuple[list[Section], dict[str, Any]]:
    cat = shelf.catalog
    levels: list[tuple[str, list[str]]] = [("top-level category", [" > ".join(p.category[:1]) for p in cat.products])]
    if any(len(p.category) > 1 for p in cat.products):
        levels.append(("second-level category", [" > ".join(p.category[:2]) for p in cat.products]))
    if len({p.brand.lower() for p in cat.products if p.brand}) > 1:
        levels.append(("brand", [p.brand for p in cat.products]))
    sections: list[Section] = []
    figures: dict[str, Any] = {}
    for label, groups in levels:
        shares = {name: {s.group: s for s in group_shares(groups, e)} for name, e in exp.items()}
        first = next(iter(shares.values()))
        order = list(first)[:TOP_GROUPS]
        header = ["group", "products", "catalog share"]
        for name in shares:
            header += [f"{name} exposure share", f"{name} ratio"]
        rows: list[list[object]] = []
        for g in order:
            row: list[object] = [g, first[g].items, first[g].catalog_share]
            for per in shares.values():
                row += [per[g].exposure_share, per[g].ratio]
            rows.append(row)
        figures[label] = [
            {"group": g, "items": first[g].items, "catalog_share": first[g].catalog_share}
            | {f"{name}_share": per[g].exposure_share for name, per in shares.items()}
            for g in first
        ]
        note = (
            f"Share of exposure next to share of the catalog per {label} (ratio 1 = attention in proportion to size; "
            f"below 1 = under-exposed)."
            + (
                f" Largest {TOP_GROUPS} of {len(first)} groups shown; all in the JSON file."
                if len(first) > TOP_GROUPS
                else ""
            )
        )
        slug = label.replace(" ", "_").replace("-", "_")
        img = _share_plot(plots / f"fairness_{slug}.png", label, order, first, shares)
        sections.append(Section(f"Fairness of exposure by {label}", header, rows, [note], [img]))
    return sections, figures


# --- valuation --------------------------------------------------------------------------------
def valuation_sections(folder: Path, summary: ValuationSummary) -> list[Section]:
    """The report's sections of the valuation ``summary`` read from ``folder`` (with its plots)."""
    rows = [[key, v] for key, v in summary.metrics.items()]
    images = sorted(folder.glob("distribution.png")) + sorted(folder.glob("removal_*.png"))
    # `shelfwise value` titles start with "Data valuation: ..." already; others get the prefix
    title = summary.title if summary.title.lower().startswith("data valuation") else f"Data valuation: {summary.title}"
    out = [Section(title, ["figure", "value"], rows, list(summary.notes), images)]
    for key, v in summary.values.items():
        head = [[name, value, size] for name, value, size in v.most_valuable[:10]]
        tail = [[name, value, size] for name, value, size in v.least_valuable[:10]]
        note = f"{v.method} by {v.grain}: {v.players} players; least valuable first below."
        out.append(Section(f"Most valuable: {key}", ["name", "value", "size"], head, [note]))
        out.append(Section(f"Least valuable: {key}", ["name", "value", "size"], tail))
    return out


# --- plots ------------------------------------------------------------------------------------
def _lorenz_plot(path: Path, exp: Mapping[str, npt.NDArray[np.float64]]) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label="equal exposure")
    for name, e in exp.items():
        x, y = lorenz(e)
        ax.plot(x, y, lw=1.6, label=f"{name} (Gini {gini(e):.2f})")
    ax.set_xlabel("share of products (least exposed first)")
    ax.set_ylabel("share of exposure")
    ax.set_title("Exposure concentration (Lorenz curves)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return _save(plt, fig, path)


def _decile_plot(path: Path, pop: npt.NDArray[np.float64], deciles: Mapping[str, npt.NDArray[np.float64]]) -> Path:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    ranked = np.sort(pop)[::-1]
    left.plot(np.arange(1, ranked.size + 1), ranked + 1, color="#4472c4")
    left.set_yscale("log")
    head = max(1, int(np.ceil(0.2 * ranked.size)))
    left.axvspan(1, head, color="#f4b183", alpha=0.35, label="head (top 20%)")
    left.set_xlabel("product rank by behaviour events")
    left.set_ylabel("events + 1 (log)")
    left.set_title("Popularity long tail", fontsize=10)
    left.legend(fontsize=8)
    bins = len(next(iter(deciles.values())))
    width = 0.8 / (len(deciles) + 1)
    xs = np.arange(bins)
    right.bar(xs, np.full(bins, 1.0 / bins), width, color="#bbb", label="catalog")
    for i, (name, d) in enumerate(deciles.items(), start=1):
        right.bar(xs + i * width, d, width, label=name)
    right.set_xticks(xs + width * len(deciles) / 2, [f"{10 * (j + 1)}%" for j in range(bins)], fontsize=7)
    right.set_xlabel("popularity decile (most popular first)")
    right.set_ylabel("share of exposure")
    right.set_title("Exposure by popularity decile", fontsize=10)
    right.legend(fontsize=8)
    return _save(plt, fig, path)


def _share_plot(
    path: Path, label: str, order: Sequence[str], first: Mapping[str, Any], shares: Mapping[str, Any]
) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 0.35 * len(order) + 1.4))
    ys = np.arange(len(order))
    height = 0.8 / (len(shares) + 1)
    ax.barh(ys, [first[g].catalog_share for g in order], height, color="#bbb", label="catalog")
    for i, (name, per) in enumerate(shares.items(), start=1):
        ax.barh(ys + i * height, [per[g].exposure_share for g in order], height, label=f"{name} exposure")
    ax.set_yticks(ys + height * len(shares) / 2, [g[:40] for g in order], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share")
    ax.set_title(f"Share of catalog vs share of exposure, by {label}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
