"""``shelfwise eval search``: NDCG@10 / Recall@100 / MRR on any catalog + judgment files, with
plain lexical peers (bm25s; character BM25 for Chinese) run beside Shelfwise in the same run."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.cli.common import (
    add_catalog_args,
    encoder_for_catalog,
    load_catalog_arg,
    load_judgments_arg,
    number_in,
    warn_unknown_judged_items,
)
from shelfwise.encode.registry import load_encoder
from shelfwise.eval.judgments import SearchMetrics, evaluate_search, no_interval_note, paired_ratio_interval
from shelfwise.eval.peers import PEERS, build_peers
from shelfwise.eval.tune import searcher_fn
from shelfwise.index.language import detect_language
from shelfwise.retrieve.hybrid import HybridSearcher, read_meta
from shelfwise.retrieve.search_config import FUSIONS, MODES
from shelfwise.snapshot.io import LoadOptions, catalog_file, load_shelf


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("eval", help="offline evaluation")
    esub = p.add_subparsers(dest="eval_target", required=True)
    s = esub.add_parser("search", help="evaluate search against graded judgments")
    add_catalog_args(s)
    s.add_argument("--queries", required=True, type=Path, help="file with query_id, query")
    s.add_argument("--judgments", required=True, type=Path, help="file with query_id, item_id, grade")
    s.add_argument("--index", type=Path, default=None, help="prebuilt index folder (else built now)")
    s.add_argument(
        "--modes", default="bm25,dense,hybrid", help="comma-separated modes to evaluate (default bm25,dense,hybrid)"
    )
    s.add_argument(
        "--peers", default="auto", help="peers run in the same process: auto, none, or a list of " + ",".join(PEERS)
    )
    s.add_argument("--fusion", default=None, choices=FUSIONS, help="override the index's fusion")
    s.add_argument(
        "--dense-weight",
        type=number_in(float, 0.0, 1.0, name="a number"),
        default=None,
        help="override the index's dense weight (0-1)",
    )
    s.add_argument(
        "--out", type=Path, default=Path("search_eval.json"), help="JSON file to write (default search_eval.json)"
    )
    s.set_defaults(func=run_search)


def _peer_names(arg: str, chinese: bool) -> list[str]:
    if arg == "none":
        return []
    if arg == "auto":
        return ["bm25s", "bm25s-char"] if chinese else ["bm25s"]
    names = [n.strip() for n in arg.split(",") if n.strip()]
    bad = [n for n in names if n not in PEERS]
    if bad:
        raise ValueError(f"--peers: unknown {bad}; choose from {PEERS}")
    return names


def load_index(index: Path, catalog: Catalog, encoder: str | None, cache: Path | None) -> HybridSearcher:
    """The searcher saved at ``index`` (a saved shelf, or an index folder from before shelves),
    loaded as :meth:`Shelf.load <shelfwise.shelf.Shelf.load>` loads it: its query encoder
    (``encoder``, else the one it was built with) and, when it has them, its multilingual vectors
    and their encoder. The reranker is not loaded: ``eval search`` measures the retrieval.
    ``catalog`` (``--catalog``) must be the index's own; an old index folder saved without its
    ``catalog.parquet`` is read against it."""
    if not catalog_file(index).exists():  # index folders from before the demo saved its catalog
        meta = read_meta(index)
        spec = encoder or str(meta.get("encoder_spec", "minilm"))
        multi = meta.get("multilingual_spec") if "multilingual_encoder" in meta else None
        return HybridSearcher.load(index, catalog, load_encoder(spec, cache),
                                   multilingual=load_encoder(str(multi), cache) if multi else None)  # fmt: skip
    shelf = load_shelf(index, LoadOptions(encoder=encoder, cache=cache, recommender=False, reranker=False))
    if shelf.catalog.ids != catalog.ids:
        raise ValueError(
            f"{index}: its catalog ({len(shelf.catalog)} items) is not the --catalog file's ({len(catalog)} items); "
            "evaluate with the catalog the index was built from"
        )
    return shelf.searcher


def _has_reranker(index: Path) -> bool:
    """Whether the saved shelf at ``index`` carries a reranker part."""
    from shelfwise.snapshot.io import SUPPORTED, read_manifest

    return (index / "shelf.json").exists() and read_manifest(index, SUPPORTED).has("reranker")


def run_search(args: argparse.Namespace) -> int:
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"--modes: unknown {bad}; choose from {MODES}")
    _peer_names(args.peers, False)  # a bad name fails here, not after the loading and query encoding
    judgments = load_judgments_arg(args.queries, args.judgments)
    cl = load_catalog_arg(args)
    warn_unknown_judged_items(judgments, cl.catalog)
    if args.index:
        searcher = load_index(args.index, cl.catalog, None if args.encoder == "auto" else args.encoder, args.cache)
        if _has_reranker(args.index):
            print(
                f"note: {args.index}'s reranker is not applied here (this measures retrieval); "
                "`shelfwise report` measures 'hybrid + reranker' as well"
            )
    else:
        encoder, spec, profile = encoder_for_catalog(args, cl.catalog)
        searcher = HybridSearcher.build(cl.catalog, encoder, progress=True, language=profile, encoder_spec=spec)
    overrides = {k: v for k, v in (("fusion", args.fusion), ("dense_weight", args.dense_weight)) if v is not None}
    searcher.config = replace(searcher.config, **overrides)  # type: ignore[arg-type]
    judged = judgments.judged()
    if any(m != "bm25" for m in modes):
        print(f"encoding {len(judged)} queries in batches")
        texts = [judgments.queries[q] for q in judged]
        for dense in (searcher.dense, searcher.multilingual):  # each query primed on the retriever that embeds it
            if dense is not None:
                dense.prime([t for t in texts if searcher.dense_for(t) is dense], progress=True)
    language = searcher.language or detect_language(cl.catalog.texts())
    results: dict[str, SearchMetrics] = {
        f"peer:{name}": evaluate_search(fn, judgments)
        for name, fn in build_peers(_peer_names(args.peers, language.needs_multilingual), cl.catalog).items()
    }
    for m in modes:
        results[m] = evaluate_search(searcher_fn(searcher, mode=m), judgments)
    peers = [r for name, r in results.items() if name.startswith("peer:")]
    base = max(peers, key=lambda r: r.ndcg_at_10) if peers else None  # ratios against the strongest peer
    base_name = next((name for name, r in results.items() if r is base), "")
    intervals = {name: paired_ratio_interval(r, base) for name, r in results.items() if base and r is not base}
    print(f"{'system':<16} {'NDCG@10':>8} {'R@100':>8} {'MRR':>8} {'x peer':>8} {'95% CI':>15} {'queries':>8}")
    for name, r in results.items():
        ratio = f"{r.ndcg_at_10 / base.ndcg_at_10:.3f}" if base and base.ndcg_at_10 > 0 else "-"
        lo, hi = intervals.get(name, (math.nan, math.nan))
        ci = f"[{lo:.3f}, {hi:.3f}]" if not math.isnan(lo) else "-"
        print(
            f"{name:<16} {r.ndcg_at_10:>8.4f} {r.recall_at_100:>8.4f} {r.mrr:>8.4f} {ratio:>8} {ci:>15} "
            f"{r.n_queries:>8}"
        )
    if intervals:
        print(
            f"x peer: NDCG@10 over {base_name}'s; 95% CI: paired bootstrap over the same queries (1,000 resamples); "
            "an interval holding 1.000 is no measured difference"
        )
        gap = no_interval_note(base_name, intervals)
        if gap:
            print(gap)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "catalog": str(args.catalog),
        "queries": str(args.queries),
        "encoder": searcher.encoder.name,
        "encoder_spec": searcher.encoder_spec,
        "multilingual_spec": searcher.multilingual_spec,  # the Chinese-query vectors' encoder, if any
        "language": language.to_json(),
        "config": asdict(searcher.config),
        "metrics": {name: r.summary() for name, r in results.items()},
        "ratio_to_peer": {
            name: {
                "peer": base_name,
                "ndcg@10": r.ndcg_at_10 / base.ndcg_at_10,
                "ci95": [None if math.isnan(x) else x for x in intervals[name]],
            }
            for name, r in results.items()
            if base is not None and base.ndcg_at_10 > 0 and name in intervals
        },
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")
    return 0
