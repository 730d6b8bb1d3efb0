"""search_reasons: the "as asked" part reads the understanding's own field masks (one implementation)."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.catalog.schema import Catalog, Product
from shelfwise.index.text import Tokenizer
from shelfwise.results import Results
from shelfwise.retrieve.answer import search_reasons
from shelfwise.retrieve.understand import FieldMatch, QueryUnderstanding


def _understanding() -> QueryUnderstanding:
    products = [
        Product("a", "Wrap dress", category=("Women", "Dresses"), brand="Flora", attributes={"colour": "Black"}),
        Product("b", "Slip dress", category=("Women", "DRESSES"), brand="flora", attributes={"colour": "black"}),
        Product("c", "Rain coat", category=("Women", "Coats"), brand="Puddle", attributes={"colour": "Red"}),
    ]
    return QueryUnderstanding(Catalog(products), Tokenizer(), min_products=1)


def test_reasons_name_the_values_each_hit_carries_as_the_boost_reads_them() -> None:
    u = _understanding()
    matches = u.parse("black flora dress").matches
    assert {(m.field, m.value) for m in matches} >= {("attribute:colour", "Black"), ("brand", "Flora")}
    res = Results(np.array([2, 1, 0]), np.array([3.0, 2.0, 1.0], dtype=np.float32))
    reasons = search_reasons(res, matches, u)
    # case-insensitive, as the field masks are: "b" carries "black"/"flora"/"DRESSES" in other cases
    assert reasons[1] == reasons[2] and "colour Black" in reasons[1] and "brand Flora" in reasons[1]
    assert reasons[1].endswith(", as asked") and reasons[0] == ""  # "c" carries none of them
    for j, row in enumerate(res.ids.tolist()):  # a value is named exactly where its mask is set
        for m in matches:
            named = f"{m.field.removeprefix('attribute:')} {m.value}" in reasons[j]
            assert named == bool(u.field_mask(m)[row])


def test_reasons_without_matches_need_no_understanding() -> None:
    res = Results(
        np.array([0, 1]), np.array([1.0, 0.5], dtype=np.float32), {"cosine": np.array([0.5, 0.25], dtype=np.float32)}
    )
    assert search_reasons(res) == ["meaning 0.50", "meaning 0.25"]
    with pytest.raises(ValueError, match="understanding"):
        search_reasons(res, [FieldMatch("brand", "Flora", "flora")])
