"""Shopper-facing texts in Simplified Chinese: the reasons and notices Shelfwise writes in English,
read back by their templates (``GET /search`` and ``/recommend/*`` with ``lang=zh``).

Every reason a recommendation carries is built from a few templates
(:class:`~shelfwise.recommend.wording.Wording`: "bought together with X", "shoppers often buy this
after X", "popular in Z", ...) and every shopper-facing search notice from a few more; each is matched
here whole (anchored) and rewritten, its variable parts (product titles, category names, the
words a query was also searched with) kept as they are. A text no template matches is returned
unchanged, in English: a new English template without a Chinese one shows up as English, never as
a wrong translation (``tests/test_wording_zh.py`` runs the :class:`~shelfwise.recommend.wording.Wording`
forms, the reason constants and the shopper-facing notices through this; a template composed elsewhere
is covered only if listed there).
Notices meant for the store's operator (setup advice) are not translated: the storefront does not
show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

LANGUAGES = ("en", "zh")
_OR, _OR_ZH = "' or '", "' 或 '"  # between the brands of a brand notice

# a Wording's parts (by evidence: viewed, added to cart, bought, neutral) -> Chinese
_TOGETHER = {
    "viewed together": "一起浏览",
    "added to carts together": "一起加入购物车",
    "bought together": "一起购买",
    "often chosen together": "常被一起选购",
    "chosen together": "一起选购",  # beside a count: "chosen together with X (once)"
}
_DID = {
    "viewed this": "浏览过这件商品",
    "added this to their carts": "把它加入过购物车",
    "bought this": "购买过这件商品",
    "chose this": "选购过这件商品",
}
_DO = {
    "view this": "浏览这件商品",
    "add this to their carts": "把它加入购物车",
    "buy this": "购买这件商品",
    "choose this": "选购这件商品",
}
_DONE = {"viewed": "浏览", "added to carts": "加入购物车", "bought": "购买", "chosen": "选购"}
_YOURS = {  # a cold item's reason: "new, similar to X you bought" (recommend/cold_items.py)
    "you bought": "购买过",
    "you viewed": "浏览过",
    "you added to your cart": "加入过购物车",
    "you showed interest in": "关注过",
}
_BEFORE = {  # "you bought this in 3 of your last 5 orders" (recommend/baskets.py): what was done
    "you bought this": "购买过",
    "you viewed this": "浏览过",
    "you added this to your cart": "加入过购物车",
    "you showed interest in this": "关注过",
}
_UNIT = {"order": "购物", "visit": "访问"}
_FIXED = {
    "you viewed this before": "你之前浏览过",
    "you added this to your cart before": "你之前加入过购物车",
    "you bought this before": "你之前购买过",
    "you showed interest in this before": "你之前关注过",
    "similar product description": "商品描述相似",
    "matches what you searched for": "符合你的搜索",
    "new or less-known item, shown to learn whether you like it": "新品或小众商品：推荐给你看看是否喜欢",
    "popular": "热门商品",
    "popular in the catalog": "全店热门商品",  # a product with no category
    "often chosen together": "常被一起选购",
    "unknown user: popular items": "新顾客：为你推荐热门商品",
    "no session items and no query: popular items": "暂无浏览记录和搜索词：为你推荐热门商品",
    "nothing to recommend to this shopper": "暂无可推荐的商品",
    "no related items": "暂无相关商品",
    "no complements from other categories": "暂无其他品类的搭配商品",
    "nothing to recommend for this session": "暂无可推荐的商品",
    "no other product of another category shares baskets with it or with items like it": (
        "其他品类中暂无与它一起购买的商品"
    ),
    "no recommender in this shelf (built without behaviour history): related by text similarity only": (
        "本店暂无推荐模型：按商品描述的相似度推荐"
    ),
}


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _thing(x: str) -> str:
    """A reason's object: a title, "items like T", "items in C" or "another T"."""
    if x.startswith("items like "):  # "与" leads the reasons it goes into: not "与与X相似的商品"
        return f"{x[len('items like ') :]}的同类商品"
    if x.startswith("items in "):
        return f"{x[len('items in ') :]}类商品"
    if x.startswith("another "):
        return f"另一款{x[len('another ') :]}"
    return x


def _list_zh(listed: str) -> str:
    """A list the English notice joins with ", " (and ends ", ... (11 in all)"), in Chinese: 、 and 等 11 个."""
    head, more = re.subn(r", \.\.\. \((\d+) in all\)$", "", listed)
    total = re.search(r"\((\d+) in all\)$", listed)
    return head.replace(", ", "、") + (f" 等 {total.group(1)} 个" if more and total else "")


def _price_zh(words: str) -> str:
    """:func:`~shelfwise.catalog.schema.price_range`'s words in Chinese."""
    for en, zh in ((" or more", " 及以上"), (" or less", " 及以下"), (" to ", " 至 ")):
        words = words.replace(en, zh)
    return words


def _together(m: re.Match[str]) -> str:
    kind, x, times, example = m.group(1), m.group(2), m.group(3), m.group(4)
    often = kind == "often chosen together"
    text = f"{'常' if often else ''}与{_thing(x)}{'一起选购' if often else _TOGETHER[kind]}"
    if times:
        text += "过 1 次" if times == "once" else f"过 {times.removesuffix(' times')} 次"
    return text + (f"（例如{_thing(example)}）" if example else "")


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^item ids not in the catalog, left out: (.+?)(?: and ([\d,]+) more)?(?:; (.+))?$", re.S),
        lambda m: (
            f"商品目录中没有的编号已略过：{m.group(1)}"
            + (f" 等 {int(m.group(2)) + 5} 个" if m.group(2) else "")
            + (f"；{localise(m.group(3), 'zh')}" if m.group(3) else "")
        ),
    ),
    (
        re.compile(rf"^({_alt(_TOGETHER)}) with (.+?)(?: \((once|[\d,]+ times)\))?(?: \(e\.g\. (.+)\))?$", re.S),
        _together,
    ),
    (
        re.compile(
            r"^(?:frequently (viewed|added to carts|bought) together|often chosen together)(?: \(e\.g\. (.+)\))?$", re.S
        ),
        lambda m: (
            (f"经常{_TOGETHER[m.group(1) + ' together']}" if m.group(1) else "常被一起选购")
            + (f"（例如{_thing(m.group(2))}）" if m.group(2) else "")
        ),
    ),
    (
        re.compile(rf"^shoppers with sessions like yours ({_alt(_DID)})$"),
        lambda m: f"浏览习惯与你相似的顾客{_DID[m.group(1)]}",
    ),
    (
        re.compile(rf"^shoppers often ({_alt(_DO)}) after (.+)$", re.S),
        lambda m: f"顾客常在{m.group(2)}之后{_DO[m.group(1)]}",
    ),
    (re.compile(rf"^shoppers often ({_alt(_DO)}) next$"), lambda m: f"顾客接下来常{_DO[m.group(1)]}"),
    (
        re.compile(rf"^often ({_alt(_DONE)}) next in sessions like yours$"),
        lambda m: f"在与你相似的浏览中，接下来常被{_DONE[m.group(1)]}",
    ),
    (
        re.compile(rf"^shoppers with similar histories ({_alt(_DID)})$"),
        lambda m: f"购物记录与你相似的顾客{_DID[m.group(1)]}",
    ),
    (
        re.compile(r"^new or less-known item, shown to learn whether you like it \((.+)\)$", re.S),
        lambda m: f"新品或小众商品：推荐给你看看是否喜欢（{localise(m.group(1), 'zh')}）",
    ),
    (
        re.compile(rf"^({_alt(_BEFORE)}) in your last (order|visit)$"),
        lambda m: f"你上次{_UNIT[m.group(2)]}时{_BEFORE[m.group(1)]}",
    ),
    (
        re.compile(rf"^({_alt(_BEFORE)}) in (each|\d+) of your last (\d+) (order|visit)s$"),
        lambda m: (
            f"你最近 {m.group(3)} 次{_UNIT[m.group(4)]}"
            + (f"都{_BEFORE[m.group(1)]}" if m.group(2) == "each" else f"中有 {m.group(2)} 次{_BEFORE[m.group(1)]}")
        ),
    ),
    (re.compile(r"^popular in (.+)$", re.S), lambda m: f"{m.group(1)}中的热门商品"),
    (
        re.compile(r"^similar text to (.+) \(cosine (-?[\d.]+)\)$", re.S),
        lambda m: f"与{m.group(1)}的描述相似（相似度 {m.group(2)}）",
    ),
    (re.compile(r"^similar text to (.+)$", re.S), lambda m: f"与{m.group(1)}的描述相似"),
    (
        re.compile(rf"^new, similar to (.+) ({_alt(_YOURS)})$", re.S),
        lambda m: f"新品：与你{_YOURS[m.group(2)]}的{m.group(1)}相似",
    ),
    # search notices a shopper sees
    (
        re.compile(r"^Chinese words also searched in English: (.+) \(CC-CEDICT\)$", re.S),
        lambda m: f"中文词也按英文搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^English words also searched in Chinese: (.+) \(CC-CEDICT\)$", re.S),
        lambda m: f"英文词也按中文搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^Pinyin also searched as the Chinese words it spells: (.+)$", re.S),
        lambda m: f"拼音也按对应的中文词搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^Taiwan wording also searched as mainland wording: (.+)$", re.S),
        lambda m: f"台湾用词也按大陆用词搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^Mainland wording also searched as Taiwan wording: (.+)$", re.S),
        lambda m: f"大陆用词也按台湾用词搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^also searched, by the store's synonyms: (.+)$", re.S),
        lambda m: f"按本店的同义词一并搜索：{m.group(1)}",
    ),
    (
        re.compile(r"^the query names a price \((.+)\), but no product here has a price: it was searched as words$"),
        lambda m: f"搜索词中含有价格（{_price_zh(m.group(1))}），但本店商品没有价格：已按文字搜索",
    ),
    (
        re.compile(r"^sorted by price among the (\d+) most relevant products: .*$", re.S),
        lambda m: f"按价格排序的是最相关的 {m.group(1)} 件商品：本页已超出这一范围",
    ),
    (
        re.compile(r"^no product is in category (.+?) \(levels are separated by \" > \", e\.g\. (.+)\)$", re.S),
        lambda m: f'没有商品属于品类 {m.group(1)}（品类层级以 " > " 分隔，例如 {m.group(2)}）',
    ),
    (
        re.compile(r"^no product is in category (.+?)(?:; (top-level categories|there): (.+))?$", re.S),
        lambda m: (
            f"没有商品属于品类 {m.group(1)}"
            + (
                f"；{'一级品类' if m.group(2) == 'top-level categories' else '该层级的品类'}：{_list_zh(m.group(3))}"
                if m.group(2)
                else ""
            )
        ),
    ),
    (
        re.compile(r"^no product costs (.+) \(prices here: (.+)\)$"),
        lambda m: f"没有商品的价格在 {_price_zh(m.group(1))}（本店价格：{_price_zh(m.group(2))}）",
    ),
    (
        re.compile(r"^no product matches the price the query names \((.+)\)$"),
        lambda m: f"没有商品符合搜索词中的价格（{_price_zh(m.group(1))}）",
    ),
    (
        re.compile(
            r"^no product (that passes the filters )?holds a word of (.+): "
            r"these are the nearest by spelling( and meaning)?$",
            re.S,
        ),
        lambda m: (
            f"没有商品{'在所选筛选下' if m.group(1) else ''}含有 {m.group(2)} 中的词："
            f"以下是{'拼写和含义' if m.group(3) else '拼写'}最接近的商品"
        ),
    ),
    (re.compile(r"^no product has brand (.+)$", re.S), lambda m: "没有商品属于品牌 " + m.group(1).replace(_OR, _OR_ZH)),
    (
        re.compile(r"^no product has attribute (.+?) \(attributes here: (.+)\)$", re.S),
        lambda m: f"没有商品有属性 {m.group(1)}（本店的属性：{'无' if m.group(2) == 'none' else m.group(2)}）",
    ),
    (
        re.compile(r"^no product has a price, so a price filter matches none.*$", re.S),
        lambda m: "本店商品没有价格：价格筛选没有结果",
    ),
    (
        re.compile(r"^the one product holding every word of (.+) is sold out(: in_stock=true hides them)?$", re.S),
        lambda m: f"唯一含有 {m.group(1)} 全部词语的商品已售罄" + ("：仅看有货隐藏了它" if m.group(2) else ""),
    ),
    (
        re.compile(r"^all (\d+) products holding every word of (.+) are sold out(: in_stock=true hides them)?$", re.S),
        lambda m: (
            f"含有 {m.group(2)} 全部词语的 {m.group(1)} 件商品都已售罄" + ("：仅看有货隐藏了它们" if m.group(3) else "")
        ),
    ),
    (
        re.compile(r"^no product is in stock, so in_stock=true matches none$"),
        lambda m: "本店没有有货的商品：仅看有货没有结果",
    ),
    (
        re.compile(r"^no product is in stock \(recommendations list in-stock products only by default; .*\)$", re.S),
        lambda m: "本店没有有货的商品（推荐默认只列有货商品；in_stock=false 可列出售罄商品）",
    ),
    (re.compile(r"^no product has (.+?) ('.*')$", re.S), lambda m: f"没有商品的{m.group(1)}为 {m.group(2)}"),
    (re.compile(r"^no history yet for shopper .*$", re.S), lambda m: "你还没有浏览记录：结果尚未个性化"),
    (
        re.compile(r"^only (\d+) of the (\d+) asked for: (.+)$", re.S),
        lambda m: f"只找到 {m.group(1)} 件（共需 {m.group(2)} 件）：{localise(m.group(3), 'zh')}",
    ),
)


# the filters in force on a short or empty recommendation list (serve/lists.py's filters_said)
_FILTERED = re.compile(
    r"^(.+?) \((?:with the ([a-z -]+(?: / [a-z -]+)*) filters?)?(?:; )?(in-stock products only, by default)?\)$", re.S
)
_FILTER_NAMES = {"category": "品类", "brand": "品牌", "price": "价格", "attribute": "属性", "in-stock": "有货"}


def _filtered(text: str) -> str | None:
    """ "no related items (with the category filter; in-stock products only, by default)" in Chinese."""
    m = _FILTERED.match(text)
    if m is None or not (m.group(2) or m.group(3)):
        return None
    names = m.group(2).split(" / ") if m.group(2) else []
    head = localise(m.group(1), "zh")
    if head == m.group(1) or not all(n in _FILTER_NAMES for n in names):
        return None
    said = [f"在所选的{' / '.join(_FILTER_NAMES[n] for n in names)}筛选下"] if names else []
    said += ["默认只列有货商品"] if m.group(3) else []
    return f"{head}（{'；'.join(said)}）"


def _joined(text: str) -> str | None:
    """A notice built of known parts, in Chinese (None when it is not): an empty list's notice with
    the filters in force said ("no related items (with the category filter)") or with why the
    filter matches nothing ("no related items: no product is in category 'X'; ...")."""
    if text.endswith(")") and (filtered := _filtered(text)) is not None:
        return filtered
    head, sep, rest = text.partition(": ")
    if not sep or head not in _FIXED:
        return None
    return f"{_FIXED[head]}：" + "；".join(localise(part, "zh") for part in re.split(r"; (?=no product )", rest))


def localise(text: str, lang: str) -> str:
    """``text`` in ``lang`` (one of :data:`LANGUAGES`): unchanged for ``en`` and for a text no
    template matches; for ``zh`` the template's Chinese with the variable parts kept."""
    if lang == "en" or not text:
        return text
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    fixed = _FIXED.get(text) or _joined(text)
    if fixed is not None:
        return fixed
    for pattern, write in _RULES:
        m = pattern.match(text)
        if m is not None:
            return write(m)
    return text


def localise_all(texts: Sequence[str] | None, lang: str) -> list[str] | None:
    """:func:`localise` of each (None stays None)."""
    return None if texts is None else [localise(t, lang) for t in texts]
