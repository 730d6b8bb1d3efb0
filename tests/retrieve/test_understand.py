import numpy as np
import pytest

from shelfwise.catalog.schema import Catalog, Filters, Product
from shelfwise.encode.hashing import HashingEncoder
from shelfwise.retrieve import HybridSearcher, SearchConfig
from shelfwise.retrieve.understand import FieldMatch, QueryUnderstanding, parse_price, same_word


@pytest.mark.parametrize(
    ("query", "rest", "lo", "hi"),
    [
        ("black dress under 50", "black dress", None, 50.0),
        ("dress below $30", "dress", None, 30.0),
        ("jeans less than 19.99", "jeans", None, 19.99),
        ("coat over 100", "coat", 100.0, None),
        ("boots between 20 and 60", "boots", 20.0, 60.0),
        ("boots $20-60", "boots", 20.0, 60.0),
        ("连衣裙 100元以下", "连衣裙", None, 100.0),
        ("连衣裙100以内", "连衣裙", None, 100.0),
        ("低于50元的T恤", "t恤", None, 50.0),  # the particle 的 goes with the price phrase
        ("100以内的 运动", "运动", None, 100.0),
        ("20-50元的羽绒服", "羽绒服", 20.0, 50.0),
        ("羽绒服 20-50元", "羽绒服", 20.0, 50.0),
        # sizes and gauges are not prices
        ("led bulb over 100 watts", "led bulb over 100 watts", None, None),
        ("12-2 wire", "12-2 wire", None, None),
        ("shelf under 5 ft", "shelf under 5 ft", None, None),
        ("3-way switch", "3-way switch", None, None),
    ],
)
def test_parse_price(query: str, rest: str, lo: float | None, hi: float | None) -> None:
    assert parse_price(query) == (rest, lo, hi)


def _catalog() -> Catalog:
    return Catalog(
        [
            Product("1", "Wrap dress", category=("Women", "Dresses"), price=39.0, attributes={"colour": "Black"}),
            Product("2", "Slip dress", category=("Women", "Dresses"), price=79.0, attributes={"colour": "Black"}),
            Product("3", "Midi dress", category=("Women", "Dresses"), price=29.0, attributes={"colour": "Red"}),
            Product("4", "Black jeans", category=("Men", "Trousers"), price=49.0, attributes={"colour": "Black"}),
            Product("5", "Red jeans", category=("Men", "Trousers"), price=45.0, attributes={"colour": "Red"}),
            Product(
                "6", "Black tee", brand="Acme", category=("Men", "Tops"), price=9.0, attributes={"colour": "Black"}
            ),
            Product(
                "7", "White tee", brand="Acme", category=("Men", "Tops"), price=9.0, attributes={"colour": "White"}
            ),
        ]
    )


def test_vocabulary_matches_use_catalog_values_and_stems() -> None:
    qu = QueryUnderstanding(_catalog())
    intent = qu.parse("black dresses under 50")
    assert intent.price_max == 50.0 and intent.text == "black dresses"
    fields = {(m.field, m.value) for m in intent.matches}
    assert fields == {("attribute:colour", "Black"), ("category", "Dresses")}
    rows = np.arange(7)
    assert qu.boost(intent, rows).tolist() == pytest.approx([1, 1, 0.5, 0.5, 0, 0.5, 0])
    assert {(m.field, m.value) for m in qu.parse("acme tee").matches} == {("brand", "Acme")}
    assert qu.parse("zebra").is_empty()


def test_search_filters_by_understood_price_and_boosts_matches() -> None:
    cat = _catalog()
    s = HybridSearcher.build(cat, HashingEncoder(64))
    res = s.search("black dress under 50", 3)
    assert cat.ids[res.ids[0]] == "1"  # black, a dress, under 50
    assert all(cat.products[i].price <= 50 for i in res.ids.tolist())  # type: ignore[operator]
    off = s.search("black dress under 50", 7, config=SearchConfig(understand=False))
    assert "2" in [cat.ids[i] for i in off.ids.tolist()] or len(off) < 7  # no price filter without understanding
    # an explicit filter from the caller wins over the understood one
    explicit = s.search("dress under 50", 5, Filters(price_max=100.0))
    assert "2" in [cat.ids[i] for i in explicit.ids.tolist()]
    assert s.understand("dress under 50") is not None and s.understand("dress") is not None
    assert s.understand("zebra") is None


def test_catalog_without_prices_never_filters_on_price() -> None:
    cat = Catalog([Product("1", "Tile under 50"), Product("2", "Tile saw")])
    qu = QueryUnderstanding(cat)
    assert qu.parse("tile under 50").price_max is None


def test_parse_is_memoised_for_the_last_query() -> None:
    qu = QueryUnderstanding(_catalog())
    a = qu.parse("black dress under 50")
    assert qu.parse("black dress under 50") is a
    assert qu.parse("red jeans") is not a and qu.parse("red jeans").text == "red jeans"


def test_cjk_runs_are_the_analysers_cjk_ranges() -> None:
    """understand.py reuses index.text's one CJK definition: the same characters count as CJK."""
    from shelfwise.index.text import has_cjk
    from shelfwise.retrieve.understand import _CJK_RUN

    edges = ["\u3400", "\u4dbf", "\u4e00", "\u9fff", "\uf900", "\ufaff"]  # first and last of each range
    outside = ["\u33ff", "\u4dc0", "\ua000", "\uf8ff", "\ufb00", "a", "1"]
    assert [bool(_CJK_RUN.fullmatch(c)) for c in edges + outside] == [True] * 6 + [False] * 7
    assert [has_cjk(c) for c in edges + outside] == [True] * 6 + [False] * 7
    assert _CJK_RUN.findall("ab\u3400\ufaffcd\u4e00") == ["\u3400\ufaff", "\u4e00"]


def _garments() -> Catalog:
    """A store where "Dressed" (formal wear, H&M's garment group) shares the stem of "dress"."""

    def p(pid: str, title: str, kind: str, group: str, colour: str = "Black") -> Product:
        return Product(pid, title, category=("Ladies", kind), attributes={"group": group, "colour": colour})

    return Catalog(
        [
            p("1", "Wrap", "Dress", "Dresses Ladies"),
            p("2", "Slip", "Dress", "Dresses Ladies", "Red"),
            p("3", "Tuxedo trousers", "Trousers", "Dressed"),
            p("4", "Suit blazer", "Blazer", "Dressed"),
            p("5", "Basic tee", "T-shirt", "Jersey Basic"),
            p("6", "Print tee", "T-shirt", "Jersey Basic", "Red"),
            p("7", "Canvas bag", "Accessory", "Accessories"),
            p("8", "Leather belt", "Accessory", "Accessories", "Red"),
        ]
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("dress", "dress", True),
        ("dress", "dresses", True),
        ("dresses", "dress", True),
        ("jean", "jeans", True),
        ("accessory", "accessories", True),
        ("scarf", "scarves", True),
        ("knife", "knives", True),
        ("dress", "dressed", False),
        ("light", "lighting", False),
        ("run", "running", False),
        ("shirt", "shirts", True),
    ],
)
def test_same_word_allows_plurals_only(a: str, b: str, same: bool) -> None:
    assert same_word(a, b) is same


def test_a_stem_alone_does_not_match_a_catalog_value() -> None:
    """ "dress" and "Dressed" stem alike; the shopper means the garment, not the formal-wear group."""
    qu = QueryUnderstanding(_garments())

    def found(q: str) -> set[tuple[str, str]]:
        return {(m.field, m.value) for m in qu.parse(q).matches}

    assert found("dress") == {("category", "Dress")}
    assert found("summer dresses") == {("category", "Dress")}
    assert found("dressed") == {("attribute:group", "Dressed")}
    assert found("red dress") == {("attribute:colour", "Red"), ("category", "Dress")}
    # plural on either side, multi-word values after the analyser's split, y -> ies
    assert found("t-shirts") == {("category", "T-shirt")}
    assert found("t shirt") == {("category", "T-shirt")}
    assert found("accessories") == {("category", "Accessory"), ("attribute:group", "Accessories")}
    assert found("dresses ladies") == {("attribute:group", "Dresses Ladies")}  # the longest phrase wins
    # the phrase shown back is what the shopper typed (lower-cased), not the analyser's stems ("dress", "t shirt")
    assert [m.phrase for m in qu.parse("Summer DRESSES").matches] == ["dresses"]
    assert [m.phrase for m in qu.parse("t-shirts").matches] == ["t shirts"]
    # the boost follows: formal trousers no longer gain from "dress"
    rows = np.arange(8)
    assert qu.boost(qu.parse("dress"), rows).tolist() == [1, 1, 0, 0, 0, 0, 0, 0]


def test_type_mask_is_the_last_category_phrase() -> None:
    """Noun compounds are head-final: "summer dress" is a dress, "dress shoes" would be shoes."""
    qu = QueryUnderstanding(_garments())
    rows = np.arange(8)
    assert qu.type_mask(qu.parse("red dress"), rows).tolist() == [1, 1, 0, 0, 0, 0, 0, 0]  # type: ignore[union-attr]
    assert qu.type_mask(qu.parse("dress t-shirt"), rows).tolist() == [0, 0, 0, 0, 1, 1, 0, 0]  # type: ignore[union-attr]
    assert qu.type_mask(qu.parse("red"), rows) is None  # a colour alone names no product type
    assert qu.type_mask(qu.parse("dressed"), rows) is None  # an attribute value, not a category


def _summer() -> Catalog:
    """ "summer" is rare (two pairs of trousers), "dress" common: BM25 ranks the modifier first."""
    dresses = [Product(f"d{i}", f"{name} dress", category=("Ladies", "Dress")) for i, name in enumerate("abcdef")]
    pants = [Product(f"p{i}", "Summer pants", category=("Ladies", "Trousers")) for i in range(2)]
    other = [Product(f"t{i}", f"{name} top", category=("Ladies", "Top")) for i, name in enumerate("ghij")]
    return Catalog([*dresses, *pants, *other])


def test_type_boost_puts_the_query_product_type_first() -> None:
    cat = _summer()
    s = HybridSearcher.build(cat, HashingEncoder(64))
    shipped = [cat.ids[i] for i in s.search("summer dress", 5).ids.tolist()]
    assert shipped[0].startswith("p")  # the rare modifier wins, the 0.1 boost does not overturn it
    typed = s.search("summer dress", 8, config=SearchConfig(type_boost=1.0))
    kinds = [cat.ids[i][0] for i in typed.ids.tolist()]
    assert kinds[:6] == ["d"] * 6 and set(kinds[6:]) <= {"p", "t"}  # every dress first, the rest kept
    assert np.all(np.diff(typed.scores) <= 0)
    with pytest.raises(ValueError, match="type_boost"):
        SearchConfig(type_boost=1.5)


def test_a_value_word_inside_a_compound_is_not_understood_as_the_value() -> None:
    rows = [
        ("Heavy whipping cream", ("Dairy", "Cream")),
        ("Sour cream", ("Dairy", "Cream")),
        ("Vanilla ice cream", ("Frozen", "Ice Cream Ice")),
        ("Chocolate ice cream", ("Frozen", "Ice Cream Ice")),
        ("Mint ice cream bars", ("Frozen", "Ice Cream Ice")),
        ("Creamy peanut butter", ("Pantry", "Spreads")),
        ("Crunchy peanut butter", ("Pantry", "Spreads")),
        ("Salted butter", ("Dairy", "Butter")),
        ("Unsalted butter", ("Dairy", "Butter")),
        ("Black dress", ("Women", "Dress")),
        ("Black midi dress", ("Women", "Dress")),
    ]
    catalog = Catalog([Product(str(i), t, category=c) for i, (t, c) in enumerate(rows)])
    u = HybridSearcher.build(catalog, HashingEncoder(dim=32)).understanding
    assert [m.value for m in u.parse("cream").matches] == ["Cream"]  # alone it names the aisle
    assert u.parse("ice cream").matches == ()  # most products holding "ice" and "cream" are not Cream
    assert u.parse("peanut butter").matches == () and [m.value for m in u.parse("salted butter").matches] == ["Butter"]
    assert [m.value for m in u.parse("black dress").matches] == ["Dress"]  # dresses hold "black dress"
    plain = QueryUnderstanding(catalog)  # no postings given: as before
    assert [m.value for m in plain.parse("ice cream").matches] == ["Cream"]


def test_a_long_query_reads_a_bounded_number_of_compounds() -> None:
    """Each value word beside a new neighbour read postings and up to 500 titles, uncached: a
    500-character query of value words made ~160 such readings (27-80 ms at 200k products, load ~2,
    and growing with the catalog); one query now makes at most COMPOUND_LOOKUPS, and a short query
    reads as it did."""
    from shelfwise.retrieve import understand

    rows = [("Vanilla ice cream", ("Frozen", "Ice Cream")), ("Chocolate ice cream", ("Frozen", "Ice Cream"))]
    rows += [("Heavy whipping cream", ("Dairy", "Cream")), ("Sour cream", ("Dairy", "Cream"))]
    rows += [(f"Cream w{i} jar", ("Pantry", "Jars")) for i in range(60)]
    catalog = Catalog([Product(str(i), t, category=c) for i, (t, c) in enumerate(rows)])
    u = HybridSearcher.build(catalog, HashingEncoder(dim=32)).understanding
    real = u.holding
    assert real is not None
    read: list[str] = []
    u.holding = lambda term: read.append(term) or real(term)
    assert [m.value for m in u.parse("sour cream").matches] == ["Cream"]  # a short query: as before
    read.clear()
    long_query = " ".join(f"cream w{i}" for i in range(60))  # 60 value words, each beside a new word
    u.parse(long_query)
    assert 0 < len(read) <= 2 * understand.COMPOUND_LOOKUPS  # two postings a reading (was 2 x 119)


def test_field_masks_are_the_products_holding_the_value_at_any_level() -> None:
    """The vectorised masks (brand column, per-depth category codes, attribute column) against a plain
    loop over the products, on paths of mixed depth and case, a value found at several levels."""
    rng = np.random.default_rng(4)
    levels = ["Men", "Women", "Shoes", "Dresses", "Sale", "shoes"]
    products = []
    for i in range(300):
        path = tuple(str(rng.choice(levels)) for _ in range(int(rng.integers(0, 4))))
        brand = str(rng.choice(["Acme", "acme", "Flora", ""]))
        attrs = {"colour": str(rng.choice(["Black", "black", "Red"]))} if rng.random() < 0.7 else {}
        products.append(Product(id=f"p{i}", title=f"item {i}", category=path, brand=brand, attributes=attrs))
    catalog = Catalog(products)
    qu, prepared = QueryUnderstanding(catalog), QueryUnderstanding(catalog)
    prepared.prepare()  # the per-depth codes (a server's warm-up); unprepared, each value is a loop
    for value in ("shoes", "Sale", "Men", "Kids"):
        want = np.array([value.lower() in (c.lower() for c in p.category) for p in products])
        for each in (qu, prepared):
            np.testing.assert_array_equal(each.field_mask(FieldMatch("category", value, value.lower())), want)
    for value in ("Acme", "Flora", "Nobody"):
        want = np.array([p.brand.lower() == value.lower() for p in products])
        np.testing.assert_array_equal(qu.field_mask(FieldMatch("brand", value, value.lower())), want)
    want = np.array([p.attributes.get("colour", "").lower() == "black" for p in products])
    np.testing.assert_array_equal(qu.field_mask(FieldMatch("attribute:colour", "Black", "black")), want)
