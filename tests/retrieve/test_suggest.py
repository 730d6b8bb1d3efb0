"""Type-ahead suggestions: catalog phrases, shoppers' queries (min shoppers), live counts, saving."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog.schema import Catalog, Product
from shelfwise.events.schema import Event, EventType
from shelfwise.retrieve.suggest import SuggestConfig, Suggester

TITLES = [
    "Cordless drill driver kit",
    "Cordless drill with battery",
    "Cordless drill and impact driver",
    "Stainless steel sink",
    "Stainless steel dishwasher",
    "Black stainless steel range",
    "White wall paint, 1 gal.",
    "White wall paint, 5 gal.",
    "儿童玩具积木",
    "儿童玩具汽车",
    "連衣裙 夏季",
    "连衣裙 长款",
]


def _catalog() -> Catalog:
    return Catalog([Product(str(i), t, brand="Ryobi" if i < 3 else "") for i, t in enumerate(TITLES)])


def texts(s: Suggester, typed: str, k: int = 8) -> list[str]:
    return [x.text for x in s.suggest(typed, k)]


def test_catalog_phrases_complete_what_was_typed() -> None:
    s = Suggester.fit(_catalog())
    assert texts(s, "cordless d") == ["cordless drill"]  # "cordless drill driver": 1 product, "drill driver" 2
    got = texts(s, "Stain")
    assert got[0] == "stainless steel" and "stainless" not in got  # every "stainless" is "stainless steel"
    assert not any(t.endswith((" with", " and")) for t in texts(s, "cordless drill"))  # no stop word at an end
    assert "ryobi" in texts(s, "ry")  # a brand is always suggestible
    assert texts(s, "儿童")[0] == "儿童玩具"
    assert texts(s, "連衣") == ["连衣裙"]  # Traditional typed, folded; both spellings counted together
    assert s.suggest("cordless d")[0].source == "catalog" and s.suggest("cordless d")[0].count == 3
    assert texts(s, "   ") == [] and texts(s, "zzz") == []


def test_the_end_of_the_typed_text_is_completed_when_the_whole_starts_no_phrase() -> None:
    s = Suggester.fit(_catalog())
    assert texts(s, "red cord") == ["red cordless drill"]
    assert texts(s, "long black stai") == ["long black stainless steel"]
    assert texts(s, "红色连衣") == ["红色连衣裙"]
    assert texts(s, "red c") == []  # one letter left would complete to anything


def test_shoppers_queries_come_first_once_enough_shoppers_typed_them() -> None:
    s = Suggester.fit(_catalog(), [("u1", "cordless drill 18v"), ("u1", "Cordless Drill 18V")])
    assert "cordless drill 18v" not in texts(s, "cordless")  # one shopper only
    s.update([Event("u2", EventType.QUERY, 1.0, query="cordless drill 18v")])
    top = s.suggest("cordless", 3)[0]
    assert (top.text, top.source, top.count) == ("cordless drill 18v", "queries", 3)
    s.update([Event("u3", EventType.CLICK, 2.0, item_id="1", query="cordless drill 18V")])
    assert s.suggest("cordless", 3)[0].count == 4  # counted live


def test_saved_and_loaded_the_same(tmp_path: Path) -> None:
    s = Suggester.fit(_catalog(), [("u1", "paint roller"), ("u2", "paint roller"), ("u3", "paint tray")])
    s.save(tmp_path / "suggest.json")
    back = Suggester.load(tmp_path / "suggest.json")
    for typed in ("p", "white", "儿", "paint"):
        assert back.suggest(typed) == s.suggest(typed)
    back.add([("u4", "paint tray")])  # the pending shopper of "paint tray" was saved too
    assert "paint tray" in texts(back, "paint")


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="min_users"):
        SuggestConfig(min_users=0)
    with pytest.raises(ValueError, match="keep_ratio"):
        SuggestConfig(keep_ratio=0)
    with pytest.raises(ValueError, match="k must be"):
        Suggester.fit(_catalog()).suggest("a", 0)
