"""Reasons name the evidence actually counted: bought, viewed or added to cart together, or
neutral wording for a mix (made-up stores, not real data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.events import Event, EventType
from shelfwise.recommend import Context, CooccurrenceRecommender, Interactions, UserProfiles
from shelfwise.recommend.sequence import SequentialRulesRecommender, SessionKNNRecommender
from shelfwise.recommend.wording import NEUTRAL, Wording, named

B, C, V, K = EventType.PURCHASE, EventType.CART, EventType.VIEW, EventType.CLICK


def _catalog() -> Catalog:
    return Catalog([Product(id=f"p{i}", title=f"Item {i}") for i in range(8)])


def _events(rows: list[tuple[str, str, EventType]]) -> list[Event]:
    return [Event(f"u-{s}", t, float(n), item, session_id=s) for n, (s, item, t) in enumerate(rows)]


def _fit(rows: list[tuple[str, str, EventType]]) -> tuple[Catalog, CooccurrenceRecommender]:
    catalog = _catalog()
    co = CooccurrenceRecommender()
    co.fit(Interactions.from_events(_events(rows), catalog))
    return catalog, co


def _why(catalog: Catalog, co: CooccurrenceRecommender, seed: str, item: str) -> str:
    """The pair's reason without its count (these tests are about the kind of evidence named)."""
    why = co.explain(Context.of([catalog.row(seed)]), catalog.row(item))
    count = re.search(r" \((once|[\d,]+ times)\)$", why)
    assert count is not None, why  # a pair's reason counts its sessions
    return why[: count.start()]


def test_a_pairs_reason_counts_the_sessions_that_held_both() -> None:
    assert Wording.of([B]).together_with("X", 3.0) == "bought together with X (3 times)"
    assert Wording.of([V]).together_with("X", 1.0) == "viewed together with X (once)"
    assert Wording.of([B, V]).together_with("X", 1.0) == "chosen together with X (once)"  # no "often" for one
    assert Wording.of([B, V]).together_with("X", 12345.0) == "chosen together with X (12,345 times)"


def test_store_level_wording_names_one_kind_or_is_neutral() -> None:
    assert Wording.of([B]).together_with("X") == "bought together with X"
    assert Wording.of([V, K]).together_with("X") == "viewed together with X"  # a click is a view
    assert Wording.of([C]).together_with("X") == "added to carts together with X"
    assert Wording.of([B, V]).together_with("X") == "often chosen together with X"
    assert Wording.of([]) is NEUTRAL and not NEUTRAL.named
    assert Wording.of([B]).shoppers_like_you() == "shoppers with sessions like yours bought this"
    assert Wording.of([V]).shoppers_like_you() == "shoppers with sessions like yours viewed this"
    assert Wording.of([B, V]).shoppers_like_you() == "shoppers with sessions like yours chose this"
    assert Wording.of([B]).next_after("Hat") == "shoppers often buy this after Hat"


@pytest.mark.parametrize(
    ("baskets", "carted", "bought", "want"),
    [
        (3, 3, 3, "bought"),
        (3, 3, 0, "added to carts"),
        (3, 0, 0, "viewed"),
        (3, 3, 1, "often chosen"),
        (3, 1, 0, "often chosen"),
        (0, 0, 0, "often chosen"),
    ],
)
def test_pair_wording_names_a_kind_only_when_every_basket_shows_it(
    baskets: int, carted: int, bought: int, want: str
) -> None:
    assert Wording.of_pair(baskets, carted, bought).together_with("X") == f"{want} together with X"


def test_a_purchase_only_store_says_bought_and_a_view_only_store_says_viewed() -> None:
    catalog, co = _fit([("s1", "p0", B), ("s1", "p1", B), ("s2", "p0", B), ("s2", "p1", B)])
    assert _why(catalog, co, "p0", "p1") == "bought together with Item 0"
    assert co.levels == []  # one kind of event: the store's wording is exact, no per-pair counts kept
    catalog, co = _fit([("s1", "p0", V), ("s1", "p1", K), ("s2", "p0", V), ("s2", "p1", V)])
    assert _why(catalog, co, "p0", "p1") == "viewed together with Item 0"
    assert co.explain(None, catalog.row("p1")) == "frequently viewed together"


def test_a_mixed_store_words_each_pair_from_its_own_baskets() -> None:
    rows = [
        ("s1", "p0", V), ("s1", "p1", V),  # p0 + p1: only ever viewed together
        ("s2", "p2", V), ("s2", "p2", B), ("s2", "p3", B),  # p2 + p3: bought together (p2 viewed first)
        ("s3", "p2", B), ("s3", "p3", B),
        ("s4", "p4", B), ("s4", "p5", V),  # p4 + p5: one bought, one viewed ...
        ("s5", "p4", B), ("s5", "p5", B),  # ... and once both bought: a mix
        ("s6", "p6", C), ("s6", "p7", C), ("s6", "p7", V),  # p6 + p7: carted together
    ]  # fmt: skip
    catalog, co = _fit(rows)
    assert len(co.levels) == 2
    assert _why(catalog, co, "p0", "p1") == "viewed together with Item 0"
    assert _why(catalog, co, "p2", "p3") == "bought together with Item 2"
    assert _why(catalog, co, "p4", "p5") == "chosen together with Item 4"
    assert _why(catalog, co, "p6", "p7") == "added to carts together with Item 6"
    assert co.explain(None, catalog.row("p1")) == "often chosen together"  # no partner: the store's mix


def test_live_events_raise_a_pairs_level_and_it_survives_a_reload(tmp_path: Path) -> None:
    catalog, co = _fit([("s1", "p0", V), ("s1", "p1", V), ("s2", "p2", B), ("s2", "p3", B)])
    co.update(_events([("live", "p4", V), ("live", "p5", B)]))
    assert _why(catalog, co, "p4", "p5") == "viewed together with Item 4"  # p4 only viewed so far
    co.save(tmp_path)
    back = CooccurrenceRecommender()
    back.attach(catalog, None)
    back.load_state(tmp_path)
    assert json.loads((tmp_path / "cooccurrence.json").read_text())["open_levels"]
    for m in (co, back):  # the same session: p4 bought now, so the pair was bought together there
        m.update([Event("u-live", B, 99.0, "p4", session_id="live")])
        assert _why(catalog, m, "p4", "p5") == "bought together with Item 4"
    assert (co.levels[1] != back.levels[1]).nnz == 0


def test_session_reasons_follow_the_store(tmp_path: Path) -> None:
    rows = [(f"s{n}", f"p{(n + j) % 4}", B) for n in range(6) for j in range(3)]
    catalog = _catalog()
    data = Interactions.from_events(_events(rows), catalog)
    knn, seq = SessionKNNRecommender(), SequentialRulesRecommender()
    knn.fit(data)
    seq.fit(data)
    ctx = Context.of([catalog.row("p0")])
    assert knn.explain(ctx, 1) == "shoppers with sessions like yours bought this"  # was "viewed this"
    assert seq.explain(ctx, 1) == "shoppers often buy this after Item 0"
    # profiles saved before event types were: read back from the weights the histories hold
    assert data.profiles is not None and data.profiles.event_types == {B}
    data.profiles.save(tmp_path)
    meta = json.loads((tmp_path / "profiles.json").read_text())
    assert meta.pop("event_types") == ["PURCHASE"]
    (tmp_path / "profiles.json").write_text(json.dumps(meta))
    assert UserProfiles.load(tmp_path, catalog).event_types == {B}


def test_a_live_event_of_another_kind_keeps_each_pairs_own_evidence(tmp_path: Path) -> None:
    catalog, co = _fit([("s1", "p0", B), ("s1", "p1", B), ("s2", "p0", B), ("s2", "p1", B), ("s3", "p2", B)])
    assert co.levels == [] and co.evidence == 2  # one kind: no per-pair counts kept yet
    profiles = UserProfiles.from_interactions(Interactions.from_events(_events([("s1", "p0", B)]), catalog))
    co.profiles = profiles
    co.update(_events([("open", "p2", B)]))  # a session open when the first view comes
    co.save(tmp_path)
    view = _events([("live", "p4", V)])
    profiles.update(view)  # the store logs views now: its own wording turns neutral ...
    co.update(view)
    assert co.wording is NEUTRAL and len(co.levels) == 2 and co.evidence is None
    assert _why(catalog, co, "p0", "p1") == "bought together with Item 0"  # ... the pair's is still "bought"
    co.update(_events([("live", "p5", V), ("live2", "p0", V), ("live2", "p1", V)]))
    assert _why(catalog, co, "p4", "p5") == "viewed together with Item 4"
    assert _why(catalog, co, "p0", "p1") == "chosen together with Item 0"  # 2 baskets bought, 1 viewed
    co.update([Event("u-open", B, 50.0, "p3", session_id="open")])  # the open session's p2 was bought
    assert _why(catalog, co, "p2", "p3") == "bought together with Item 2"
    back = CooccurrenceRecommender()  # saved before the view: one kind, the level kept
    back.attach(catalog, profiles)
    back.load_state(tmp_path)
    assert back.evidence == 2 and back.levels == []
    assert _why(catalog, back, "p0", "p1") == "bought together with Item 0"
    meta = json.loads((tmp_path / "cooccurrence.json").read_text())
    del meta["evidence"]  # saved before the level was kept: the store's wording, as then
    (tmp_path / "cooccurrence.json").write_text(json.dumps(meta))
    back.load_state(tmp_path)
    assert back.evidence is None and _why(catalog, back, "p0", "p1") == "chosen together with Item 0"


def test_a_query_or_an_unknown_item_is_no_other_kind_of_evidence() -> None:
    _, co = _fit([("s1", "p0", V), ("s1", "p1", V)])
    assert co.evidence == 0
    co.update([Event("u", EventType.QUERY, 5.0, "", session_id="s9"), Event("u", B, 6.0, "nope", session_id="s9")])
    assert co.evidence == 0 and co.levels == []


def test_a_long_title_is_cut_in_a_reason() -> None:
    taobao = "富光316不锈钢保温杯镜面内胆大容量男女便携车载学生儿童水杯子"  # 30 characters, 60 columns
    assert named(taobao) == "富光316不锈钢保温杯镜面内胆大容量男女便…"  # 40 columns: a CJK character takes two
    assert named("Strap top") == "Strap top"
    long = "Behr Premium Plus 1-gal. #ECC-10-2 Jet Black Satin Enamel Exterior Paint"
    assert named(long) == "Behr Premium Plus 1-gal. #ECC-10-2 Jet…" and len(named(long)) <= 41
    # one long hyphenated token: cut inside it rather than keep the first word alone
    phone = "Samsung Galaxy-S24-Ultra-512GB-Titanium-Black-Unlocked"
    assert named(phone) == "Samsung Galaxy-S24-Ultra-512GB-Titanium-…"
