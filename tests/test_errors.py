"""DataError's message: the summary, then the row errors, unless the summary already names them."""

from __future__ import annotations

from shelfwise.errors import DataError, RowError


def test_data_error_lists_the_rows_under_its_summary() -> None:
    rows = [RowError("p.csv", 2, "price", "not a number: x"), RowError("p.csv", 3, "title", "missing")]
    err = DataError(rows, "p.csv: 2 bad rows")
    assert str(err).splitlines() == [
        "p.csv: 2 bad rows",
        "p.csv: line 2: field 'price': not a number: x",
        "p.csv: line 3: field 'title': missing",
    ]
    many = DataError([RowError("e.jsonl", i, "ts", "bad") for i in range(1, 26)])
    assert str(many).splitlines()[-1] == "... and 5 more" and len(many.errors) == 25


def test_data_error_with_a_summary_that_names_them_all_says_it_alone() -> None:
    """The columns-missing error is one line (it once patched ``args`` after construction to be)."""
    rows = [RowError("p.csv", 0, "id", "required column not in file")]
    err = DataError(rows, "p.csv: no column 'id'; its columns are ['sku']", list_errors=False)
    assert err.args == ("p.csv: no column 'id'; its columns are ['sku']",) and err.errors == rows
    # without a summary the rows are the message, whatever list_errors says
    assert str(DataError(rows, list_errors=False)) == "p.csv: field 'id': required column not in file"
