"""Fine-tuning benchmark on the real H&M catalog (4,903 articles) and transactions (10,000 purchases).

Data (honest labels):
* query -> product pairs come from the *attribute-derived* judged queries (``attribute_judgments``
  on colour x product type, e.g. "black trousers"; grade 2 = type and colour match). They are not
  logged shopper queries. Queries are split 70/30: no held-out query is ever trained on.
* product -> product pairs are *real* co-purchases (two articles bought by the same H&M customer);
  customers are split 80/20 and the held-out customers are only used for evaluation.

Measured: dense-only search NDCG@10 on held-out queries for zero-shot MiniLM vs full and LoRA
fine-tuning (both on the same 1k interactions, to fit the CPU budget); the quality curve vs number
of training interactions (0 / 100 / 1k / 10k); continual learning (task A = queries, then a new
batch B = co-purchases) with and without replay, reporting how much of task A's held-out metric is
forgotten; item-to-item recall@10 on held-out customers.

To keep CPU time to minutes, products are embedded with max_seq_length 48 and evaluation runs on a
fixed random sample of 600 catalog articles plus every article of 100 held-out customers;
training uses max_seq_length 32 and batch 32, one pass.
Run: ``nice -n 10 python bench/bench_finetune.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shelfwise.encode import packaged_model_path
from shelfwise.eval.judgments import Judgments, attribute_judgments, evaluate_search
from shelfwise.eval.metrics import recall_at_k
from shelfwise.events import EventFields, EventLog, load_events
from shelfwise.finetune import (
    FinetuneConfig,
    ReplayConfig,
    continual_update,
    copurchase_pairs,
    fine_tune,
    load_st,
    pairs_from_judgments,
)

from common import ROOT, load_hm, print_table, write_json


def embed(model: Any, texts: list[str]) -> np.ndarray:
    model.max_seq_length = 48
    model.eval()
    return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True))


class Evaluator:
    def __init__(self, cat: Any, heldout: Judgments, test_users: dict[int, list[int]], n_sample: int = 1500) -> None:
        rng = np.random.default_rng(0)
        rows = set(rng.choice(len(cat), n_sample, replace=False).tolist())
        for items in test_users.values():
            rows.update(items)
        self.rows = np.array(sorted(rows))
        self.texts = [cat.products[r].text() for r in self.rows]
        self.ids = [cat.ids[r] for r in self.rows]
        keep = set(self.ids)
        rel = {q: {i: g for i, g in r.items() if i in keep} for q, r in heldout.relevance.items()}
        self.judgments = Judgments(heldout.queries, rel)
        pos = {r: i for i, r in enumerate(self.rows.tolist())}
        self.users = {u: [pos[i] for i in items] for u, items in test_users.items()}

    def __call__(self, model: Any) -> dict[str, float]:
        t = time.perf_counter()
        vecs = embed(model, self.texts)
        secs = time.perf_counter() - t
        qtexts = list(self.judgments.queries.values())
        qv = dict(zip(qtexts, embed(model, qtexts), strict=True))

        def search(q: str, n: int) -> list[str]:
            s = vecs @ qv[q]
            return [self.ids[i] for i in np.argsort(-s)[:n]]

        m = evaluate_search(search, self.judgments, k=10, recall_k=100)
        recs = []
        for items in self.users.values():
            for a in items:
                s = vecs @ vecs[a]
                s[a] = -np.inf
                top = np.argsort(-s)[:10].tolist()
                recs.append(recall_at_k(top, {b: 1.0 for b in items if b != a}, 10))
        return {
            "ndcg@10": m.ndcg_at_10,
            "recall@100": m.recall_at_100,
            "mrr": m.mrr,
            "i2i_recall@10": float(np.mean(recs)) if recs else float("nan"),
            "embed_s": secs,
        }


def split_users(log: EventLog, frac: float = 0.8, n_users: int = 150) -> tuple[EventLog, dict[int, list[int]]]:
    rng = np.random.default_rng(0)
    users = np.unique(log.user)
    test = set(rng.choice(users, round((1 - frac) * len(users)), replace=False).tolist())
    is_test = np.isin(log.user, list(test))
    per: dict[int, list[int]] = defaultdict(list)
    for u, i in zip(log.user[is_test].tolist(), log.item[is_test].tolist(), strict=True):
        if i >= 0 and i not in per[u]:
            per[u].append(i)
    multi = sorted(u for u, v in per.items() if len(v) >= 2)[:n_users]  # a few held-out customers keep eval cheap
    return log.select(~is_test), {u: per[u] for u in multi}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny budgets (smoke run)")
    ap.add_argument("--sizes", default="0,100,1000,10000", help="curve points (training interactions)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    cat = load_hm()
    data = ROOT / "data" / "hm"
    events = load_events(data / "transactions.parquet", EventFields.from_json(data / "event_fields.json"), catalog=cat)
    log = EventLog.from_events(events.events, cat)
    train_log, test_users = split_users(log, n_users=20 if args.quick else 100)
    judg = attribute_judgments(cat, "colour_group_name", max_queries=None)
    train_q, held_q = judg.split(0.7, seed=0)
    ev = Evaluator(cat, held_q, test_users, n_sample=100 if args.quick else 600)
    distract = [cat.products[r].text() for r in range(0, len(cat), 10)][: 50 if args.quick else 300]

    grade2 = pairs_from_judgments(train_q, cat, min_grade=2.0)
    grade1 = pairs_from_judgments(train_q, cat, min_grade=1.0, max_per_query=60)
    pool_q = grade2 + grade1.sample(max(10_000 - len(grade2), 0), seed=1)  # grade-2 first, then type-only
    tr_pool, val_q = pool_q.split(0.9, seed=0)  # validation = held-out *training* queries (early stopping)
    val_q = val_q.sample(60 if args.quick else 300, seed=0)
    co = copurchase_pairs(train_log, cat, max_pairs=4000, seed=0)
    co_tr, co_val = co.split(0.9, seed=0)
    co_val = co_val.sample(60 if args.quick else 300, seed=0)
    print(f"pairs: query pool {len(tr_pool)} (val {len(val_q)}), co-purchase {len(co_tr)} (val {len(co_val)})")
    print(f"eval: {len(ev.rows)} products, {len(ev.judgments.judged())} held-out queries, {len(ev.users)} users")

    base = load_st(packaged_model_path())
    cfg = FinetuneConfig(batch_size=32, max_seq_length=32, eval_every=100, patience=2, learning_rate=5e-5)
    lora_cfg = replace(cfg, mode="lora", learning_rate=5e-4)
    sizes = [int(x) for x in args.sizes.split(",")] if not args.quick else [0, 64]
    name = "finetune" if not args.quick else "finetune_quick"
    results: dict[str, Any] = {"curve": [], "modes": [], "continual": []}
    zero = ev(base)
    ordered = tr_pool.sample(len(tr_pool), seed=2)

    def curve_point(n: int) -> None:
        if n == 0:
            met, log_ = zero, None
        else:
            sub = ordered.sample(n, seed=3) if n < len(ordered) else ordered
            tm = fine_tune(base, sub, val_q, cfg, distractors=distract, base_name="minilm")
            met, log_ = ev(tm.model), tm.log
        row = {"interactions": n, **met}
        if log_ is not None:
            row |= {"train_s": log_.seconds, "steps": log_.steps, "best_step": log_.best_step}
        results["curve"].append(row)
        print(f"curve n={n}: {row}", flush=True)
        write_json(name, results)  # each point is kept even if a later stage is interrupted

    # Cheap points first, then full vs LoRA and continual, then the expensive large points last,
    # so an interrupted run still has every comparison.
    for n in [x for x in sizes if x <= 1000]:
        curve_point(n)
    n_modes = 1000 if 1000 in sizes else sizes[-1]  # full vs LoRA at 1k interactions (CPU budget)
    sub = ordered.sample(n_modes, seed=3)
    full_row = next(r for r in results["curve"] if r["interactions"] == n_modes)
    results["modes"].append({"mode": "zero-shot", **zero})
    results["modes"].append({"mode": "full", **full_row})
    t = fine_tune(base, sub, val_q, lora_cfg, distractors=distract, base_name="minilm")
    results["modes"].append(
        {
            "mode": "lora",
            **ev(t.model),
            "train_s": t.log.seconds,
            "steps": t.log.steps,
            "trainable_params": t.log.trainable_params,
            "best_step": t.log.best_step,
        }
    )
    print(results["modes"][-1])
    write_json(name, results)

    # continual: task A = query pairs (1k), then a new batch B = co-purchase pairs, with / without replay
    a_pairs = ordered.sample(1000 if not args.quick else 64, seed=4)
    task_a = fine_tune(base, a_pairs, val_q, cfg, distractors=distract, base_name="minilm")
    after_a = ev(task_a.model)
    b_pairs = co_tr.sample(1000 if not args.quick else 64, seed=5)
    b_cfg = replace(cfg, learning_rate=1e-4, eval_every=10_000)  # no early stop: plain update on the new batch
    rows = [{"stage": "after A (queries)", **after_a}]
    for stage, ratio in (("after B, no replay", 0.0), ("after B, replay 1:1", 1.0)):
        upd = continual_update(
            task_a.model, b_pairs, a_pairs, co_val, config=b_cfg, replay=ReplayConfig(ratio=ratio), distractors=distract
        )
        rows.append({"stage": stage, **ev(upd.model), "train_s": upd.log.seconds})
    for r in rows:
        r["forgetting_ndcg"] = after_a["ndcg@10"] - r["ndcg@10"]
    results["continual"] = rows
    write_json(name, results)
    for n in [x for x in sizes if x > 1000]:
        curve_point(n)
    results["zero_shot_note"] = "interactions = 0: pretrained all-MiniLM-L6-v2, text only, no clicks"
    results["data"] = {
        "query_pairs": "attribute-derived judged queries (colour x product type), split by query",
        "copurchase_pairs": "real H&M co-purchases, split by customer",
        "eval_products": len(ev.rows),
        "heldout_queries": len(ev.judgments.judged()),
        "heldout_users": len(ev.users),
    }
    hdr = ["interactions", "ndcg@10", "recall@100", "i2i_recall@10", "train_s"]
    print_table(
        "quality vs training interactions (full fine-tuning)",
        hdr,
        [[r.get(h, "") for h in hdr] for r in results["curve"]],
    )
    hdr = ["mode", "ndcg@10", "recall@100", "mrr", "i2i_recall@10", "train_s"]
    print_table(
        f"zero-shot vs fine-tuned ({n_modes} interactions, held-out queries/users)",
        hdr,
        [[r.get(h, "") for h in hdr] for r in results["modes"]],
    )
    hdr = ["stage", "ndcg@10", "i2i_recall@10", "forgetting_ndcg"]
    print_table(
        "continual learning: old (query) metric after a new co-purchase batch",
        hdr,
        [[r.get(h, "") for h in hdr] for r in rows],
    )
    write_json(name, results)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        xs = [max(r["interactions"], 10) for r in results["curve"]]
        plt.figure(figsize=(5, 3.5))
        plt.plot(xs, [r["ndcg@10"] for r in results["curve"]], marker="o")
        plt.xscale("log")
        plt.xlabel("training interactions (0 plotted at 10)")
        plt.ylabel("held-out NDCG@10 (dense)")
        plt.title("H&M: quality vs interactions")
        plt.tight_layout()
        plt.savefig(ROOT / "bench" / "results" / "finetune_curve.png", dpi=120)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
