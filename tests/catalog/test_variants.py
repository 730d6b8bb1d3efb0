"""shelfwise.catalog.variants: swatch labels and whether each variant passes the request's filters."""

from __future__ import annotations

import numpy as np

from shelfwise.catalog import Catalog, Filters, Product
from shelfwise.catalog.variants import MAX_VARIANTS, label, label_keys, swatches


def _tights() -> Catalog:
    """H&M-like: colour group and perceived colour move together; the pattern tells two blacks apart."""
    rows = [
        ("a", "Black", "Black", "Solid", 10.0, True),
        ("b", "Dark Grey", "Grey", "All over pattern", 12.0, True),
        ("c", "Black", "Black", "Placement print", 10.0, False),
        ("d", "Light Turquoise", "Turquoise", "Solid", 30.0, True),
    ]
    products = [
        Product(
            id=i,
            title="SUPREME tights" if i != "c" else "supreme TIGHTS ",
            category=("Ladieswear", "Sport"),
            price=price,
            in_stock=stock,
            attributes={"graphical_appearance_name": pattern, "colour_group_name": colour, "perceived_colour": seen},
        )
        for i, colour, seen, pattern, price, stock in rows
    ]
    return Catalog([*products, Product(id="z", title="Belt", attributes={"colour_group_name": "Brown"})])


def test_label_names_colour_first_and_only_keys_that_tell_variants_apart() -> None:
    catalog = _tights()
    keys = label_keys(catalog.products[:4])
    assert keys == ("colour_group_name", "graphical_appearance_name")  # colour first; perceived colour adds nothing
    assert [label(p, keys) for p in catalog.products[:4]] == [
        "Black · Solid",
        "Dark Grey · All over pattern",
        "Black · Placement print",
        "Light Turquoise · Solid",
    ]
    alike = [Product(id="x1", title="Cap", attributes={"colour": "Red"}), Product(id="x2", title="Cap")]
    assert label_keys(alike) == ("colour",) and label(alike[1], ("colour",)) == "x2"  # no value: its id
    same = [
        Product(id="y1", title="Cap", attributes={"colour": "Red"}),
        Product(id="y2", title="Cap", attributes={"colour": "Red"}),
    ]
    assert label_keys(same) == () and [label(p, ()) for p in same] == ["y1", "y2"]  # nothing differs: the ids


def test_size_after_colour_and_at_most_two_keys() -> None:
    products = [
        Product(id=f"s{i}", title="Tee", attributes={"fit": f, "size": s, "color": c})
        for i, (f, s, c) in enumerate(
            [("slim", "M", "Red"), ("wide", "L", "Red"), ("slim", "M", "Blue"), ("wide", "S", "Blue")]
        )
    ]
    assert label_keys(products) == ("color", "size")  # fit comes first in the products, but colour and size lead


def test_swatches_flag_what_the_filters_exclude_and_leave_out_hidden_rows() -> None:
    catalog = _tights()
    got = swatches(catalog, 0)
    assert got.label == "Black · Solid" and [v.row for v in got.variants] == [1, 2, 3]
    assert all(v.matches for v in got.variants)  # no filter: every variant matches
    for filters, want in [
        (Filters(in_stock=True), [True, False, True]),  # c is sold out
        (Filters(attributes=(("colour_group_name", "black"),)), [False, True, False]),
        (Filters(price_max=15.0), [True, True, False]),
        (Filters(category=("Menswear",)), [False, False, False]),
    ]:
        mask = catalog.mask(filters)
        got_rows = {v.row: v.matches for v in swatches(catalog, 0, mask).variants}
        assert [got_rows[r] for r in (1, 2, 3)] == want, filters
        assert got_rows == {r: bool(mask[r]) for r in (1, 2, 3)}
    hid = swatches(catalog, 1, hidden=frozenset({2}))
    assert [v.row for v in hid.variants] == [0, 3]
    assert [v.label for v in hid.variants] == ["Black · Solid", "Light Turquoise · Solid"]  # labelled as on other cards
    assert swatches(catalog, 4) == swatches(catalog, 4, np.zeros(5, dtype=bool))
    assert swatches(catalog, 4).label == "" and swatches(catalog, 4).variants == ()  # no variants: no label
    only = swatches(catalog, 1, hidden=frozenset({0, 2, 3}))
    assert only.label == "" and only.variants == ()  # every variant hidden: no swatch, not a lone one


def test_the_variants_the_filters_admit_come_first_and_a_cap_keeps_the_count() -> None:
    catalog = _tights()
    mask = catalog.mask(Filters(attributes=(("colour_group_name", "black"),)))  # rows 0 and 2
    assert [v.row for v in swatches(catalog, 1, mask).variants] == [0, 2, 3]  # admitted first, catalog order
    assert [v.row for v in swatches(catalog, 3, mask).variants] == [0, 2, 1]
    cut = swatches(catalog, 3, mask, limit=1)
    assert [v.row for v in cut.variants] == [0] and cut.total == 3 and swatches(catalog, 3).total == 3
    assert [v.label for v in cut.variants] == ["Black · Solid"]  # labelled over the whole title, not the cut
    wide = Catalog(
        [Product(id=f"w{i}", title="Sock", attributes={"colour": f"c{i}"}) for i in range(MAX_VARIANTS + 30)]
    )
    got = swatches(wide, 0)
    assert len(got.variants) == MAX_VARIANTS and got.total == MAX_VARIANTS + 29 and got.label == "c0"
    sold = np.ones(len(wide), dtype=bool)
    sold[1:-5] = False  # only the last five variants pass the filter: they lead, though last in the catalog
    assert [v.row for v in swatches(wide, 0, sold, limit=5).variants] == list(range(len(wide) - 5, len(wide)))
    try:
        swatches(wide, 0, limit=0)
    except ValueError as exc:
        assert "limit" in str(exc)
    else:
        raise AssertionError("limit=0 accepted")
