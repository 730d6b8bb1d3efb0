"""``import shelfwise``: its public names, loaded on first use (``shelfwise/__init__.py``)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import shelfwise

PUBLIC = sorted(set(shelfwise.__all__) - {"__version__"})


def test_every_public_name_imports_from_the_package_and_is_the_modules_own() -> None:
    """In a fresh process (the lazy path, no name loaded yet): ``import shelfwise`` loads nothing heavy,
    and ``from shelfwise import X`` works for every name in ``__all__``."""
    code = (
        "import sys, shelfwise\n"
        "heavy = [m for m in ('numpy', 'pandas', 'shelfwise.catalog', 'shelfwise.retrieve') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "for name in shelfwise.__all__:\n"
        "    exec(f'from shelfwise import {name}')\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    for name in PUBLIC:  # the object its module defines, not a copy or another of the same name
        assert getattr(shelfwise, name) is getattr(importlib.import_module(shelfwise._FROM[name]), name)


def test_dir_lists_every_public_name_before_it_is_loaded() -> None:
    """``dir(shelfwise)`` (tab completion, ``help``, ``inspect``) left out every name not loaded yet:
    in a fresh process, all of them."""
    code = "import shelfwise\nprint(sorted(set(shelfwise.__all__) - set(dir(shelfwise))))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_names_type_checkers_see_are_the_public_ones() -> None:
    """The ``if TYPE_CHECKING:`` imports (what mypy reads) name exactly ``__all__``'s names."""
    tree = ast.parse(Path(shelfwise.__file__).read_text(encoding="utf-8"))
    checked = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for imp in node.body
        if isinstance(imp, ast.ImportFrom)
        for alias in imp.names
    }
    assert checked == set(PUBLIC)
