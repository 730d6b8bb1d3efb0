"""The retriever protocol: anything that turns a query into ranked catalog rows."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from shelfwise.results import Results


class Retriever(Protocol):
    def retrieve(self, query: str, k: int = 10, mask: npt.NDArray[np.bool_] | None = None) -> Results: ...
