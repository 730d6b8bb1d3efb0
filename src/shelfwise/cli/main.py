"""``shelfwise`` command line: one module per command group, each with ``register(subparsers)``.

Commands only parse arguments, call stage modules and print; no logic lives here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType


def _command_modules() -> list[ModuleType]:
    from shelfwise.cli import (
        bandit_cmd,
        demo,
        eval_cmd,
        index_cmd,
        recommend_cmd,
        report_cmd,
        search_cmd,
        serve_cmd,
        train_cmd,
        value_cmd,
    )

    return [
        index_cmd,
        search_cmd,
        eval_cmd,
        serve_cmd,
        demo,
        bandit_cmd,
        recommend_cmd,
        train_cmd,
        value_cmd,
        report_cmd,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shelfwise", description="Search and recommendation for online stores.")
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in _command_modules():
        mod.register(sub)
    return parser


STOPPED = 130  # the exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names (default: the process's arguments); its exit status. Ctrl-C at
    any point (the command modules' imports too) prints one ``stopped`` line, not a traceback."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (FileNotFoundError, FileExistsError, ValueError, KeyError, ImportError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # str(KeyError) adds quotes
        print(f"error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return STOPPED
