"""Argument helpers shared by the commands (:mod:`shelfwise.cli.common`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from shelfwise.cli.common import load_catalog_arg


def test_a_bad_catalog_row_is_named_and_the_good_rows_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "products.csv"
    cat.write_text("id,title\n1,Black jeans\n2,\n3,Red dress\n", encoding="utf-8")
    assert len(load_catalog_arg(argparse.Namespace(catalog=cat, fields=None)).catalog) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{cat}: skipped 1 bad row (kept 2); first ones:"  # the count kept was not said
    assert out[1].startswith(f"  {cat}: line 3: field 'title'")


def test_a_mapped_column_the_file_lacks_is_a_warning_not_a_skipped_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "goods.csv"
    cat.write_text("编号,名称\n1,牛仔裤\n2,T恤\n", encoding="utf-8")
    fields = tmp_path / "fields.json"
    mapping = {"id": "编号", "title": "名称", "description": None, "category": None, "brand": "品牌"}
    fields.write_text(json.dumps({**mapping, "price": None, "in_stock": None}))
    loaded = load_catalog_arg(argparse.Namespace(catalog=cat, fields=fields))
    assert len(loaded.catalog) == 2 and loaded.skipped == []
    assert [(e.row, e.field) for e in loaded.columns] == [(0, "品牌")]
    out = capsys.readouterr().out
    assert "skipped" not in out  # every row was kept: "skipped 1 bad rows (kept 2)" read as a lost product
    assert f"warning: {cat}: field '品牌': mapped column not in file; that field is left empty" in out


def test_the_mapping_help_names_the_real_keys_and_an_example_that_exists() -> None:
    """--fields / --event-fields say which keys a mapping takes (the help said only 'JSON mapping of
    columns to product fields'), and each key named is one the loader reads."""
    import dataclasses
    import re

    from shelfwise.catalog import ProductFields
    from shelfwise.cli.common import EVENT_FIELDS_HELP, FIELDS_HELP
    from shelfwise.events.loader import EventFields

    root = Path(__file__).resolve().parents[2]
    for text, spec in ((FIELDS_HELP, ProductFields), (EVENT_FIELDS_HELP, EventFields)):
        keys = re.findall(r"\b[a-z]+(?:_[a-z]+)*\b(?=[,;) ])", text.split(":", 1)[1].split("(null")[0] + ",")
        assert len(keys) >= 6 and set(keys) <= {f.name for f in dataclasses.fields(spec)}
        example = re.search(r"examples/\S+\.json", text)
        assert example is not None and (root / example.group(0)).is_file()
