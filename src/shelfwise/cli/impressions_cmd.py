"""``shelfwise ope --impressions``: the store's own exploration slots, evaluated from the impression
log a server writes (:mod:`shelfwise.events.impressions`) joined with its event log."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.bandit.impression_ope import DEFAULT_WINDOW_S, MIN_SLOTS, ImpressionOPE, Joined, deterministic

if TYPE_CHECKING:
    from shelfwise.events.backend import EventBackend
    from shelfwise.events.schema import Event


def add_impression_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--impressions",
        type=Path,
        default=None,
        help="impression log a server wrote (default beside --events-db FILE: FILE's stem + .impressions.db)",
    )
    p.add_argument(
        "--events-db",
        default=None,
        help="with --impressions: the event log whose clicks / carts / purchases are the rewards (SQLite file or "
        "nats://...; default: the one file beside X.impressions.db named X.*, as serve writes them)",
    )
    p.add_argument(
        "--window-min", type=float, default=DEFAULT_WINDOW_S / 60, help="reward window after a showing, minutes"
    )
    p.add_argument("--until", type=float, default=None, help="horizon, Unix seconds (default: the latest event)")
    p.add_argument("--min-slots", type=int, default=MIN_SLOTS, help="explored slots below which data are too few")
    p.add_argument("--export-obd", type=Path, default=None, help="also write the explored slots as an OBD CSV")


def _events_db(args: argparse.Namespace) -> str:
    """``--events-db``, or the one event log beside ``--impressions`` that a server would have
    written it next to (``live.sqlite`` for ``live.impressions.db``)."""
    if args.events_db is not None:
        return str(args.events_db)
    path: Path = args.impressions
    if path.name.endswith(".impressions.db"):
        stem = path.name.removesuffix(".impressions.db")
        side = ("-wal", "-shm", "-journal")  # SQLite's own files beside a log
        found = [p for p in path.parent.glob(f"{stem}.*") if p != path and p.is_file() and not p.name.endswith(side)]
        if len(found) == 1:
            return str(found[0])
    raise ValueError(f"{path}: give --events-db (the event log holding the rewards; none or several beside it)")


def impressions_beside(events_db: str) -> Path:
    """The impression log a server writes beside the SQLite event log ``events_db`` (``serve
    --impression-log auto``); a ``nats://`` log has no folder to put one in."""
    from shelfwise.events.backend import is_event_url
    from shelfwise.events.impressions import impressions_path

    if is_event_url(events_db):
        raise ValueError(f"{events_db}: give --impressions FILE (a nats:// event log has no impression log beside it)")
    return impressions_path(events_db)


def run_impressions(args: argparse.Namespace) -> int:
    from shelfwise.bandit.impression_ope import evaluate_impressions, join_rewards
    from shelfwise.errors import DataError
    from shelfwise.events.backend import open_event_store
    from shelfwise.events.impressions import ImpressionStore

    if not args.window_min > 0 or args.min_slots < 1:
        raise ValueError("--window-min must be > 0 and --min-slots >= 1")
    store = ImpressionStore(args.impressions, read_only=True)
    try:
        read = store.read()
    finally:
        store.close()
    if read.errors and (args.strict or not read.impressions):
        raise DataError(read.errors, f"{args.impressions}: {len(read.errors)} bad impressions")
    for err in read.errors:
        print(f"skipped: {err}")
    db = _events_db(args)
    events = open_event_store(db, read_only=True)
    try:
        joined = join_rewards(read.impressions, _all_events(events), args.window_min * 60.0, args.until)
    finally:
        events.close()
    res = evaluate_impressions(joined, min_slots=args.min_slots, folds=args.folds, seed=args.seed)
    _print(args.impressions, db, joined, res, args.window_min)
    if args.export_obd is not None:
        rows = export_obd(joined, args.export_obd)
        print(f"wrote {rows} explored slots to {args.export_obd} (OBD columns: `shelfwise ope --logs` reads it)")
    return 0


def _all_events(store: EventBackend) -> list[Event]:
    out: list[Event] = []
    since = 0
    while True:
        batch = store.read(since, limit=100_000)
        if not batch:
            return out
        out += [e for _, e in batch]
        since = batch[-1][0]


def _print(path: Path, db: str, joined: Joined, res: ImpressionOPE, window_min: float) -> None:
    print(
        f"{path}: {res.lists} lists with explored slots, rewards from {db} within {window_min:g} min "
        f"({joined.open} lists still open at the horizon, {joined.credited} showings credited)"
    )
    if joined.exact or joined.unmatched:
        print(
            f"events with a request_id: {joined.exact} credited their own list exactly, {joined.unmatched} named "
            "no logged list showing their item in the window (not credited: they came from another list)"
        )
    s = res.sampling
    if s.lists:
        rates = f"{s.min_rate:.3g}" if s.min_rate == s.max_rate else f"{s.min_rate:.3g} to {s.max_rate:.3g}"
        print(f"lists sampled: {s.lists}, at rate {rates} (of about {s.stands_for:.0f} explored lists served)")
    print(f"{'slots':<44} {'n':>7} {'clicks':>7} {'rate':>9} {'stderr':>9}")
    for name, r in (
        ("explored (the bandit's picks, on-policy)", res.explored),
        ("displaced (deterministic list's items)", res.displaced),
    ):
        print(f"{name:<44} {r.n:>7} {r.clicks:>7} {r.estimate.value:9.5f} {r.estimate.stderr:9.5f}")
    if res.greedy is not None:
        print(
            f"greedy (model's pick from the same pool), off-policy over {res.greedy_slots} slots, "
            f"{res.overlap} where it was the bandit's pick, ESS {res.greedy.ess:.1f}:"
        )
        print(f"{'estimator':<10} {'value':>10} {'stderr':>10}")
        for name, value, se in res.greedy.as_rows():
            print(f"{name:<10} {value:10.5f} {se:10.5f}")
    for note in res.notes:
        print(f"note: {note}")


def export_obd(joined: Joined, out: Path) -> int:
    """The explored slots of ``joined`` as an Open Bandit Dataset CSV (timestamp, item_id as a number
    per distinct item, position, click, propensity_score) plus the store's ``shelf_item`` id; slots
    with no usable propensity, or filled by a deterministic policy, are left out. Returns the rows written."""
    code: dict[str, int] = {}
    rows = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "item_id", "position", "click", "propensity_score", "shelf_item"])
        for imp, rew in zip(joined.impressions, joined.rewards, strict=True):
            if deterministic(imp):  # no overlap: its propensities support no off-policy estimate
                continue
            for r, pos in enumerate(imp.explored):
                p = imp.propensity[r]
                if p is None or not p > 0:
                    continue
                item = imp.items[pos]
                w.writerow([imp.timestamp, code.setdefault(item, len(code)), pos, int(rew[pos]), p, item])
                rows += 1
    return rows
