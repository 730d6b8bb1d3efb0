"""TIFU-KNN (``recommend/tifu.py``; Hu et al., 2020) against buy-again on next baskets.

The split, data sets and metrics of ``bench_next_basket.py`` (each user's last order held out,
repeats protocol: truth = every item of that order). Rows: buy-again (``buy_again_ranker``),
TIFU-KNN at its defaults (the paper's Instacart settings: groups of 3 baskets, decays 0.9 / 0.7,
300 neighbours, alpha 0.7), the same without neighbours (alpha 1: the decayed own frequency
alone) and with groups of 7. A TIFU list is its scored items, best first, then the most popular
others (buy-again's fill). NDCG and recall at 10 and 20; 95% intervals by bootstrap over users
(1,000 resamples): of each mean and, paired, of each TIFU row minus buy-again. Fit time per row,
load noted. No tuning on the test baskets: every setting is fixed before the run.

Run: nice -n 10 python bench/bench_next_basket_tifu.py [--sets instacart,cj] [--out next_basket_tifu_s17]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_next_basket import KS, bootstrap, load_cj, per_user, tifu_ranker, uptime
from bench_recommend import load_instacart
from shelfwise.recommend import Interactions
from shelfwise.recommend.evaluate import buy_again_ranker, split_last_sessions, truth_by_user
from shelfwise.recommend.tifu import TifuConfig, TifuRecommender

from common import print_table, write_json

BASE = "buy-again"
SETTINGS = {
    "TIFU-KNN (defaults)": TifuConfig(),
    "TIFU, no neighbours (alpha 1)": TifuConfig(alpha=1.0),
    "TIFU, groups of 7": TifuConfig(group_size=7),
}


def run_set(name: str, households: int) -> dict[str, Any]:
    catalog, log, info = load_instacart() if name == "instacart" else load_cj(households)
    train_log, test_log = split_last_sessions(log)
    train = Interactions.from_log(train_log, catalog)
    truth = truth_by_user(test_log)
    counts = train.item_counts()
    rows = {BASE: per_user(buy_again_ranker(train_log, counts, max(KS)), truth)}
    fit_s: dict[str, float] = {}
    for label, cfg in SETTINGS.items():
        model = TifuRecommender(cfg)
        t0 = time.perf_counter()
        model.fit(train)
        fit_s[label] = time.perf_counter() - t0
        rows[label] = per_user(tifu_ranker(model, counts, max(KS)), truth)
    stats = bootstrap(rows, ref=BASE, key="minus_buy_again", sign=-1.0)  # each row minus buy-again
    header = ["model", *(f"{m}@{k}" for m in ("NDCG", "recall") for k in KS), "NDCG@10 minus buy-again [95% CI]"]
    table = []
    for label, cells in stats.items():
        d = cells["ndcg@10"]
        ci = d.get("minus_buy_again_ci95")
        diff = "" if ci is None else f"{d['minus_buy_again']:+.4f} [{ci[0]:+.4f}, {ci[1]:+.4f}]"
        table.append([label, *(cells[f"{m}@{k}"]["mean"] for m in ("ndcg", "recall") for k in KS), diff])
    print_table(f"{name}, repeats protocol ({len(truth)} users), fit s {fit_s}", header, table)
    return {"info": info, "users": len(truth), "rows": stats, "fit_s": fit_s, "uptime": uptime()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="instacart,cj")
    ap.add_argument("--cj-households", type=int, default=500)
    ap.add_argument("--out", default="next_basket_tifu")
    args = ap.parse_args()
    payload: dict[str, Any] = {"ks": list(KS), "uptime_start": uptime(), "sets": {}}
    payload["settings"] = {label: vars(cfg) for label, cfg in SETTINGS.items()}
    print("uptime:", payload["uptime_start"])
    for name in args.sets.split(","):
        payload["sets"][name] = run_set(name, args.cj_households)
    payload["uptime_end"] = uptime()
    print("uptime:", payload["uptime_end"])
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
