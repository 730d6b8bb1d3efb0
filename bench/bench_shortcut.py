"""The lexical shortcut on real judged queries, English and Chinese (session 19).

Search skips the query encoder when the top 5 lexical hits' titles hold every word of a query of
two or more words (``SearchConfig.lexical_shortcut``, :mod:`shelfwise.retrieve.shortcut`; a query
holding Chinese never takes it). The risk checked here: on a marketplace whose titles are stuffed
with synonyms and attributes (Taobao), such a rule would fire on most queries and forgo the dense
signal that wins there. Sets (read from ../shared/data, evaluation only): Home Depot full dev half
(``hd``) and dev_1k (``hd1k``), Multi-CPR Taobao (``zh``); see ``bench_search_real.py``.

Per set, one process, the shipped default searcher (encoder chosen by language):
* how often the shortcut fires (the search's own :class:`SearchTrace`), NDCG@10 with it vs every
  query fused (``lexical_shortcut=0``), on all queries and on those that take it, with paired-
  bootstrap 95% intervals of the ratio; latency: encoder calls saved, and never-seen-query passes
  with it on and off alternated in the same run (a shared, busy box: ratios, not absolutes);
* what the rule would do if Chinese queries were let in, under two readings of "every word":
  each jieba word (all its character pairs) held (``zh_words``, the ``no-word-match`` notice's
  reading, :mod:`shelfwise.retrieve.query_words`) and every character unigram + bigram of the query
  held (``zh_ngrams``); NDCG follows exactly, as a shortcut query ranks as the words-only mode does;
* guards that might keep the rule off stuffed titles (titles at most L times the query's term
  count), chosen on one half of each set's queries by the worst ratio over the sets and reported
  on the other half;
* ``--stuffed``: SYNTHETIC Home Depot dev_1k catalogs with keyword-stuffed titles (each title plus
  the words its 3 nearest titles add, or one random other title's words), titles re-embedded; the
  split's candidate rules are reported there too, to explain, never to choose.

Run: python bench/bench_shortcut.py [--sets hd,hd1k,zh] [--stuffed] [--out shortcut_s19]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from bench_search_real import CACHE, load_set
from shelfwise.catalog import Catalog
from shelfwise.encode import load_encoder
from shelfwise.eval.judgments import Judgments, evaluate_search
from shelfwise.eval.tune import searcher_fn
from shelfwise.index import detect_language
from shelfwise.index.language import choose_encoder
from shelfwise.index.text import has_cjk
from shelfwise.retrieve import HybridSearcher, SearchConfig, SearchTrace
from shelfwise.retrieve.query_words import query_words

from common import percentiles, print_table, write_json

DEPTH = 5  # SearchConfig.lexical_shortcut's default
DEPTHS = (1, 2, 3, 5)  # hypothetical depths
LENGTH_CAPS = (2.0, 3.0, 4.0, 6.0, 8.0)  # guard: mean top-title word count <= cap x the query's (n_words)
Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]


@dataclass
class SetRun:
    """One set's per-query figures, in ``judgments.judged()`` order."""

    name: str
    queries: list[str]
    ids: list[str]
    on: Floats  # NDCG@10, the shipped default
    off: Floats  # every query fused
    words: Floats  # the words-only mode: what a shortcut query gets
    fired: Flags  # the search's own trace said "words"
    rules: dict[str, Flags]  # hypothetical firing rules
    length_ratio: Floats  # mean term count of the top titles / query term count (inf: no test)


def ratio_ci(a: Floats, b: Floats, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """mean(a) / mean(b) with its 95% paired-bootstrap interval over queries."""
    if len(a) == 0:
        return {"n": 0}
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    r = a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-12)
    return {
        "n": len(a),
        "ndcg": float(a.mean()),
        "ndcg_fused": float(b.mean()),
        "ratio": float(a.mean() / max(b.mean(), 1e-12)),
        "ci95": [float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))],
    }


def ndcg(searcher: HybridSearcher, judgments: Judgments, **kw: Any) -> Floats:
    return np.asarray(evaluate_search(searcher_fn(searcher, **kw), judgments).per_query["ndcg@10"])


def title_terms(searcher: HybridSearcher, row: int) -> set[str]:
    return set(searcher.lexical.tokenizer(searcher.catalog.products[row].title))


def zh_rules(searcher: HybridSearcher, query: str, rows: list[int], depth: int) -> tuple[bool, bool]:
    """Whether the top ``depth`` titles each hold every jieba word of ``query`` (all its character
    pairs), and each of its character unigrams + bigrams; a query of fewer than two words never."""
    tok = searcher.lexical.tokenizer
    words = query_words(query, tok, searcher.lexical.words)
    if len(words) < 2 or len(rows) < depth:
        return False, False
    need_words = {t for w in words for t in w}
    need_ngrams = set(tok(query))
    held = [title_terms(searcher, r) for r in rows[:depth]]
    return all(need_words <= h for h in held), all(need_ngrams <= h for h in held)


def n_words(searcher: HybridSearcher, text: str) -> int:
    """``text``'s words in one unit for both languages: jieba words where it holds Chinese
    (:func:`query_words`), else its distinct word terms."""
    tok = searcher.lexical.tokenizer
    return len(query_words(text, tok, searcher.lexical.words)) if has_cjk(text) else len(set(tok(text)))


def probe(searcher: HybridSearcher, query: str) -> tuple[bool, dict[str, bool], float]:
    """(fired, hypothetical rules, length ratio) for one query, as the search reads it. The rules,
    at each depth d of :data:`DEPTHS`: ``zh_words@d`` / ``zh_ngrams@d`` let a Chinese query in under
    either reading (any other query: the shipped test at depth d)."""
    trace = SearchTrace()
    searcher.search(query, 10, trace=trace)
    intent = searcher.understand(query)
    text = intent.text if intent is not None else query
    rows = [int(r) for r in searcher.lexical.retrieve(text, DEPTH).ids]
    rules: dict[str, bool] = {}
    for d in DEPTHS:
        if has_cjk(text):
            zw, zn = zh_rules(searcher, text, rows, d)
        else:
            zw = zn = len(rows) >= d and searcher.title_terms.hold_all(text, rows[:d])
        rules[f"zh_words@{d}"], rules[f"zh_ngrams@{d}"] = zw, zn
    sizes = [n_words(searcher, searcher.catalog.products[r].title) for r in rows]
    n_q = n_words(searcher, text)
    ratio = float(np.mean(sizes)) / n_q if rows and n_q else np.inf
    return trace.ranked_by == "words", rules, float(ratio)


def latency(searcher: HybridSearcher, queries: list[str], n: int, passes: int) -> dict[str, Any]:
    """Never-seen queries, passes with the shortcut on and off alternated (query cache cleared)."""
    qs = queries[:n]
    off = replace(searcher.config, lexical_shortcut=0)
    out: dict[str, list[float]] = {"on": [], "off": []}
    searcher.search("warm up", 10)
    for _ in range(passes):  # on, off, off, on, ...: no drift favours either
        for label, cfg in (("on", None), ("off", off), ("off", off), ("on", None)):
            searcher.dense._cache.clear()
            searcher.title_terms.clear()
            for q in qs:
                t0 = time.perf_counter()
                searcher.search(q, 10, config=cfg)
                out[label].append(time.perf_counter() - t0)
    searcher.dense._cache.clear()
    res: dict[str, Any] = {k: {**percentiles(v), "mean_ms": 1000 * float(np.mean(v))} for k, v in out.items()}
    res["queries"], res["passes"], res["load_avg_1m"] = len(qs), passes, os.getloadavg()[0]
    return res


def run_searcher(name: str, catalog: Catalog, judgments: Judgments, lat_n: int) -> tuple[SetRun, dict[str, Any]]:
    texts = catalog.texts()
    profile = detect_language(texts)
    spec = choose_encoder(profile).spec
    queries = [judgments.queries[q] for q in judgments.judged()]
    print(f"\n== {name}: {len(catalog)} products, {len(queries)} judged queries; {spec}")
    searcher = HybridSearcher.build(catalog, load_encoder(spec, CACHE), language=profile, encoder_spec=spec)
    lat = latency(searcher, queries, lat_n, 1) if lat_n else {}
    searcher.dense.prime(queries)
    on = ndcg(searcher, judgments)
    off = ndcg(searcher, judgments, config=replace(SearchConfig(), lexical_shortcut=0))
    words = ndcg(searcher, judgments, mode="bm25")
    probes = [probe(searcher, q) for q in queries]
    fired = np.array([p[0] for p in probes], dtype=bool)
    rules = {k: np.array([p[1][k] for p in probes], dtype=bool) for k in probes[0][1]} if probes else {}
    # a shortcut query ranks exactly as the words-only mode: the identity the hypothetical rows rely on
    mismatch = int((np.abs(np.where(fired, words, off) - on) > 1e-9).sum())
    run = SetRun(
        name, queries, judgments.judged(), on, off, words, fired, rules, np.array([p[2] for p in probes]),
    )  # fmt: skip
    return run, {"encoder": spec, "latency": lat, "identity_mismatches": mismatch}


def summarise(run: SetRun) -> dict[str, Any]:
    f = run.fired
    out: dict[str, Any] = {
        "queries": len(run.queries),
        "fired": int(f.sum()),
        "fired_share": float(f.mean()),
        "encoder_calls_saved_share": float(f.mean()),
        "all_queries": ratio_ci(run.on, run.off),
        "on_fired_queries": ratio_ci(run.on[f], run.off[f]),
        "words_only_mode_all": float(run.words.mean()),
        "examples_fired": [q for q, x in zip(run.queries, f, strict=True) if x][:8],
    }
    for rule, flags in run.rules.items():
        hyp = np.where(flags, run.words, run.off)
        out[f"if_{rule}"] = {
            "fired": int(flags.sum()),
            "fired_share": float(flags.mean()),
            "all_queries": ratio_ci(hyp, run.off),
            "on_fired_queries": ratio_ci(hyp[flags], run.off[flags]),
            "examples_fired": [q for q, x in zip(run.queries, flags, strict=True) if x][:8],
        }
    return out


def candidates(r: SetRun) -> dict[str, Flags]:
    """The firing rules the split compares: the shipped one first (it wins ties), each depth of the
    rule with Chinese let in (jieba words), alone and with a title-length guard (fire only when the
    top titles hold at most ``cap`` times the query's term count), and never."""
    out = {"shipped (depth 5, Chinese never)": r.fired}
    for d in DEPTHS:
        for cap in (None, *LENGTH_CAPS):
            flags = r.rules[f"zh_words@{d}"]
            out[f"depth {d}" + ("" if cap is None else f", titles <= {cap:g}x query")] = (
                flags if cap is None else flags & (r.length_ratio <= cap)
            )
    out["never (fuse all)"] = np.zeros_like(r.fired)
    return out


def guard_search(runs: list[SetRun], seed: int = 0) -> dict[str, Any]:
    """Each set's judged queries split in halves (seeded); the rule of :func:`candidates` with the
    best worst NDCG@10 ratio (to every query fused) over the sets on half A, reported on half B."""
    halves: dict[str, tuple[Flags, Flags]] = {}
    for r in runs:
        pick = np.zeros(len(r.queries), dtype=bool)
        pick[random.Random(seed).sample(range(len(r.queries)), len(r.queries) // 2)] = True
        halves[r.name] = (pick, ~pick)
    table: dict[str, Any] = {}
    for key in candidates(runs[0]):
        per: dict[str, Any] = {}
        for r in runs:
            flags = candidates(r)[key]
            hyp = np.where(flags, r.words, r.off)
            a, b = halves[r.name]
            per[r.name] = {
                "A": ratio_ci(hyp[a], r.off[a]),
                "B": ratio_ci(hyp[b], r.off[b]),
                "fired_share_B": float(flags[b].mean()),
            }
        table[key] = {"worst_ratio_A": min(v["A"]["ratio"] for v in per.values()), "sets": per}
    chosen = max(table, key=lambda k: table[k]["worst_ratio_A"])
    return {"sets": [r.name for r in runs], "split_seed": seed, "chosen_on_A": chosen, "rules": table}


def stuffed_catalog(catalog: Catalog, vectors: npt.NDArray[np.float32], how: str, seed: int = 0) -> Catalog:
    """SYNTHETIC: each title plus the words of its 3 nearest titles (``neighbours``) or of one random
    other title (``random``) that it lacks, in their order."""
    n = len(catalog)
    rng = np.random.default_rng(seed)
    if how == "neighbours":
        donors = np.empty((n, 3), dtype=np.int64)
        for s in range(0, n, 2000):
            sims = vectors[s : s + 2000] @ vectors.T
            sims[np.arange(len(sims)), np.arange(s, s + len(sims))] = -np.inf
            donors[s : s + 2000] = np.argsort(-sims, axis=1)[:, :3]
    else:
        donors = ((np.arange(n) + rng.integers(1, n, size=n)) % n)[:, None]
    out = []
    for i, p in enumerate(catalog.products):
        have = {w.lower() for w in p.title.split()}
        extra = [w for d in donors[i] for w in catalog.products[int(d)].title.split() if w.lower() not in have]
        out.append(replace(p, title=" ".join([p.title, *dict.fromkeys(extra)])))
    return Catalog(out)


def ci_text(d: dict[str, Any], digits: int = 4) -> str:
    return f"{d['ratio']:.{digits}f} [{d['ci95'][0]:.{digits}f}, {d['ci95'][1]:.{digits}f}]" if d["n"] else "-"


def table_rows(name: str, s: dict[str, Any], rules: list[str]) -> list[list[Any]]:
    """One row for the shipped rule and one for each hypothetical rule of a set's summary."""
    out = []
    for label, d in [("shipped", s), *((f"if {k}", s[f"if_{k}"]) for k in rules)]:
        a = d["all_queries"]
        out.append(
            [name, label, d["fired_share"], a["ndcg"], a["ndcg_fused"], ci_text(a), ci_text(d["on_fired_queries"])]
        )
    return out


def print_split(split: dict[str, Any]) -> None:
    print(f"rule chosen on half A ({', '.join(split['sets'])}): {split['chosen_on_A']}")
    for k, v in split["rules"].items():
        b = ", ".join(f"{n} {ci_text(x['B'])} fires {x['fired_share_B']:.2f}" for n, x in v["sets"].items())
        print(f"  {k}: worst A {v['worst_ratio_A']:.4f}; B {b}")


def stuffed_runs(rows: list[list[Any]]) -> dict[str, Any]:
    """SYNTHETIC keyword-stuffed Home Depot dev_1k catalogs (:func:`stuffed_catalog`), re-embedded."""
    catalog, judgments = load_set("hd1k")
    spec = choose_encoder(detect_language(catalog.texts())).spec
    vectors = HybridSearcher.build(catalog, load_encoder(spec, CACHE)).dense.index.rows(np.arange(len(catalog)))
    out: dict[str, Any] = {}
    for how in ("neighbours", "random"):
        stuffed = stuffed_catalog(catalog, vectors, how)
        run, extra = run_searcher(f"hd1k stuffed {how} (SYNTHETIC)", stuffed, judgments, 0)
        s = summarise(run)
        words = float(np.mean([len(p.title.split()) for p in stuffed.products]))
        # what the real-set candidates would do here (explanation only: nothing is chosen on synthetic data)
        rules = {k: {**ratio_ci(np.where(f, run.words, run.off), run.off), "fired_share": float(f.mean())}
                 for k, f in candidates(run).items()}  # fmt: skip
        out[how] = {**s, **extra, "mean_title_words": words, "candidate_rules": rules}
        for k in ("depth 5, titles <= 4x query", "depth 5, titles <= 6x query", "depth 5, titles <= 8x query"):
            print(f"SYNTHETIC stuffed {how}, {k}: {ci_text(rules[k])} fires {rules[k]['fired_share']:.3f}")
        rows += table_rows(f"SYNTHETIC hd1k stuffed {how}", s, ["zh_words@1", "zh_words@2"])
    out["mean_title_words_unstuffed"] = float(np.mean([len(p.title.split()) for p in catalog.products]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="hd,hd1k,zh")
    ap.add_argument("--latency-queries", type=int, default=300)
    ap.add_argument("--stuffed", action="store_true")
    ap.add_argument("--out", default="shortcut_s19")
    args = ap.parse_args()
    payload: dict[str, Any] = {"config": {"lexical_shortcut": SearchConfig().lexical_shortcut}, "sets": {}}
    payload["uptime_load_start"] = os.getloadavg()
    runs: list[SetRun] = []
    rows: list[list[Any]] = []
    for name in args.sets.split(","):
        catalog, judgments = load_set(name)
        run, extra = run_searcher(name, catalog, judgments, args.latency_queries)
        runs.append(run)
        payload["sets"][name] = s = {**summarise(run), **extra}
        rows += table_rows(name, s, list(run.rules))
    if args.stuffed:
        payload["synthetic_stuffed_hd1k"] = stuffed_runs(rows)
    print_table(
        f"lexical shortcut vs every query fused (load {os.getloadavg()[0]:.2f})",
        ["set", "rule", "fires", "NDCG@10", "fused", "ratio [95% CI]", "on fired [95% CI]"],
        rows,
    )
    for name, s in payload["sets"].items():
        lat = s["latency"]
        if lat:
            got = ", ".join(
                f"{k} {lat['on'][k + '_ms']:.2f} / {lat['off'][k + '_ms']:.2f}" for k in ("mean", "p50", "p99")
            )
            print(f"{name} never-seen queries, shortcut on / off (ms, load {lat['load_avg_1m']:.2f}): {got}")
    if len(runs) > 1:
        payload["rule_split"] = guard_search([r for r in runs if r.name != "hd1k"] or runs)
        print_split(payload["rule_split"])
    payload["uptime_load_end"] = os.getloadavg()
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
