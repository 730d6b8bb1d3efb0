"""Argument helpers shared by the commands (:mod:`shelfwise.cli.common`)."""

from __future__ import annotations

import argparse
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
    assert out[0] == f"{cat}: skipped 1 bad rows (kept 2); first ones:"  # the count kept was not said
    assert out[1].startswith(f"  {cat}: line 3: field 'title'")
