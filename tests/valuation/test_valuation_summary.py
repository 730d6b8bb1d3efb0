"""The typed valuation summary: written once, read back field by field, bad files named precisely."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shelfwise.cli.main import main
from shelfwise.valuation import Values
from shelfwise.valuation.removal import RemovalCurve
from shelfwise.valuation.report import ValuationReport
from shelfwise.valuation.suggest import Suggestions
from shelfwise.valuation.summary import SUMMARY_FILE, ValuationSummary, load_valuation


def _report() -> ValuationReport:
    rep = ValuationReport("tiny", metrics={"noise precision": 0.5}, notes=["made up"])
    rep.values["groups: loo"] = Values("loo", "group", ("a", "b", "c"), np.array([0.2, -0.1, 0.05]), info={"k": 3.0})
    f = np.array([0.0, 0.5])
    rep.curves["groups: loo"] = RemovalCurve(f, f + 1, f + 2, f + 3, f, "loo")
    rep.suggestions = Suggestions(
        np.array([0.0125, 0.0, 0.0]), ("shoes", "dress"), np.array([0.0125, 0.0]), np.array([3, 1]), 0.01
    )
    return rep


def test_written_summary_reads_back_equal(tmp_path: Path) -> None:
    rep = _report()
    rep.write(tmp_path)
    got = load_valuation(tmp_path)
    assert got == rep.summary()
    assert got.values["groups: loo"].least_valuable[0] == ("b", pytest.approx(-0.1), 1)
    assert got.values["groups: loo"].players == 3 and got.values["groups: loo"].info == {"k": 3.0}
    assert got.removal_curves["groups: loo"].highest_first == (2.0, 2.5)
    assert got.label_next == (("shoes", 0.0125, 3), ("dress", 0.0, 1))
    raw = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert raw == json.loads(json.dumps(got.as_json()))  # the file is exactly the typed summary's JSON
    assert list(raw) == ["title", "values", "removal_curves", "metrics", "notes", "label_next"]


def test_summary_without_suggestions_has_no_label_next(tmp_path: Path) -> None:
    rep = ValuationReport("plain")
    rep.values["samples: knn"] = Values("knn-shapley", "sample", ("x", "y"), np.array([0.1, 0.2]))
    rep.write(tmp_path)
    assert "label_next" not in json.loads((tmp_path / SUMMARY_FILE).read_text())
    got = load_valuation(tmp_path)
    assert got.label_next is None and got.removal_curves == {} and got.notes == ()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("values"), "not a valuation summary: values: missing"),
        (lambda d: d.update(title=3), "title: expected a string, got a number"),
        (
            lambda d: d["values"]["groups: loo"].pop("grain"),
            "values['groups: loo'].grain: missing",
        ),
        (
            lambda d: d["values"]["groups: loo"].update(players="3"),
            "values['groups: loo'].players: expected a whole number, got a string",
        ),
        (
            lambda d: d["values"]["groups: loo"]["most_valuable"][1].pop(),
            "values['groups: loo'].most_valuable[1]: expected [name, value, size], got 2 values",
        ),
        (
            lambda d: d["removal_curves"]["groups: loo"]["random_std"].pop(),
            "removal_curves['groups: loo']: random_std: 1 values for 2 fractions",
        ),
        (lambda d: d.update(label_next=[["shoes", "lots", 3]]), "label_next[0][1]: expected a number, got a string"),
        (lambda d: d["metrics"].update(time=True), "metrics['time']: expected a number, got true/false"),
        # optional fields may be missing, but not null (only label_next, whose absence is None, may be)
        (lambda d: d.update(notes=None), "notes: expected an array, got null"),
        (lambda d: d["values"]["groups: loo"].update(info=None), "values['groups: loo'].info: expected an object"),
        (lambda d: d["values"]["groups: loo"]["info"].update(k="3"), "values['groups: loo'].info['k']: expected a"),
        # the ranked lists have defaults in the dataclass, but a summary must still hold them
        (lambda d: d["values"]["groups: loo"].pop("least_valuable"), "values['groups: loo'].least_valuable: missing"),
        (lambda d: d["removal_curves"]["groups: loo"].pop("method"), "removal_curves['groups: loo'].method: missing"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    _report().write(tmp_path)
    data = json.loads((tmp_path / SUMMARY_FILE).read_text())
    edit(data)
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(data))
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        load_valuation(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / SUMMARY_FILE}: not a valuation summary: ")


def test_optional_fields_take_their_defaults() -> None:
    data = json.loads(json.dumps(_report().summary().as_json()))
    for key in ("removal_curves", "metrics", "notes"):
        del data[key]
    del data["values"]["groups: loo"]["info"]
    data["label_next"] = None
    got = ValuationSummary.from_json(data)
    assert got.removal_curves == {} and got.metrics == {} and got.notes == () and got.label_next is None
    assert got.values["groups: loo"].info == {} and got.values["groups: loo"].players == 3


def test_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no valuation report here; run `shelfwise value \.\.\. --out"):
        load_valuation(tmp_path)
    (tmp_path / SUMMARY_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="not a valuation summary: not JSON"):
        load_valuation(tmp_path)
    (tmp_path / SUMMARY_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a valuation summary: the file: expected an object, got an array"):
        load_valuation(tmp_path)
    assert ValuationSummary.from_json({"title": "t", "values": {}}) == ValuationSummary("t")


def test_value_show_prints_typed_summary_and_names_bad_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _report().write(tmp_path)
    assert main(["value", "show", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "groups: loo: 3 players" in out and "    -0.10000  (n=1)  b" in out
    # label-next rows print like the value rows (they were raw JSON lists with 17-digit floats)
    assert "label next: expected gain, unlabelled items, group" in out and "    +0.01250  (n=3)  shoes" in out
    data = json.loads((tmp_path / SUMMARY_FILE).read_text())
    del data["values"]["groups: loo"]["players"]
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(data))
    assert main(["value", "show", str(tmp_path)]) == 2  # was a KeyError printed as "error: players"
    assert "values['groups: loo'].players: missing" in capsys.readouterr().err


def test_eval_and_valuation_do_not_import_serve() -> None:
    """Layering: the report (eval) reads the summary from the valuation stage, not from serve's schemas."""
    code = (
        "import sys, shelfwise.eval.store_report, shelfwise.valuation.summary, shelfwise.valuation.report\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('shelfwise.serve', 'fastapi', 'pydantic')))\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
