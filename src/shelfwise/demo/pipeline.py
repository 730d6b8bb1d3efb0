"""The store demo on the bundled real H&M data: load, index, evaluate, report.

Steps (each with a progress bar or a one-line log):
1. load catalog + purchase events with row-level validation; the H&M articles table has no price,
   so each article gets the median price of its sales in the real transactions (real data, in the
   dataset's own scaled units, not a currency), which the storefront's price facets show;
2. embed products (cached) and build BM25 + vector indexes; fit the recommenders; the whole shelf
   (catalog, indexes, reranker, recommender) is saved to ``<out>/index`` (``serve --shelf``);
3. build the attribute-derived judged query set (a synthetic, secondary check: the search
   defaults were chosen on real shopper queries, see bench/bench_search_real.py), split it 50/50
   by query into dev/test, train the reranker on dev, and report bm25 / dense / hybrid on test;
4. write ``<out>/search_eval.json`` and ``<out>/report.md``.
Serving is the caller's job (``shelfwise demo`` serves unless ``--no-serve``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from shelfwise.catalog.loader import ProductFields, load_catalog
from shelfwise.catalog.schema import Catalog
from shelfwise.errors import RowError, counted
from shelfwise.eval.judgments import attribute_judgments, evaluate_search
from shelfwise.eval.metrics import coverage, intra_list_diversity, long_tail_share
from shelfwise.eval.report import Section, bar_chart, render_html
from shelfwise.eval.store_report import exposure_sections
from shelfwise.eval.tune import searcher_fn
from shelfwise.events.loader import EventFields, load_events
from shelfwise.events.schema import EventLog
from shelfwise.rank.ltr import fit_reranker
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.shelf import Shelf
from shelfwise.snapshot.build import ShelfConfig, build_search, fit_recommendations, item_counts

DATA = Path(__file__).resolve().parents[3] / "data" / "hm"


@dataclass(frozen=True)
class DemoConfig:
    data_dir: Path = DATA
    out_dir: Path = Path("runs/demo")
    encoder: str = "auto"  # picked by the catalog's language, as `shelfwise index` does
    multilingual: str | None = "e5-onnx"  # second dense index for Chinese queries if the main encoder is English-only
    cache: Path | None = Path(".shelfwise/cache/embeddings.sqlite")
    judged_attribute: str = "colour_group_name"
    bench_dir: Path = DATA.parents[1] / "bench" / "results"
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.data_dir / "articles.parquet").exists():
            raise FileNotFoundError(f"{self.data_dir}/articles.parquet: demo data not found")


@dataclass
class DemoResult:
    shelf: Shelf
    metrics: dict[str, dict[str, float]]
    recommend_metrics: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Log = Callable[[str], None]


def run_demo(config: DemoConfig, log: Log = print) -> DemoResult:
    timings: dict[str, float] = {}
    notes: list[str] = []
    config.out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cl = load_catalog(
        config.data_dir / "articles.parquet", ProductFields.from_json(config.data_dir / "catalog_fields.json")
    )
    catalog, priced = attach_sale_prices(cl.catalog, config.data_dir / "transactions.parquet")
    el = load_events(
        config.data_dir / "transactions.parquet",
        EventFields.from_json(config.data_dir / "event_fields.json"),
        catalog=catalog,
    )
    events = EventLog.from_events(el.events, catalog)
    log(
        f"catalog: {len(catalog)} products ({len(cl.errors)} bad rows); "
        f"events: {len(events)} ({len(el.errors)} bad rows)"
    )
    for e in (cl.errors + el.errors)[:5]:
        log(f"  {e}")
    say_warnings(log, config.data_dir / "articles.parquet", cl.warnings, "row")
    say_warnings(log, config.data_dir / "transactions.parquet", el.warnings, "event")
    log(f"prices: {priced} of {len(catalog)} articles get the median price of their sales (H&M's scaled units)")
    timings["load_s"] = time.perf_counter() - t0

    # a second, multilingual index only when the main encoder is English-only
    build = ShelfConfig(
        encoder=config.encoder, multilingual=config.multilingual, auto_multilingual=True, cache=config.cache
    )
    shelf = build_search(catalog, build, log)
    searcher = shelf.searcher
    timings.update(shelf.timings)

    t0 = time.perf_counter()
    judged = attribute_judgments(catalog, config.judged_attribute, seed=config.seed)
    dev, test = judged.split(0.5, seed=config.seed)
    judged.save(config.out_dir / "judged_queries.parquet", config.out_dir / "judged_judgments.parquet")
    log(f"search defaults: {searcher.config.fusion} fusion, dense weight {searcher.config.dense_weight}")
    metrics: dict[str, dict[str, float]] = {}
    for mode in ("bm25", "dense", "hybrid"):
        metrics[mode] = evaluate_search(searcher_fn(searcher, mode=mode), test).summary()
    reranker = fit_reranker(searcher, dev.queries, dev.relevance, popularity=item_counts(events, len(catalog)))
    searcher.reranker = reranker
    metrics["hybrid + LTR rerank"] = evaluate_search(searcher_fn(searcher, mode="hybrid"), test).summary()
    log("trained the learning-to-rank reranker on the dev queries")
    timings["eval_s"] = time.perf_counter() - t0
    notes.append(
        f"Judged set: {len(judged)} attribute-derived queries '<colour> <product type>' over the real H&M catalog "
        "(grade 2 = type and colour match, 1 = type only); the reranker is trained on half, all figures are on "
        "the other half. Not real shopper queries: the search defaults come from real queries "
        "(bench/bench_search_real.py); this set is a secondary, synthetic check. The reranker's field-match "
        "features read the same catalog fields the queries are built from, so its gain here is optimistic."
    )
    fit_recommendations(shelf, events, build, log)
    rec = shelf.recommender
    assert rec is not None
    timings["recommender_fit_s"] = shelf.timings["recommender_fit_s"]
    rec_metrics, rec_lists = _rec_catalogue_metrics(rec, events, len(catalog))
    rec_note = (
        "Recommendation figures here are catalogue-level (coverage, long-tail share, diversity of every buyer's "
        "top 10): the H&M sample is one day, so no time split is possible; ranking accuracy on a time split is "
        "measured on Instacart by bench/bench_recommend.py."
    )
    # /search?user=... blends in the buyer's taste vector (ShelfConfig.personal_weight, 0.1): a
    # gentle weight, since no logged query+user data exists here to tune it on.
    t0 = time.perf_counter()
    shelf.save(config.out_dir / "index")  # one artefact: `shelfwise serve --shelf` serves search and recommendations
    timings["shelf_save_s"] = time.perf_counter() - t0
    exposure, _ = exposure_sections(
        shelf, list(test.queries.values()), rec_lists, config.out_dir / "report_plots", k=10
    )  # the same sections `shelfwise report` writes for any store
    _write(
        config,
        metrics,
        rec_metrics,
        timings,
        notes,
        [rec_note],
        searcher.config.fusion,
        searcher.config.dense_weight,
        exposure,
    )
    return DemoResult(shelf, metrics, rec_metrics, timings, [*notes, rec_note])


def say_warnings(log: Log, file: Path, warnings: Sequence[RowError], noun: str, first: int = 5) -> None:
    """A load's warnings as the CLI prints them: file-wide notes (row 0) as 'warning:' lines, rows
    kept without a bad optional field as a count of ``noun`` and the first ``first`` (no flood)."""
    notes = [w for w in warnings if w.row <= 0]
    kept = [w for w in warnings if w.row > 0]
    for w in notes[:first]:
        log(f"warning: {w}")
    if kept:
        log(f"{file}: kept {counted(len(kept), noun)} without a bad optional field; first ones:")
        for w in kept[:first]:
            log(f"  {w}")


def attach_sale_prices(
    catalog: Catalog, transactions: Path, id_column: str = "article_id", price_column: str = "price"
) -> tuple[Catalog, int]:
    """``catalog`` with each unpriced product's median sale price from ``transactions`` (rows with a
    missing, negative or non-finite price skipped); also how many products got one."""
    import pyarrow.parquet as pq

    names = pq.read_schema(transactions).names
    if price_column not in names or id_column not in names:
        return catalog, 0
    cols = pq.read_table(transactions, columns=[id_column, price_column]).to_pydict()
    sales: dict[str, list[float]] = {}
    for item, price in zip(cols[id_column], cols[price_column], strict=True):
        if item is not None and price is not None and np.isfinite(price) and price >= 0:
            sales.setdefault(str(item), []).append(float(price))
    products = [
        replace(p, price=float(np.median(sales[p.id]))) if p.price is None and p.id in sales else p
        for p in catalog.products
    ]
    priced = sum(1 for p in catalog.products if p.price is None and p.id in sales)
    return Catalog(products), priced


def _rec_catalogue_metrics(
    rec: HybridRecommender, events: EventLog, n_items: int
) -> tuple[dict[str, float], list[list[int]]]:
    lists = [rec.recommend(user, 10).ids.tolist() for user in events.users]
    counts = np.bincount(events.item[events.item >= 0], minlength=n_items)
    vectors = rec.item_vectors
    return {
        "users": len(lists),  # a count: printed and saved as a whole number
        "coverage": coverage(lists, n_items),
        "long_tail_share": long_tail_share(lists, counts),
        "intra_list_diversity": float(np.mean([intra_list_diversity(x, vectors) for x in lists])) if lists else 0.0,
    }, lists


def _write(
    config: DemoConfig,
    metrics: dict[str, dict[str, float]],
    rec_metrics: dict[str, float],
    timings: dict[str, float],
    search_notes: list[str],
    rec_notes: list[str],
    fusion: str,
    dense_weight: float,
    exposure: list[Section],
) -> None:
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": {k: str(v) for k, v in asdict(config).items()},
        "search": metrics,
        "recommend": rec_metrics,
        "hybrid": {"fusion": fusion, "dense_weight": dense_weight},
        "timings_s": timings,
        "notes": [*search_notes, *rec_notes],
    }
    (out / "search_eval.json").write_text(json.dumps(payload, indent=2))
    chart = bar_chart(
        out / "search_metrics.png",
        "Search on held-out queries (H&M)",
        ["NDCG@10", "Recall@100", "MRR"],
        {mode: [m["ndcg@10"], m["recall@100"], m["mrr"]] for mode, m in metrics.items()},
    )
    search = Section(
        "Search (held-out attribute queries)",
        ["mode", "NDCG@10", "Recall@100", "MRR", "queries"],
        [[mode, m["ndcg@10"], m["recall@100"], m["mrr"], int(m["queries"])] for mode, m in metrics.items()],
        [f"Hybrid: {fusion} fusion, dense weight {dense_weight}.", *search_notes],
        [chart],
    )
    rec = Section(
        "Recommendations (every buyer's top 10)",
        ["metric", "value"],
        [[k, v] for k, v in rec_metrics.items()],
        list(rec_notes),
    )
    timing = Section("Timings (s)", ["step", "seconds"], [[k, v] for k, v in timings.items()])
    bench_pngs = sorted(config.bench_dir.rglob("*.png")) if config.bench_dir.exists() else []
    bench = Section(
        "Benchmark plots (committed by bench/*.py runs)",
        notes=["Produced by the benchmark scripts on the shared real data; see bench/results/*.json for the numbers."],
        images=bench_pngs,
    )
    sections = [search, rec, *exposure, timing, bench]
    (out / "report.html").write_text(render_html("Shelfwise demo report", sections))
    (out / "report.md").write_text("\n".join(_markdown(s) for s in [search, rec, *exposure, timing]))


def _markdown(section: Section) -> str:
    def cell(v: object) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = [f"## {section.title}", "", "| " + " | ".join(section.header) + " |", "|" + "---|" * len(section.header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in section.rows]
    return "\n".join([*lines, "", *section.notes, ""])
