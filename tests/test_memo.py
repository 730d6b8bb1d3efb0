"""ArrayMemo: arrays memoised under a byte budget, least recently used dropped first."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.memo import ArrayMemo


def test_the_budget_drops_the_least_recently_used_first() -> None:
    memo: ArrayMemo[np.bool_] = ArrayMemo(max_bytes=250)
    for key in "abc":
        memo.put(key, np.zeros(100, dtype=bool))
    assert memo.get("a") is None and memo.nbytes == 200  # a went first
    assert memo.get("b") is not None  # b is now the most recent
    memo.put("d", np.zeros(100, dtype=bool))
    assert memo.get("c") is None and memo.get("b") is not None and len(memo) == 2
    memo.put("big", np.zeros(1000, dtype=bool))  # the newest stays even alone over the budget
    assert len(memo) == 1 and memo.get("big") is not None and memo.nbytes == 1000
    memo.put("big", np.zeros(10, dtype=bool))  # replaced: its bytes counted once
    assert memo.nbytes == 10
    with pytest.raises(ValueError, match="max_bytes"):
        ArrayMemo(-1)
