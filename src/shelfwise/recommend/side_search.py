"""The related-items and between-sessions searches of fit-time tuning, run beside the in-session one.

Fit-time tuning (:mod:`shelfwise.recommend.autotune`) fits the components on the latest slice's
earlier rows, builds its pool of validation prefixes and picks the in-session weights; the same
slice then chooses the related-items weights (:mod:`.related_tune`) and the weights for a shopper
with no live session (:mod:`.between`). Neither of those needs the in-session weights until its
last step (the between-sessions ascents start from them): their seeds and next baskets are scored
while the pool is built, in a thread of their own (the pool's two threads leave a share of the
machine idle: numpy's small calls hold the GIL), and the choices are written afterwards, in the
calling thread and in the order the report said them before (related items, then between sessions):
the same weights, report and config as running them one after the other.

Both only read the components, which stay as fitted on the earlier rows until tuning returns.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from shelfwise.recommend.between import BasketSearch, finish_between, prepare_between
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.related_tune import RelatedSearch, apply_related, search_related

if TYPE_CHECKING:
    from shelfwise.recommend.autotune import TuningReport
    from shelfwise.recommend.hybrid import HybridRecommender


class SideSearches:
    """The related-items and between-sessions searches on one validation slice ``first`` (earlier
    rows, held-out sessions), started in a thread once the hybrid's components are fitted on its
    earlier rows (:meth:`fitted`)."""

    def __init__(self, hybrid: HybridRecommender, first: tuple[Interactions, Interactions]) -> None:
        self.hybrid, self.first = hybrid, first
        self._jobs: tuple[Future[RelatedSearch], Future[BasketSearch | None]] | None = None

    def fitted(self, rows: Interactions) -> None:
        """The components were just fitted on ``rows``: the searches start when those are the slice's
        earlier rows (the between-sessions pools on one thread: the tuning pool holds two)."""
        if rows is not self.first[0] or self._jobs is not None:
            return
        pool = ThreadPoolExecutor(1)
        try:
            self._jobs = (
                pool.submit(search_related, self.hybrid, self.first),
                pool.submit(prepare_between, self.hybrid, self.first, 1),
            )
        finally:
            pool.shutdown(wait=False)  # the thread ends when both are done

    def wait(self) -> None:
        """Let both end, whatever tuning did (nothing refits the components they read meanwhile)."""
        for job in self._jobs or ():
            job.exception()

    def finish(self, rep: TuningReport) -> None:
        """Write both choices to the hybrid's config and ``rep`` (the in-session weights tuned and
        set): related items, then between sessions (both run here, in turn, if they never started)."""
        if self._jobs is None:
            apply_related(self.hybrid, search_related(self.hybrid, self.first), rep)
            finish_between(self.hybrid, prepare_between(self.hybrid, self.first), rep)
            return
        related, between = self._jobs
        apply_related(self.hybrid, related.result(), rep)
        finish_between(self.hybrid, between.result(), rep)
