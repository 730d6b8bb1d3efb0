"""Fixtures for the finetune tests: a tiny random sentence-transformers model (built once)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_st(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("peft")
    from tiny_st import build_tiny_st

    return build_tiny_st(tmp_path_factory.mktemp("tiny_st"))
