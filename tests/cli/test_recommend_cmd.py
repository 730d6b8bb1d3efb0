"""``shelfwise recommend`` on tiny made-up CSV files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shelfwise.cli import main
from shelfwise.recommend import Context, HybridRecommender


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    cat = tmp_path / "products.csv"
    cat.write_text(
        "id,title,description,category\n"
        "1,Black jeans,slim denim,Men > Trousers\n2,Leather belt,buckle,Accessories > Belts\n"
        "3,Blue jeans,wide denim,Men > Trousers\n4,Wool scarf,warm,Women > Accessories\n"
        "5,Red dress,summer,Women > Dresses\n",
        encoding="utf-8",
    )
    ev = tmp_path / "events.csv"
    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u, (a, b) in enumerate([("1", "2"), ("1", "2"), ("3", "2"), ("5", "4")]):
        rows += [f"u{u},{a},purchase,{10 * u + 1},s{u}a", f"u{u},{b},purchase,{10 * u + 2},s{u}a"]
        rows += [f"u{u},{b},purchase,{10 * u + 5},s{u}b"]
    rows.append("u9,999,purchase,100,s9")  # unknown item: reported and skipped
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ["--catalog", str(cat), "--events", str(ev), "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]


def test_recommend_item_cross_user_eval(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "item", *files, "1", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 bad row (kept 12)" in out
    assert "Leather belt" in out.splitlines()[-2] and "bought together with Black jeans" in out
    assert main(["recommend", "cross", *files, "1", "-k", "3"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    assert lines and "Leather belt" in lines[0] and all("jeans" not in ln.split("\t")[2] for ln in lines)
    assert main(["recommend", "user", *files, "nobody", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "popular in" in out and "nobody: unknown user: popular items" in out
    assert main(["recommend", "eval", *files, "-k", "5"]) == 0
    out = capsys.readouterr().out
    assert "hybrid" in out and "ndcg@5=" in out
    aucs = [float(w.split("=")[1]) for w in out.split() if w.startswith("auc=")]  # AUC, as the README lists it
    assert aucs and all(0.0 <= a <= 1.0 for a in aucs)
    assert "held-out users (fewer than 100): too few to tell these rows apart" in out  # a tiny store says so
    assert main(["recommend", "item", *files, "nope"]) == 2


def test_eval_without_a_session_column_infers_sessions(
    tmp_path: Path, files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Taobao-style rows (pv/cart/buy, no session column): baskets 2 hours apart become sessions."""
    ev = tmp_path / "no_sessions.csv"
    rows = ["user_id,item_id,type,timestamp"]
    for u, (a, b) in enumerate([("1", "2"), ("1", "2"), ("3", "2"), ("5", "4")]):
        t = 1_000_000 * u
        rows += [f"u{u},{a},pv,{t}", f"u{u},{a},buy,{t + 60}", f"u{u},{b},cart,{t + 120}", f"u{u},{b},buy,{t + 7200}"]
    ev.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = [*files[:2], "--events", str(ev), *files[4:]]
    assert main(["recommend", "eval", *args, "-k", "5"]) == 0
    out = capsys.readouterr().out
    assert "bad rows" not in out
    hybrid = next(ln for ln in out.splitlines() if ln.startswith("hybrid"))
    assert "users=4" in hybrid
    mapping = tmp_path / "fields.json"
    mapping.write_text('{"session_gap_minutes": 600}')  # one session per user: nothing to hold out
    assert main(["recommend", "eval", *args, "--event-fields", str(mapping)]) == 2
    assert "session_gap_minutes" in capsys.readouterr().err


def test_eval_that_cannot_hold_out_a_session_says_so_before_embedding(
    tmp_path: Path, files: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It embedded the whole catalog first (45 s on H&M), then said no user has a second session."""
    ev = tmp_path / "one_session_each.csv"
    ev.write_text("user_id,item_id,type,timestamp,session_id\nu1,1,view,1,a\nu2,2,view,2,b\n", encoding="utf-8")

    def no_embedding(*_: object, **__: object) -> None:
        raise AssertionError("the catalog was embedded before the check")

    monkeypatch.setattr("shelfwise.cli.recommend_cmd.encoder_for_catalog", no_embedding)
    assert main(["recommend", "eval", *files[:2], "--events", str(ev), *files[4:]]) == 2
    assert "no user has more than one session" in capsys.readouterr().err


def test_recommend_from_a_saved_recommender_folder(
    tmp_path: Path, files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`recommend ... --save DIR` said "serve it with --recommender DIR", but `recommend` itself could not read
    the folder back; now ``--shelf S --recommender DIR`` does (nothing refitted)."""
    rec = tmp_path / "rec"
    assert main(["recommend", "item", *files, "1", "-k", "2", "--save", str(rec)]) == 0
    fitted = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    shelf = tmp_path / "shelf"
    assert main(["index", *files[:2], *files[4:], "--out", str(shelf)]) == 0  # search only: no --events
    capsys.readouterr()
    assert main(["recommend", "item", "1", "-k", "2", "--shelf", str(shelf)]) == 2
    assert "or pass --recommender DIR" in capsys.readouterr().err
    assert main(["recommend", "item", "1", "-k", "2", "--shelf", str(shelf), "--recommender", str(rec)]) == 0
    assert [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()] == fitted
    assert main(["recommend", "item", "1", "--recommender", str(rec)]) == 2
    assert "--recommender needs --shelf DIR" in capsys.readouterr().err


@pytest.mark.parametrize(("kind", "says", "not_says"), [("user", "user id", "item id"), ("item", "item id", "user id")])
def test_positional_id_help_names_what_the_subcommand_takes(
    kind: str, says: str, not_says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # every subcommand's help read "user id or item id"
    with pytest.raises(SystemExit):
        main(["recommend", kind, "--help"])
    usage = capsys.readouterr().out
    assert re.search(rf"\bid\s+{says}\n", usage) and not_says not in usage


def test_a_list_shorter_than_k_says_so(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "cross", *files, "1", "-k", "50"]) == 0
    out = capsys.readouterr().out
    shown = [ln for ln in out.splitlines() if ln.strip()[:2].rstrip(".").isdigit()]
    assert 0 < len(shown) < 50 and f"1: only {len(shown)} of the 50 asked for" in out


def test_recommend_session_as_the_api_answers_it(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """GET /recommend/session had no CLI: a session's items (oldest first) and/or a query."""
    assert main(["recommend", "session", *files, "1", "gone", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "item ids not in the catalog, left out: 'gone'" in out  # skipped and said, as the API does
    lines = [ln for ln in out.splitlines() if re.match(r"\s*\d+\. ", ln)]
    assert lines and "Leather belt" in lines[0]  # bought with the session's jeans
    assert not any(ln.split()[1] == "1" for ln in lines)  # the session's own item is not recommended back
    assert main(["recommend", "session", *files, "--query", "red dress", "-k", "1"]) == 0
    assert "Red dress" in capsys.readouterr().out
    assert main(["recommend", "session", *files, "-k", "2"]) == 0
    assert "no session items and no query: popular items" in capsys.readouterr().out


@pytest.mark.parametrize(("flag", "said"), [([], None), (["--live"], True), (["--no-live"], False)])
def test_recommend_user_passes_live_through(
    files: list[str], monkeypatch: pytest.MonkeyPatch, flag: list[str], said: bool | None
) -> None:
    """``--live`` / ``--no-live`` as GET /recommend/user's ``live``: the list's context says it; without
    either, the shopper id itself goes to the recommender (its latest event's age decides)."""
    asked: list[object] = []
    plain = HybridRecommender.recommend

    def spy(self: HybridRecommender, user: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(user)
        return plain(self, user, *args, **kwargs)

    monkeypatch.setattr(HybridRecommender, "recommend", spy)
    assert main(["recommend", "user", *files, "u1", "-k", "2", *flag]) == 0
    (user,) = asked
    if said is None:
        assert user == "u1"
    else:
        assert isinstance(user, Context) and (user.user, user.live) == ("u1", said)


def test_sold_out_products_are_left_out_unless_asked_for(
    tmp_path: Path, files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """As GET /recommend/*'s in_stock default: the belt bought with the jeans is sold out, so it is not
    recommended (a shopper cannot buy it) unless --include-sold-out; a catalog with no stock column is
    every product in stock (the other tests here)."""
    stocked = tmp_path / "stocked.csv"
    rows = Path(files[1]).read_text(encoding="utf-8").splitlines()
    stocked.write_text(
        "\n".join([rows[0] + ",in_stock"] + [r + (",no" if r.startswith("2,") else ",yes") for r in rows[1:]]) + "\n",
        encoding="utf-8",
    )
    args = ["--catalog", str(stocked), *files[2:]]

    def ids(out: str) -> list[str]:
        return [ln.split()[1] for ln in out.splitlines() if re.match(r"\s*\d+\. ", ln)]

    for cmd in (["item", "1"], ["session", "1"], ["user", "nobody"], ["cross", "1"]):
        assert main(["recommend", cmd[0], *args, *cmd[1:], "-k", "4"]) == 0
        out = capsys.readouterr().out
        assert "2" not in ids(out) and "1 sold-out product left out of this list: --include-sold-out lists it" in out
        assert main(["recommend", cmd[0], *args, *cmd[1:], "-k", "4", "--include-sold-out"]) == 0
        out = capsys.readouterr().out
        assert "2" in ids(out) and "sold-out" not in out, cmd
    assert main(["recommend", "cross", *files, "1", "-k", "4"]) == 0
    assert "sold-out" not in capsys.readouterr().out  # no stock column: nothing left out, nothing said


def test_the_sold_out_count_is_of_the_products_the_list_left_out(
    tmp_path: Path, files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed the catalog's sold-out count as 'left out' whatever the list would have held: the
    belt (2) and the dress (5) are sold out; a one-item list related to the jeans leaves out the belt
    alone, a four-item list both, and a list that would hold neither says nothing about stock."""
    stocked = tmp_path / "stocked.csv"
    rows = Path(files[1]).read_text(encoding="utf-8").splitlines()
    sold = ("2,", "5,")
    stocked.write_text(
        "\n".join([rows[0] + ",in_stock"] + [r + (",no" if r.startswith(sold) else ",yes") for r in rows[1:]]) + "\n",
        encoding="utf-8",
    )
    args = ["--catalog", str(stocked), *files[2:]]
    said = {}
    for k in ("1", "4"):
        assert main(["recommend", "item", *args, "1", "-k", k]) == 0
        said[k] = [ln for ln in capsys.readouterr().out.splitlines() if "sold-out" in ln]
    assert said["1"] == ["1 sold-out product left out of this list: --include-sold-out lists it"]
    assert said["4"] == ["2 sold-out products left out of this list: --include-sold-out lists them"]
    assert main(["recommend", "item", *args, "2", "-k", "1"]) == 0  # the jeans, in stock, top the list anyway
    out = capsys.readouterr().out
    assert "sold-out" not in out and re.search(r"^\s+1\. [13]\t", out, re.M), out
