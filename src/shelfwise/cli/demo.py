"""``shelfwise demo``: the bundled H&M store, end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

from shelfwise.cli.common import check_port, port_number
from shelfwise.cli.serve_cmd import serve_shelf
from shelfwise.demo.pipeline import DemoConfig, run_demo
from shelfwise.shelf import enable_live


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="build, evaluate and serve the bundled H&M store demo")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="folder for indexes and reports")
    p.add_argument(
        "--encoder", default="auto", help="auto (by the catalog's language), minilm, e5, hashing (fast, no LM)"
    )
    p.add_argument(
        "--multilingual",
        default="e5-onnx",
        help="second encoder for Chinese queries if --encoder is English-only ('none': skip)",
    )
    p.add_argument("--no-serve", action="store_true", help="stop after the report")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=port_number, default=8000, help="TCP port (default 8000)")
    p.set_defaults(func=run)


def _number(v: float) -> str:
    """A count as a whole number, a rate to 3 decimals."""
    return str(v) if isinstance(v, int) else f"{v:.3f}"


def run(args: argparse.Namespace) -> int:
    if not args.no_serve:
        check_port(args.host, args.port)  # before minutes of building, not after
    result = run_demo(
        DemoConfig(
            out_dir=args.out,
            encoder=args.encoder,
            multilingual=None if args.multilingual == "none" else args.multilingual,
        )
    )
    print(f"{'mode':<20} {'NDCG@10':>8} {'R@100':>8} {'MRR':>8}")
    for mode, m in result.metrics.items():
        print(f"{mode:<20} {m['ndcg@10']:>8.4f} {m['recall@100']:>8.4f} {m['mrr']:>8.4f}")
    print("recommendations: " + ", ".join(f"{k} {_number(v)}" for k, v in result.recommend_metrics.items()))
    print(f"report: {args.out / 'report.html'} (+ report.md); metrics: {args.out / 'search_eval.json'}")
    if not args.no_serve:
        enable_live(result.shelf, args.out / "events.sqlite")
        serve_shelf(result.shelf, args.host, args.port, report=args.out / "report.html")
    return 0
