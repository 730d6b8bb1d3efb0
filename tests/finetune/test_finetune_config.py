"""FinetuneConfig resolves the mode-aware learning rate itself; the CLI passes only what was typed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shelfwise.cli.main import build_parser
from shelfwise.finetune import FinetuneConfig


def test_learning_rate_defaults_by_mode() -> None:
    assert FinetuneConfig().lr == 5e-5
    assert FinetuneConfig(mode="lora").lr == 5e-4
    assert replace(FinetuneConfig(), mode="lora").lr == 5e-4
    assert FinetuneConfig(mode="lora", learning_rate=1e-3).lr == 1e-3
    with pytest.raises(ValueError, match="learning_rate"):
        FinetuneConfig(learning_rate=0.0)


def test_cli_leaves_the_default_to_the_config() -> None:
    args = build_parser().parse_args(["train", "--catalog", "c.csv", "--mode", "lora"])
    assert args.learning_rate is None
    assert FinetuneConfig(mode=args.mode, learning_rate=args.learning_rate).lr == 5e-4
