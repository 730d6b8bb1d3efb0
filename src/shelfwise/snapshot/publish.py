"""Publishing a rebuilt searcher (e.g. one embedded with a fine-tuned encoder) into a saved shelf:
what ``shelfwise train`` calls once its model passed the gate."""

from __future__ import annotations

import logging
from pathlib import Path

from shelfwise.catalog.schema import Catalog
from shelfwise.events.schema import EventLog
from shelfwise.rank.saved import load_reranker
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.retrieve.hybrid import HybridSearcher, read_meta
from shelfwise.retrieve.rules import FILE as RULES_FILE
from shelfwise.retrieve.rules import Rules
from shelfwise.retrieve.suggest import FILE as SUGGEST_FILE
from shelfwise.retrieve.suggest import Suggester
from shelfwise.retrieve.synonyms import Synonyms
from shelfwise.snapshot import livestate
from shelfwise.snapshot.build import ShelfConfig, fit_recommendations
from shelfwise.snapshot.io import SUPPORTED, save_shelf
from shelfwise.snapshot.manifest import Manifest, read_manifest, verify

log = logging.getLogger(__name__)


def publish_searcher(
    path: str | Path,
    searcher: HybridSearcher,
    events: EventLog | None = None,
    config: ShelfConfig | None = None,
    *,
    own_reranker: bool = False,
) -> Manifest:
    """Replace the searcher of the shelf saved at ``path`` with ``searcher`` (built over the same
    catalog) and save the shelf again, atomically; a running server picks it up on
    ``POST /admin/reload`` or SIGHUP. The other parts follow it: the reranker is re-bound to the
    new searcher, the bandit and the live state (with its event-log offset) are kept, and the
    recommender, whose content part reads the item vectors, is refitted on ``events`` when given,
    else kept when the vectors keep their shape (its text-similarity graph is then the old
    encoder's until the next fit) and dropped, with a warning, when they do not. ``own_reranker``: the
    reranker ``searcher`` carries (None: none) is the one published and the saved one is not read
    (``shelfwise train`` sets it: :mod:`shelfwise.finetune.reranker_refit` refits, keeps or drops it);
    otherwise the saved reranker is re-bound as it is."""
    from shelfwise.shelf import Shelf

    root = Path(path)
    m = read_manifest(root, SUPPORTED)
    for name in m.parts:
        verify(m, name)
    catalog = Catalog.load(m.folder("catalog") / "catalog.parquet")
    if catalog.ids != searcher.catalog.ids:
        raise ValueError(f"{root}: the new searcher indexes another catalog than the shelf's")
    shelf = Shelf(catalog=catalog, searcher=searcher, events=events)
    old = read_meta(m.folder("searcher"))
    if searcher.synonyms is None and "synonyms" in old:  # the store's synonyms stay with its search
        searcher.synonyms = Synonyms.load(m.folder("searcher") / str(old["synonyms"]))
    if m.has("suggester"):
        shelf.suggester = Suggester.load(m.folder("suggester") / SUGGEST_FILE)
    if m.has("rules"):
        shelf.rules = Rules.load(m.folder("rules") / RULES_FILE, catalog.ids)
    if m.has("reranker") and not own_reranker:
        searcher.reranker = load_reranker(m.folder("reranker"), searcher)
    if events is not None:
        fit_recommendations(shelf, events, config or ShelfConfig())
    elif m.has("recommender"):
        try:
            rec = HybridRecommender.load(m.folder("recommender"), catalog, searcher.dense.index)
            shelf.recommender, shelf.user_profiles = rec, rec.profiles
        except ValueError as e:
            log.warning("%s: recommender dropped; refit it with publish_searcher(..., events=...): %s", root, e)
    if m.has("bandit"):
        shelf.bandit = livestate.load_bandit(m.folder("bandit"), catalog)
    if m.has("live"):
        shelf.saved_live = livestate.read_live(m.folder("live"), len(catalog))
    return save_shelf(shelf, root)
