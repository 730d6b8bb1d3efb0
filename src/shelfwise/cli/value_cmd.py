"""``shelfwise value labels|events|show``: data valuation reports (parse, call, print).

Input formats (CSV / TSV / JSONL / Parquet, read by :mod:`shelfwise.tabular`):

* ``labels``: ``--train`` and ``--valid`` files with a text column and a label column (names set
  by ``--text-col`` / ``--label-col``; defaults ``text`` and ``label``), optional ``--group-col``
  (query, category ...) and ``--source-col`` (data file, annotator ...) in the training file.
  ``--test`` (same columns) grades the removal curves; ``--pool`` (text and, optionally, the group
  column, no labels needed) gets a what-to-label-next list.
* ``events``: a catalog and an events file as for ``shelfwise recommend`` (users need three or
  more sessions: the last is the test basket, the one before it validation).

Writes ``report.html``, ``summary.json``, PNG plots and every value table (npz + JSON) to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.cli.common import EVENT_FIELDS_HELP, add_catalog_args, load_catalog_arg, load_event_log
from shelfwise.errors import counted

if TYPE_CHECKING:
    from shelfwise.valuation.pipeline import LabelledRows
    from shelfwise.valuation.summary import Ranked, ValuationSummary


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("value", help="data valuation: which sources, groups and samples help quality")
    kinds = p.add_subparsers(dest="kind", required=True)

    lab = kinds.add_parser("labels", help="value labelled texts (KNN-Shapley, leave-one-group-out, TMC-Shapley)")
    lab.add_argument("--train", required=True, type=Path, help="labelled texts to value (CSV/TSV/JSONL/Parquet)")
    lab.add_argument("--valid", required=True, type=Path, help="labelled texts the values are measured on")
    lab.add_argument("--test", type=Path, default=None, help="grades removal curves (default: validation)")
    lab.add_argument("--pool", type=Path, default=None, help="unlabelled texts to rank for labelling")
    lab.add_argument("--text-col", default="text", help="text column (default text)")
    lab.add_argument("--label-col", default="label", help="label column (default label)")
    lab.add_argument("--group-col", default=None, help="group column (query, category, time window)")
    lab.add_argument("--source-col", default=None, help="source column (data file, annotator, event type)")
    lab.add_argument("--encoder", default="auto", help="encoder name (auto, minilm, e5, hashing, ...) or model folder")
    lab.add_argument("--cache", type=Path, default=Path(".shelfwise/cache/embeddings.sqlite"))
    _common(lab, "neighbours of the KNN utility (default 5)")
    lab.set_defaults(func=run_labels, k=5)

    ev = kinds.add_parser("events", help="value interaction groups for the co-occurrence recommender")
    add_catalog_args(ev, encoder=False)  # the co-occurrence utility embeds nothing
    ev.add_argument("--events", required=True, type=Path, help="events file (CSV/TSV/JSONL/Parquet)")
    ev.add_argument("--event-fields", type=Path, default=None, help=EVENT_FIELDS_HELP)
    ev.add_argument("--group-by", default="category", help="comma list of: category, recency, event_type")
    _common(ev, "recommendation list length of the NDCG utility (default 10)")
    ev.set_defaults(func=run_events, k=10)

    show = kinds.add_parser("show", help="print the summary of a written report")
    show.add_argument("dir", type=Path)
    show.set_defaults(func=run_show)


def _common(p: argparse.ArgumentParser, k_help: str) -> None:
    p.add_argument("-k", type=int, help=k_help)
    p.add_argument("--max-permutations", type=int, default=200, help="TMC-Shapley permutation cap")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("valuation-report"))


def _tmc(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from shelfwise.valuation import TMCConfig

    return TMCConfig(
        max_permutations=args.max_permutations, min_permutations=min(20, args.max_permutations), seed=args.seed
    )


def run_labels(args: argparse.Namespace) -> int:
    from shelfwise.encode.registry import load_encoder
    from shelfwise.index.language import choose_encoder, detect_language
    from shelfwise.valuation.pipeline import read_labelled, value_labelled_texts

    cols = {"text_col": args.text_col, "label_col": args.label_col}
    train = read_labelled(args.train, group_col=args.group_col, source_col=args.source_col, **cols)
    valid = read_labelled(args.valid, **cols)
    test = read_labelled(args.test, **cols) if args.test else None
    pool = _read_pool(args.pool, args.text_col, args.group_col) if args.pool else None
    for name, rows in (("--train", train), ("--valid", valid), ("--test", test), ("--pool", pool)):
        if rows is not None and rows.skipped:
            n_bad = len({e.row for e in rows.skipped})
            print(f"{name}: skipped {counted(n_bad, 'bad row')} (kept {len(rows.texts)}); first ones:")
            for e in rows.skipped[:10]:
                print(f"  {e}")
    choice = choose_encoder(detect_language(train.texts), args.encoder)
    if choice.warning:
        print(f"warning: {choice.warning}")
    encoder = load_encoder(choice.spec, args.cache)
    rep = value_labelled_texts(train, valid, encoder, test=test, pool=pool, k=args.k, tmc=_tmc(args), progress=True)
    path = rep.write(args.out)
    _print(rep.summary())
    print(f"\nwrote {path}")
    return 0


def run_events(args: argparse.Namespace) -> int:
    from shelfwise.valuation.pipeline import value_interactions

    catalog = load_catalog_arg(args).catalog
    log = load_event_log(args.events, args.event_fields, catalog)
    groups = [g.strip() for g in args.group_by.split(",") if g.strip()]
    rep = value_interactions(catalog, log, group_by=groups, k=args.k, tmc=_tmc(args), progress=_say)
    path = rep.write(args.out)
    _print(rep.summary())
    print(f"\nwrote {path}")
    return 0


def _say(msg: str) -> None:
    print(msg, flush=True)


def _read_pool(path: Path, text_col: str, group_col: str | None) -> LabelledRows:
    """The unlabelled pool; its group column is optional (without it each text is ranked alone, named
    by its text)."""
    from dataclasses import replace

    from shelfwise.errors import RowError
    from shelfwise.tabular import read_rows
    from shelfwise.valuation.pipeline import read_labelled

    if group_col is not None:
        first = next((rec for _, rec in read_rows(path) if not isinstance(rec, RowError)), None)
        if first is not None and text_col in first and group_col not in first:
            print(f"--pool: {path} has no {group_col!r} column: each unlabelled text is ranked on its own")
            group_col = None
    rows = read_labelled(path, text_col, None, group_col=group_col)
    return rows if rows.groups is not None else replace(rows, groups=rows.texts)


def run_show(args: argparse.Namespace) -> int:
    from shelfwise.valuation.summary import load_valuation

    _print(load_valuation(args.dir))
    return 0


def _print(summary: ValuationSummary) -> None:
    print(summary.title)
    for key, v in summary.values.items():
        stop = "" if v.converged else ", NOT converged (permutation cap reached: raise --max-permutations)"
        print(f"\n{key}: {v.players} players, {v.evaluations} evaluations, {v.seconds} s{stop}")
        lists: list[tuple[str, Ranked]] = [
            ("most valuable", v.most_valuable[:5]),
            ("least valuable", v.least_valuable[:5]),
        ]
        if v.players <= 10:  # both lists would show the same few players twice
            lists = [("ranked", v.most_valuable[: v.players])]
        for label, rows in lists:
            print(f"  {label}:")
            for name, value, size in rows:
                print(f"    {value:+.5f}  (n={size})  {name}")
    for key, c in summary.removal_curves.items():
        print(f"\nremoval curve, {key}: removed / lowest-first / random / highest-first")
        for row in zip(c.fractions, c.lowest_first, c.random_mean, c.highest_first, strict=True):
            print("  " + "  ".join(f"{x:.4f}" for x in row))
    if summary.label_next is not None:
        print("\nlabel next: expected gain, unlabelled items, group")
        for group, gain, n in summary.label_next[:10]:
            print(f"    {gain:+.5f}  (n={n})  {group}")
    for note in summary.notes:
        print(f"\nnote: {note}")
