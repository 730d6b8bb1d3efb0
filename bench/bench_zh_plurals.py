"""English plurals read in Chinese on the Taobao titles: is there a principled fix for "glasses" -> 玻璃?

``Bilingual.chinese_of`` reads an English word on a Chinese catalog as the CC-CEDICT word most titles
hold among those the word (as typed, else its singular) is an early sense of
(:func:`~shelfwise.retrieve.translate.to_chinese`). CC-CEDICT has no sense "glasses" (only
"eyeglasses", "spectacles", "sunglasses"), so "glasses" is read as "glass": 玻璃, 杯子, never 眼镜.
Two dictionary-only ways to reach 眼镜 are tried here beside the shipped reading, on the same titles:

* ``hyponyms first``: a plural with no sense of its own is first read through the glosses headed by
  it ("X glasses": 老花镜, 护目镜; closed compounds "eyeglasses", "sunglasses": 眼镜, 墨镜), English
  compounds being head-final, then as its singular;
* ``pooled``: those words and the singular's together, the one most titles hold.

Titles: the Taobao products of ../shared/data/multicpr_zh (read there, evaluation only; 2,083
titles). Queries and judgments: the single-word English queries of ``bench_zh_on_en.py`` (made-up,
with their hand-chosen words) and common shop plurals with a Chinese word chosen by hand here
(MADE-UP judgments: a reading "hits" when it holds that word). No real judged query is an English
word on a Chinese catalog (``zh_on_en.json``: words added to 0 of Taobao's 135 real queries), so no
real figure can move either way.

Run: python bench/bench_zh_plurals.py -> bench/results/zh_plurals_s18.json
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from bench_search_real import load_set
from bench_zh_on_en import EN_QUERIES
from shelfwise.encode import HashingEncoder
from shelfwise.index.text import singular_forms
from shelfwise.retrieve import HybridSearcher, translate

from common import print_table, write_json

PLURALS = {  # made up here: a Chinese word a title for the plural holds
    "glasses": "眼镜", "phones": "手机", "shoes": "鞋", "watches": "表", "chairs": "椅", "cups": "杯",
    "bags": "包", "socks": "袜", "gloves": "手套", "toys": "玩具", "books": "书", "keys": "钥匙",
    "lights": "灯", "towels": "毛巾", "plates": "盘", "tables": "桌", "boots": "靴", "sandals": "凉鞋",
    "slippers": "拖鞋", "headphones": "耳机", "trousers": "裤", "skirts": "裙", "dresses": "裙",
    "shirts": "衫", "hats": "帽", "belts": "腰带", "bottles": "瓶", "pillows": "枕", "knives": "刀",
    "cases": "壳",
}  # fmt: skip


def hyponym_words(plural: str, rev: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The Chinese words of the glosses headed by ``plural``: "X plural", or a closed compound
    "Xplural" whose X is itself a gloss (eyeglasses, sunglasses)."""
    heads = [
        k
        for k in rev
        if k != plural and (k.endswith(" " + plural) or (k.endswith(plural) and rev.get(k[: -len(plural)])))
    ]
    return list(dict.fromkeys(w for k in heads for w in rev[k][: translate.CANDIDATES]))


def reading(word: str, rev: Mapping[str, tuple[str, ...]], occurs: Callable[[str], int], how: str) -> str:
    """``word`` read in Chinese the shipped way, or with its hyponyms first / pooled (module doc)."""
    if how == "shipped" or word in rev:
        return translate.to_chinese(word, occurs, rev, typed=occurs)
    hypo = hyponym_words(word, rev)
    singular = [w for s in sorted(singular_forms(word)) for w in rev.get(s, ())[: translate.CANDIDATES]]
    cands = hypo if how == "hyponyms first" else list(dict.fromkeys(hypo + singular))
    counts = [occurs(c) for c in cands]
    if cands and max(counts) > 0 and max(counts) > occurs(word):
        return cands[counts.index(max(counts))]
    return translate.to_chinese(word, occurs, rev, typed=occurs)  # none held: the singular, as shipped


def main() -> None:
    catalog, _ = load_set("zh")
    searcher = HybridSearcher.build(catalog, HashingEncoder(dim=32))  # the reading reads the word index only
    occurs, rev = searcher.bilingual.holding, translate._reverse()
    judged = {q: w for q, w in EN_QUERIES.items() if " " not in q} | PLURALS
    ways = ("shipped", "hyponyms first", "pooled")
    rows, out = [], []
    for q, want in judged.items():
        got = {how: reading(q, rev, occurs, how) for how in ways}
        hit = {how: bool(got[how]) and want in got[how] for how in ways}
        out.append({"query": q, "word": want, "made_up_judgment": True, "read": got, "hit": hit})
        if len(set(got.values())) > 1 or q == "glasses":
            rows.append([q, want, *(f"{got[h] or '-'} {'+' if hit[h] else ''}" for h in ways)])
    hits = {how: sum(r["hit"][how] for r in out) for how in ways}
    rows.append(["hits", f"of {len(out)}", *(str(hits[h]) for h in ways)])
    print_table(
        f"English words read on the Taobao titles ({len(catalog):,}); only the words a way reads differently",
        ["query", "word (made up)", *ways],
        rows,
    )
    write_json("zh_plurals_s18", {"titles": len(catalog), "hits": hits, "queries": out, "load_1m": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
