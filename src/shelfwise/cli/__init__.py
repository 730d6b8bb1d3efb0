"""Command line entry point."""

from shelfwise.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
