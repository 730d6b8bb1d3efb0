"""A notice is its English text (a ``str``) with a code for programs."""

from __future__ import annotations

import copy
import pickle

from shelfwise.notice import OTHER, SYNONYMS, Notice, code_of
from shelfwise.wording_zh import localise


def test_a_notice_is_its_text_with_a_code() -> None:
    n = Notice("also searched, by the store's synonyms: 'couch'", SYNONYMS)
    assert n == "also searched, by the store's synonyms: 'couch'" and isinstance(n, str)
    assert code_of(n) == SYNONYMS and code_of("a plain string") == OTHER
    assert n.upper().startswith("ALSO") and code_of(n.upper()) == OTHER  # str methods give plain strings
    assert localise(n, "zh") != n and code_of(n) == SYNONYMS  # the code is read before the text is translated


def test_a_notice_keeps_its_code_through_copies() -> None:
    n = Notice("no product has brand 'Levis'", "unmatched-filter")
    for again in (copy.copy(n), copy.deepcopy([n])[0], pickle.loads(pickle.dumps(n))):
        assert again == n and code_of(again) == "unmatched-filter"
