"""`shelfwise serve --impression-log FILE` needs explored lists to log: without --events-db (or with
--explore-share 0) there are none, and the server says so at startup rather than logging nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.cli import main


@pytest.mark.parametrize("extra", [(), ("--events-db", "EV", "--explore-share", "0")])
def test_an_impression_log_file_with_nothing_to_log_fails_at_startup_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    log = tmp_path / "imp.db"
    argv = [a.replace("EV", str(tmp_path / "ev.sqlite")) for a in extra]
    assert main(["serve", "--shelf", str(tmp_path / "no-shelf"), "--impression-log", str(log), *argv]) == 2
    err = capsys.readouterr().err
    assert "--impression-log" in err and "--events-db" in err and "--explore-share" in err
    assert not log.exists()
