"""Every ``shelfwise`` command builds the whole parser; that must not import the HTTP stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

import shelfwise.serve


def test_parser_does_not_import_fastapi() -> None:
    code = (
        "import sys\n"
        "from shelfwise.cli.main import build_parser\n"
        "build_parser().parse_args(['eval', 'search', '--catalog', 'c.csv', '--index', 'i', "
        "'--queries', 'q.csv', '--judgments', 'j.csv'])\n"
        "print(sorted(m for m in ('fastapi', 'starlette', 'shelfwise.serve.app') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_create_app_still_importable_from_package() -> None:
    from shelfwise.serve import create_app
    from shelfwise.serve.app import create_app as direct

    assert create_app is direct
    with pytest.raises(AttributeError, match="no_such_thing"):
        getattr(shelfwise.serve, "no_such_thing")  # noqa: B009


def test_python_dash_m_shelfwise_runs_the_cli() -> None:
    """`python -m shelfwise` failed: "No module named shelfwise.__main__"."""
    out = subprocess.run([sys.executable, "-m", "shelfwise", "ope", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: shelfwise ope" in out.stdout
