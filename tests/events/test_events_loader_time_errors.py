"""A cell that is not a time says which formats are read; a number too large as text says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfwise.catalog import Catalog
from shelfwise.events.loader import load_events, parse_timestamp


def test_unreadable_and_out_of_range_time_cells_say_why(tmp_path: Path, tiny_catalog: Catalog) -> None:
    f = tmp_path / "events.csv"
    f.write_text(
        "user_id,item_id,type,timestamp\n"
        "u1,p1,view,Tuesday\n"
        "u1,p2,view,05/01/2017\n"
        "u2,p1,view,1e20\n"
        "u2,p2,view,2017-05-01\n",
        encoding="utf-8",
    )
    res = load_events(f, catalog=tiny_catalog)
    assert [e.user_id for e in res.events] == ["u2"]  # the ISO date is kept
    formats = "(expected unix seconds or ms, or ISO-8601 such as 2017-05-01 or 2017-05-01T10:00:00Z)"
    assert [str(e) for e in res.errors] == [
        f"{f}: line 2: field 'timestamp': not a timestamp: 'Tuesday' {formats}",
        f"{f}: line 3: field 'timestamp': not a timestamp: '05/01/2017' {formats}",
        f"{f}: line 4: field 'timestamp': not a timestamp: '1e20' (out of range: 1e+20 is after the year 9999 "
        "as unix seconds or ms)",
    ]
    with pytest.raises(ValueError, match="after the year 9999"):
        parse_timestamp("1e20")  # as text, the same reason as the number


def test_a_boolean_is_not_a_timestamp() -> None:
    """JSON true is an int to Python: it was read as 1 s after 1970."""
    for value in (True, False):
        with pytest.raises(ValueError, match="boolean"):
            parse_timestamp(value)
