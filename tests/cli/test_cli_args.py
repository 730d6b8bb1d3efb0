"""Command-line arguments checked before any work: list lengths, ports, a taken port, error text."""

import argparse
import importlib
import socket
from pathlib import Path

import pytest

from shelfwise.cli import main


@pytest.mark.parametrize("argv", [["-k", "0"], ["-k", "-3"], ["-k", "x"]])
def test_recommend_k_must_be_positive(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["recommend", "item", "p1", "--shelf", str(tmp_path), *argv])
    assert exc.value.code == 2
    assert "argument -k" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "99999", "http"])
def test_serve_port_out_of_range_is_refused(port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--shelf", str(tmp_path), "--port", port])
    assert exc.value.code == 2
    assert "argument --port" in capsys.readouterr().err


def test_serve_on_a_taken_port_fails_before_loading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        # the shelf folder does not exist: the port is checked first, so its error is the one reported
        code = main(["serve", "--shelf", str(tmp_path / "nowhere"), "--port", str(port), "--workers", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_key_error_is_printed_without_quotes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = importlib.import_module("shelfwise.cli.main")
    args = cli.build_parser().parse_args(["recommend", "item", "x", "--shelf", str(tmp_path)])

    def boom(_: argparse.Namespace) -> int:
        raise KeyError("unknown item id 'x'")

    args.func = boom
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", lambda self, argv=None: args)
    assert cli.main([]) == 2
    assert capsys.readouterr().err == "error: unknown item id 'x'\n"


def test_index_with_a_missing_event_log_warns_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "p.csv"
    cat.write_text("id,title\na,Black jeans\nb,Red dress\n", encoding="utf-8")
    db = tmp_path / "live.sqlite"  # mistyped, or the server never ran
    code = main(["index", "--catalog", str(cat), "--out", str(tmp_path / "shelf"), "--encoder", "hashing",
                 "--cache", str(tmp_path / "c.sqlite"), "--events-db", str(db)])  # fmt: skip
    assert code == 0 and not db.exists()
    out = capsys.readouterr().out
    assert f"warning: no event log at {db} yet" in out and "live state: applied" not in out
    assert not (tmp_path / "shelf" / "live").exists()


def test_judged_items_missing_from_the_catalog_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "p.csv"
    cat.write_text("id,title\na,Black jeans\nb,Red dress\n", encoding="utf-8")
    q = tmp_path / "q.csv"
    q.write_text("query_id,query\nq1,jeans\nq2,dress\n", encoding="utf-8")
    j = tmp_path / "j.csv"
    j.write_text("query_id,item_id,grade\nq1,a,2\nq2,zz9,1\nq2,zz8,1\n", encoding="utf-8")
    files = ["--catalog", str(cat), "--queries", str(q), "--judgments", str(j), "--out", str(tmp_path / "e.json")]
    code = main(
        ["eval", "search", *files, "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite"), "--peers", "none"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "warning: 2 of 3 judged items are not in the catalog (e.g. ['zz8', 'zz9'])" in out


def test_recommend_with_nothing_to_show_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "p.csv"
    cat.write_text("id,title,category\na,Black jeans,Men\nb,Blue jeans,Men\n", encoding="utf-8")  # one category
    ev = tmp_path / "e.csv"
    ev.write_text("user_id,item_id,type,timestamp\nu1,a,purchase,1704103200\n", encoding="utf-8")
    shelf = tmp_path / "shelf"
    common = ["--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]
    assert main(["index", "--catalog", str(cat), "--events", str(ev), "--out", str(shelf), *common]) == 0
    capsys.readouterr()
    assert main(["recommend", "cross", "a", "--shelf", str(shelf)]) == 0
    assert capsys.readouterr().out == "a: no recommendations from other categories\n"


def test_index_refuses_a_foreign_out_folder_before_building(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "p.csv"
    cat.write_text("id,title\na,Black jeans\n", encoding="utf-8")
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code = main(["index", "--catalog", str(cat), "--out", str(out), "--encoder", "hashing"])
    assert code == 2 and (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    captured = capsys.readouterr()
    assert "not a shelf or index folder; refusing to replace it" in captured.err
    assert "building indexes" not in captured.out  # refused before any work


def test_recommend_save_names_a_serve_command_that_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "p.csv"
    cat.write_text("id,title\na,Black jeans\nb,Blue jeans\n", encoding="utf-8")
    ev = tmp_path / "e.csv"
    ev.write_text("user_id,item_id,type,timestamp\nu1,a,purchase,1704103200\nu1,b,purchase,1704103300\n", "utf-8")
    rec = tmp_path / "rec"
    files = ["--catalog", str(cat), "--events", str(ev), "--save", str(rec)]
    assert main(["recommend", "user", "u1", *files, "--encoder", "hashing", "--cache", str(tmp_path / "c.sqlite")]) == 0
    out = capsys.readouterr().out
    assert (
        f"shelfwise serve --shelf DIR --recommender {rec}," in out and "--encoder hashing" in out
    )  # serve needs --shelf


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("-1", "must be at least 0.0 and below 1.0, got -1.0"),  # would publish a worse model: that is --force
        ("1", "must be at least 0.0 and below 1.0, got 1.0"),  # a gain in NDCG@10 never exceeds 1
        ("nan", "must be at least 0.0 and below 1.0, got nan"),
        ("x", "not a number: 'x'"),
    ],
)
def test_train_min_gain_outside_0_1_is_refused(
    value: str, why: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--catalog", str(tmp_path / "p.csv"), "--min-gain", value])
    assert exc.value.code == 2
    assert f"argument --min-gain: {why}" in capsys.readouterr().err


def test_train_min_gain_in_range_is_parsed() -> None:
    cli = importlib.import_module("shelfwise.cli.main")
    for value, parsed in (("0", 0.0), ("0.02", 0.02)):
        assert cli.build_parser().parse_args(["train", "--catalog", "p.csv", "--min-gain", value]).min_gain == parsed


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["recommend", "item", "p1", "--shelf", ".", "-k", "0"], "argument -k: must be at least 1, got 0"),
        (["recommend", "item", "p1", "--shelf", ".", "-k", "2.5"], "argument -k: not an integer: '2.5'"),
        (["serve", "--shelf", ".", "--port", "65536"], "argument --port: must be from 1 to 65535, got 65536"),
        (["serve", "--shelf", ".", "--port", "http"], "argument --port: not a port number: 'http'"),
    ],
)
def test_int_range_types_name_the_flag_bound_and_value(
    argv: list[str], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """positive_int and port_number are one factory (number_in): the same messages' meaning."""
    with pytest.raises(SystemExit):
        main(argv)
    assert why in capsys.readouterr().err


def test_number_in_bounds() -> None:
    from shelfwise.cli.common import number_in, port_number, positive_int

    assert positive_int("7") == 7 and port_number("1") == 1 and port_number("65535") == 65535
    between = number_in(int, -2, 2, name="an integer")
    assert [between(t) for t in ("-2", "0", "2")] == [-2, 0, 2]
    for bad in ("-3", "3"):
        with pytest.raises(argparse.ArgumentTypeError, match="must be from -2 to 2"):
            between(bad)
    below = number_in(float, 0.0, 1.0, name="a number", below_high=True)
    assert below("0.999") == 0.999
    with pytest.raises(argparse.ArgumentTypeError, match="got inf"):
        below("inf")
