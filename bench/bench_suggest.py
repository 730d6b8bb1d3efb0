"""Type-ahead suggestions from the catalog alone, judged by real shoppers' queries (no query log used).

For each real query of two words or more (Home Depot dev queries, Multi-CPR Taobao dev queries;
../shared, evaluation only), a shopper is taken to have typed the query's first word and the first
two characters of its second (Chinese: the first two characters, then one more). A suggestion list
"hits" when one of its 8 suggestions continues with the query's next word (Chinese: its next two
characters), so the shopper could pick it. Rows:

* ``shelfwise``: :class:`shelfwise.retrieve.suggest.Suggester` fitted on the catalog only (no logged
  queries: the cold start every store begins with);
* ``frequent words``: the peer a store gets without phrases: the typed text's last partial word
  completed by the catalog's most frequent words with that prefix (what a plain prefix index over
  title words returns).

Chinese queries' first two characters are also typed as toneless pinyin (what a shopper sends before
picking characters: "按摩垫" -> "anmo", spelled by pypinyin in context); ``pinyin`` rows count the
queries where a suggestion starts with the two characters meant, against the same two characters
typed as such (the ceiling: the catalog has a phrase starting with them).

Also fit time, size and per-call latency (p50 / p99) of ``suggest``, with the load average.

Run: python bench/bench_suggest.py [NAME] -> bench/results/NAME.json (default suggest)
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_real import load_set
from shelfwise.index.text import has_cjk, normalise
from shelfwise.retrieve.suggest import Suggester, pinyin_keys

from common import percentiles, print_table, write_json

K = 8
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def cases(queries: list[str]) -> list[tuple[str, str]]:
    """(typed, wanted continuation) per real query that has a next word to predict."""
    out = []
    for q in dict.fromkeys(normalise(q) for q in queries):
        if has_cjk(q):
            q = q.replace(" ", "")
            if len(q) >= 4:
                out.append((q[:3], q[3:5]))
            continue
        words = _WORD.findall(q)
        if len(words) >= 2 and len(words[1]) >= 3:
            out.append((f"{words[0]} {words[1][:2]}", words[1]))
    return out


def hit(suggestions: list[str], typed: str, wanted: str) -> bool:
    if has_cjk(typed):
        return any(s.replace(" ", "").startswith(typed + wanted) for s in suggestions)
    head = typed.rsplit(" ", 1)[0]
    return any(
        s.startswith(f"{head} {wanted}") and s[len(head) + 1 + len(wanted) :][:1] in ("", " ") for s in suggestions
    )


def frequent_words(titles: list[str]) -> Any:
    counts = Counter(w for t in titles for w in set(_WORD.findall(normalise(t))))
    ranked = sorted(counts, key=lambda w: (-counts[w], w))

    def suggest(typed: str) -> list[str]:
        head, _, last = typed.rpartition(" ")
        if has_cjk(typed):  # no word boundaries: complete the typed run by frequent title runs
            return [w for w in ranked if w.startswith(typed)][:K]
        return [f"{head} {w}".strip() for w in ranked if w.startswith(last)][:K]

    return suggest


_CJK2 = re.compile(r"[\u3400-\u9fff]{2}")


def spell(typed: str) -> str:
    """Toneless pinyin of ``typed``, as pypinyin reads it in context."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(typed))


def run_set(name: str) -> dict[str, Any]:
    catalog, judg = load_set(name)
    queries = [judg.queries[q] for q in judg.judged()]
    todo = cases(queries)
    t0 = time.perf_counter()
    s = Suggester.fit(catalog)
    fit_s = time.perf_counter() - t0
    peer = frequent_words([p.title for p in catalog.products])
    ours = [hit([x.text for x in s.suggest(typed, K)], typed, wanted) for typed, wanted in todo]
    theirs = [hit(peer(typed), typed, wanted) for typed, wanted in todo]
    heads = list(dict.fromkeys(q[:2] for q in map(normalise, queries) if _CJK2.match(q)))
    meant = [any(x.text.startswith(h) for x in s.suggest(spell(h), K)) for h in heads]
    typed_so = [any(x.text.startswith(h) for x in s.suggest(h, K)) for h in heads]
    t0 = time.perf_counter()
    pinyin_keys(s._phrases.as_dict())  # what fit and load spend spelling the phrases
    keys_s = time.perf_counter() - t0
    pinyin_times = []
    for h in heads:
        typed = spell(h)
        t = time.perf_counter()
        s.suggest(typed, K)
        pinyin_times.append(time.perf_counter() - t)
    times = []
    for typed, _ in todo:
        t = time.perf_counter()
        s.suggest(typed, K)
        times.append(time.perf_counter() - t)
    lat = percentiles(times)
    row = {
        "products": len(catalog),
        "cases": len(todo),
        "hit@8 shelfwise": sum(ours) / max(len(todo), 1),
        "hit@8 frequent words": sum(theirs) / max(len(todo), 1),
        "pinyin": {
            "queries": len(heads),
            "first two characters typed as pinyin: hit@8": sum(meant) / max(len(heads), 1),
            "typed as characters (ceiling): hit@8": sum(typed_so) / max(len(heads), 1),
            "keys": len(s._pinyin.texts),
            "keys_build_s": keys_s,
            "suggest_ms": percentiles(pinyin_times) if pinyin_times else None,
            "key_chars": sum(map(len, s._pinyin.texts)),
        },
        "fit_s": fit_s,
        "suggest_ms": lat,
        "load_1m": os.getloadavg()[0],
    }
    print(f"{name}: {row}", flush=True)
    return row


def main() -> None:
    result = sys.argv[1] if len(sys.argv) > 1 else "suggest"
    out: dict[str, Any] = {"load_start": os.getloadavg(), "sets": {}}
    for name in ("hd", "zh"):
        out["sets"][name] = run_set(name)
    print_table(
        "type-ahead from the catalog alone: real queries' next word among 8 suggestions",
        ["set", "cases", "shelfwise", "frequent words", "fit s", "p50 ms", "p99 ms", "load"],
        [
            [
                n,
                r["cases"],
                f"{r['hit@8 shelfwise']:.3f}",
                f"{r['hit@8 frequent words']:.3f}",
                f"{r['fit_s']:.2f}",
                f"{r['suggest_ms']['p50_ms']:.3f}",
                f"{r['suggest_ms']['p99_ms']:.3f}",
                f"{r['load_1m']:.1f}",
            ]
            for n, r in out["sets"].items()
        ],
    )
    out["load_end"] = os.getloadavg()
    write_json(result, out)


if __name__ == "__main__":
    main()
