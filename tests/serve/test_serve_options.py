"""``shelfwise serve`` security flags -> ServeConfig, and the startup warning beyond loopback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from _servekit import KEY

from shelfwise.cli.main import build_parser, main
from shelfwise.serve.config import ENV_API_KEY, ServeConfig
from shelfwise.serve.runner import config_from_args, warn_at_startup


def _config(argv: list[str], env: dict[str, str] | None = None) -> ServeConfig:
    args = build_parser().parse_args(["serve", "--index", "idx", *argv])
    return config_from_args(args, env or {})


def test_defaults() -> None:
    cfg = _config([])
    assert cfg.bind_host == "127.0.0.1" and cfg.api_keys == () and cfg.writes_open
    assert cfg.allowed_hosts is None and cfg.cors_origins == ()
    assert cfg.limits.max_body_bytes == 1_000_000 and cfg.access_log


def test_flags_env_and_file(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    f.write_text("f" * 16 + "\n", encoding="utf-8")
    argv = [
        "--host",
        "0.0.0.0",
        "--api-key",
        KEY,
        "--api-key-file",
        str(f),
        "--allowed-hosts",
        "shop.example,cdn.example",
        "--cors-origins",
        "https://shop.example/,https://m.shop.example",
    ]
    argv += ["--max-body-bytes", "5000", "--max-id-bytes", "64", "--max-query-bytes", "300", "--max-batch", "7"]
    cfg = _config([*argv, "--no-access-log"], env={ENV_API_KEY: "e" * 16})
    assert cfg.api_keys == (KEY, "e" * 16, "f" * 16) and not cfg.writes_open
    assert cfg.host_names() == ("shop.example", "cdn.example")
    assert cfg.cors_origins == ("https://shop.example", "https://m.shop.example")  # a trailing slash dropped
    assert (cfg.limits.max_body_bytes, cfg.limits.max_id_bytes, cfg.limits.max_query_bytes) == (5000, 64, 300)
    assert cfg.limits.max_batch == 7 and not cfg.access_log


def test_bad_key_fails_before_loading_the_index(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--index", "/nonexistent", "--api-key", "short"]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_warning_when_serving_beyond_loopback_without_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shelfwise.serve"):
        lines = warn_at_startup(_config(["--host", "0.0.0.0"]))
    assert lines and any("no API key" in r.getMessage() for r in caplog.records)
    assert warn_at_startup(_config([])) == []


def test_missing_rules_or_bad_synonyms_fail_before_loading_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--index", "/nonexistent", "--rules", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no rules file" in capsys.readouterr().err
    bad = tmp_path / "synonyms.txt"
    bad.write_text("lonely\n", encoding="utf-8")
    assert main(["serve", "--index", "/nonexistent", "--synonyms", str(bad)]) == 2
    assert "synonyms.txt" in capsys.readouterr().err
