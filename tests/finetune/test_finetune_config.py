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


def test_each_bad_setting_is_named_with_its_value_and_flag() -> None:
    with pytest.raises(ValueError) as info:
        FinetuneConfig(batch_size=1, epochs=0, lora_r=0)
    msg = str(info.value)
    assert "batch_size must be >= 2 (in-batch negatives need a second pair), got 1 (--batch-size)" in msg
    assert "epochs must be > 0, got 0 (--epochs)" in msg and "lora_r must be >= 1, got 0;" not in msg
    assert msg.endswith("lora_r must be >= 1, got 0")  # no CLI flag for it
    with pytest.raises(ValueError, match=r"max_steps must be >= 1 when given, got 0 \(--max-steps\)"):
        FinetuneConfig(max_steps=0)
