"""Query-seeded session recommendations: the query's matches lead, and only they are said to match.

The store is made up (not real data). Its vectors mimic an anisotropic language-model embedding
(every text shares one strong direction, so all cosines to a query sit close together), the
case where a raw-cosine query term was flat and popularity ordered the list.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.encode import HashingEncoder
from shelfwise.encode.base import l2_normalise, query_encoder
from shelfwise.events import Event, EventLog, EventType
from shelfwise.recommend import (
    ALSConfig,
    ContentConfig,
    Context,
    HybridConfig,
    HybridRecommender,
    build_recommender,
)
from shelfwise.recommend.query import QueryMatches, word_share, words

MATCH = "matches what you searched for"

_ITEMS = [
    ("top", "Strap top", "Jersey top with narrow shoulder straps", ("Ladieswear", "Vest top"), "Black"),
    ("d1", "Stephanie dress", "Short dress in woven fabric", ("Ladieswear", "Dress"), "Red"),
    ("d2", "Chung dress", "Calf-length dress with a V-neck", ("Divided", "Dress"), "Red"),
    ("d3", "Milly dress", "Fitted dress in jersey", ("Ladieswear", "Dress"), "Red"),
    ("d4", "Wendy dress", "Dress with puff sleeves", ("Ladieswear", "Dress"), "Green"),
    ("j1", "Luna skinny jeans", "Five-pocket jeans in washed denim", ("Ladieswear", "Trousers"), "Blue"),
    ("j2", "Boyfriend jeans", "Loose jeans in washed denim", ("Divided", "Trousers"), "Blue"),
]
_FILLER = ["sweater", "blouse", "shorts", "sock", "cardigan", "bikini", "scarf", "belt", "cap", "coat"]


class Anisotropic:
    """HashingEncoder vectors plus one shared direction (cosines all near 0.8, as with E5)."""

    name, dim = "anisotropic", 64

    def encode(self, texts: Sequence[str], **_: object) -> np.ndarray:
        shared = np.zeros(self.dim, dtype=np.float32)
        shared[0] = 2.0
        return l2_normalise(HashingEncoder(dim=self.dim).encode(list(texts)) + shared)


@pytest.fixture(scope="module")
def store() -> tuple[Catalog, HybridRecommender]:
    items = [
        Product(id=i, title=t, description=d, category=c, attributes={"colour": col}) for i, t, d, c, col in _ITEMS
    ]
    for n in range(60):
        kind = _FILLER[n % len(_FILLER)]
        colour = ("Grey", "White", "Beige")[n % 3]
        items.append(Product(id=f"f{n}", title=f"{colour} {kind} {n}", category=("Basics", kind.title())))
    catalog = Catalog(items)
    events = (
        [  # the strap top is the best seller; every other item sells a little
            Event(f"u{n}", EventType.PURCHASE, float(n), "top", session_id=f"s{n}") for n in range(40)
        ]
        + [Event(f"v{n}", EventType.PURCHASE, 100.0 + n, p.id, session_id=f"t{n}") for n, p in enumerate(items[1:])]
    )
    enc = Anisotropic()
    cfg = HybridConfig(als=ALSConfig(factors=4, iterations=2))
    rec = build_recommender(
        catalog, EventLog.from_events(events, catalog), enc.encode(catalog.texts()), cfg, encoder=enc
    )
    return catalog, rec


def _ctx(rec: HybridRecommender, query: str) -> Context:
    assert rec.encoder is not None
    return Context.of([], query_vector=query_encoder(rec.encoder).encode([query])[0], query=query)


def _titles(catalog: Catalog, rows: np.ndarray) -> list[str]:
    return [catalog.products[int(r)].title for r in rows]


def test_words_split_latin_on_non_letters_and_cjk_into_bigrams() -> None:
    assert words("Red-Dress, size_38!") == ["red", "dress", "size", "38"]
    assert words("红色连衣裙") == ["红色", "色连", "连衣", "衣裙"]
    assert words("裙") == ["裙"]


def test_words_cut_the_index_han_ranges_plus_kana_and_hangul() -> None:
    assert words("ワンピース") == ["ワン", "ンピ", "ピー", "ース"]  # kana and Hangul: bigrams, as before
    assert words("원피스") == ["원피", "피스"]
    compat = "\uf900\uf901\uf902"  # compatibility ideographs: CJK in the index's ranges, bigrams here too
    assert words(compat) == [compat[:2], compat[1:]]
    assert words("ab" + compat[:2]) == ["ab", "b" + compat[0], compat[:2]]
    assert words("dress") == ["dress"]


def test_word_share_counts_query_words_in_the_text_plurals_either_way() -> None:
    assert word_share(["red", "dress"], "Stephanie Dress. Red") == 1.0
    assert word_share(["red", "dresses"], "Red dress") == 1.0
    assert word_share(["red", "dress"], "Red summer dresses") == 1.0
    assert word_share(["blue", "jeans"], "Blue denim trousers") == 0.5
    assert word_share([], "anything") == 0.0


def test_query_matches_validates_its_arrays() -> None:
    with pytest.raises(ValueError, match="1-d"):
        QueryMatches(np.zeros(2, np.int64), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="query_matches"):
        ContentConfig(query_matches=300, query_pool=200)
    with pytest.raises(ValueError, match="query_match_share"):
        ContentConfig(query_match_share=0.0)


@pytest.mark.parametrize(("query", "want"), [("red dress", {"d1", "d2", "d3"}), ("blue jeans", {"j1", "j2"})])
def test_a_query_seeded_session_ranks_the_query_matches_first(
    store: tuple[Catalog, HybridRecommender], query: str, want: set[str]
) -> None:
    catalog, rec = store
    out = rec.recommend_session([], k=8, query=query)
    got = [catalog.ids[int(r)] for r in out.ids]
    assert set(got[: len(want)]) == want, _titles(catalog, out.ids)  # the best seller does not lead
    assert got.index("top") > len(want) if "top" in got else True
    assert out.reasons[0] == MATCH


def test_only_query_matches_are_said_to_match(store: tuple[Catalog, HybridRecommender]) -> None:
    catalog, rec = store
    out = rec.recommend_session([], k=12, query="red dress")
    matches = rec.content.query_matches(_ctx(rec, "red dress"))
    assert matches is not None
    matched = set(matches.rows.tolist())
    said = {int(r) for r, why in zip(out.ids, out.reasons, strict=True) if why == MATCH}
    assert said and said <= matched
    assert catalog.row("top") not in matched
    # a list whose filter leaves no match: filled by other items, none said to match the query
    basics = rec.recommend_session([], k=5, filters=Filters(category=("Basics",)), query="red dress")
    assert len(basics) == 5 and MATCH not in basics.reasons
    assert all(catalog.products[int(r)].category[0] == "Basics" for r in basics.ids)


def test_session_items_with_a_query_keep_the_matches_first(store: tuple[Catalog, HybridRecommender]) -> None:
    catalog, rec = store
    out = rec.recommend_session([catalog.row("j1")], k=6, query="red dress")
    matches = rec.content.query_matches(_ctx(rec, "red dress"))
    assert matches is not None and 0 < len(matches) < 6
    assert set(out.ids[: len(matches)].tolist()) == set(matches.rows.tolist())  # the matches, the session ranks them
    assert {catalog.ids[int(r)] for r in matches.rows} >= {"d1", "d2", "d3"}
    assert rec.recommend_session([catalog.row("j1")], k=3).ids.tolist() != out.ids[:3].tolist()


def test_word_share_plural_rules_and_chinese() -> None:
    """English plurals either way (ies / ves too, one rule set with query understanding), whole words
    only, CJK bigrams and a lone CJK character."""
    assert word_share(["accessory"], "Hair accessories") == 1.0
    assert word_share(["accessories"], "hair accessory") == 1.0
    assert word_share(["shelves"], "Oak shelf") == 1.0
    assert word_share(["dress"], "Dressed up") == 0.0  # not the same word
    assert word_share(["bus"], "Bu toy") == 0.0  # a three-letter word is not stripped
    assert word_share(words("红色连衣裙"), "夏季红色连衣裙") == 1.0
    assert word_share(["裙"], "连衣裙 red") == 1.0  # a lone character is searched in the text


def test_item_words_are_computed_once_per_item() -> None:
    from shelfwise.catalog import Catalog, Product
    from shelfwise.recommend.query import ItemWords

    iw = ItemWords(Catalog([Product(id="a", title="Red Dresses", description="Summer")]))
    got = iw(0)
    assert got == frozenset({"red", "dresses", "summer"})
    assert iw(0) is got


def test_content_reasons_read_the_history_graph_rows_once_per_context(
    store: tuple[Catalog, HybridRecommender], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, rec = store
    content = rec.content
    base = _ctx(rec, "red dress")
    ctx = Context.of([catalog.row("j1"), catalog.row("d4")], query_vector=base.query_vector, query=base.query)
    matches = content.query_matches(ctx)
    assert matches is not None and len(matches) > 1
    built = []
    graph_rows = content._graph_rows
    monkeypatch.setattr(content, "_graph_rows", lambda items: built.append(len(items)) or graph_rows(items))
    items = list(range(len(catalog)))
    fresh = []
    for i in items:  # each reason as before: the history's rows built again for every item
        content._graph_memo = None
        fresh.append(content.explain(ctx, i))
    assert len(built) == len(items)  # every reason reads the history's graph terms (the ones score() sums)
    built.clear()
    content._graph_memo = None
    once = [content.explain(ctx, i) for i in items]
    assert once == fresh and built == [2]
    assert MATCH in once and any(r.startswith("similar text to") for r in once)
    other = Context.of([catalog.row("j1")], query_vector=base.query_vector, query=base.query)
    content.explain(other, int(matches.rows[0]))  # another context: its own rows
    assert built == [2, 1]


def test_item_words_keep_the_most_recently_asked_rows_only() -> None:
    from shelfwise.recommend.query import ItemWords

    catalog = Catalog([Product(id=f"p{i}", title=f"Item{i} dress") for i in range(6)])
    iw = ItemWords(catalog, max_rows=3)
    for row in (0, 1, 2, 0, 3):  # 0 asked again: 1 is the least recent when 3 comes
        assert iw(row) == frozenset({f"item{row}", "dress"})
    assert len(iw) == 3 and set(iw._words) == {2, 0, 3}
    assert iw(1) == frozenset({"item1", "dress"}) and len(iw) == 3  # asked again: computed again, 2 leaves
    with pytest.raises(ValueError, match="max_rows"):
        ItemWords(catalog, max_rows=0)


def test_an_updated_catalog_leaves_nothing_of_the_old_one_in_content() -> None:
    import gc
    import weakref

    from shelfwise.recommend import ContentRecommender

    def catalog(colour: str) -> Catalog:
        return Catalog([Product(id=f"p{i}", title=f"{colour} dress {i}") for i in range(8)])

    enc = Anisotropic()
    old = catalog("Red")
    content = ContentRecommender(enc.encode(old.texts()))
    content.attach(old, None)
    ctx = Context.of([], query_vector=enc.encode(["red dress"])[0], query="red dress")
    assert content.query_matches(ctx) is not None and content._item_words(0) == {"red", "dress", "0"}
    gone = weakref.ref(old)
    new = catalog("Blue")  # the store updated its catalog: a new Catalog object
    content.attach(new, None)
    del old
    gc.collect()
    assert gone() is None  # no cache holds the old catalog or its words
    assert content._item_words(0) == {"blue", "dress", "0"}


def test_matches_say_so_when_popularity_outweighs_the_query_term(store: tuple[Catalog, HybridRecommender]) -> None:
    """Weights tuned toward popularity (Instacart's: popularity 1.0, content 0.1) still lead with the
    query's matches, and each of them says it matches, not "popular in ..."."""
    _, rec = store
    before = rec.config
    try:
        rec.set_weights({"popularity": 1.0, "content": 0.1, "cooccurrence": 0.5})
        rec.set_weights({"popularity": 1.0, "content": 0.1, "cooccurrence": 0.5}, new=True)
        out = rec.recommend_session([], k=8, query="red dress")
        matches = rec.content.query_matches(_ctx(rec, "red dress"))
        assert matches is not None
        led = [int(r) for r in out.ids[: len(matches)]]
        assert set(led) == set(matches.rows.tolist())
        assert list(out.reasons[: len(matches)]) == [MATCH] * len(matches)
        assert MATCH not in out.reasons[len(matches) :]  # the rest keep their own reasons
        assert all(why for why in out.reasons)
    finally:
        rec.config = before
