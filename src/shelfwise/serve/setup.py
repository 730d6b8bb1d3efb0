"""How a saved shelf folder becomes the serving shelf: one recipe for the start and every reload.

:class:`ShelfSettings` holds what the server was started with that is not in the folder (the
``shelfwise serve`` flags, or what a shelf handed to :func:`~shelfwise.serve.create_app` carries:
its event log, exploration share and gate, valuation report). :class:`ShelfRecipe` applies them: the
server's first shelf and every shelf ``POST /admin/reload`` or SIGHUP swaps in are made by the
same call, so a reload keeps exactly the start settings. :class:`ServerSetup` is the whole start
(folder, shelf settings, :class:`~shelfwise.serve.config.ServeConfig`, report page), parsed once
and handed, picklable, to each ``--workers`` process. Nothing here knows about argparse or HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from shelfwise.recommend.retune import RETUNE, SavedTuning, newest
from shelfwise.retrieve.facet_codes import facet_codes
from shelfwise.serve.config import ServeConfig
from shelfwise.shelf import Shelf, enable_live, set_explore_share

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from shelfwise.bandit.impression_log import ImpressionLogger
    from shelfwise.events.backend import EventBackend

Say = Callable[[str], None]
DEFAULT_EXPLORE_SHARE = 0.2  # enable_live's default: exploration slots on /recommend/user


@dataclass(frozen=True)
class ShelfSettings:
    """What the serving shelf gets from the server rather than from its folder. ``encoder`` /
    ``multilingual``: query encoders (None: the folder's); ``events`` (+ ``event_fields``): a
    behaviour history to refit recommendations from; ``recommender``: a saved recommender folder
    (not with ``events``); ``personal_weight``: the searcher's personalisation weight (None: the
    folder's); ``valuation``: folder served at ``/valuation/summary``; ``events_db``: the event log
    (SQLite file or ``nats://...``) giving live state; ``explore_share``: exploration slots then,
    ``explore_candidates`` their relevance gate (``SlotConfig.candidates``; 0: the random tail);
    ``impression_log``: where lists with explored slots are logged for off-policy evaluation
    (``auto``: beside a SQLite ``events_db``, :func:`~shelfwise.events.impressions.impressions_path`;
    ``off``; or a file), ``impression_log_cpu`` the share of one core it may spend (a random sample of
    the explored lists is logged: :class:`~shelfwise.bandit.impression_sampler.CostSampler`);
    ``rules`` / ``synonyms``: the store's merchandising rules and synonyms, read from these files
    instead of the folder's at the start and at every reload (a merchandiser edits the file and
    reloads: :mod:`shelfwise.retrieve.rules`, :mod:`shelfwise.retrieve.synonyms`); ``retune``: with
    ``events``, ``auto`` keeps the hybrid weights of the latest search among the model being replaced
    (this server's last fit) and the folder's, while :func:`~shelfwise.recommend.retune.reuse_verdict` allows,
    ``always`` searches them at every fit; ``lexical_shortcut``: the searcher's
    ``SearchConfig.lexical_shortcut`` (None: the folder's)."""

    encoder: str | None = None
    multilingual: str | None = None
    events: Path | None = None
    event_fields: Path | None = None
    recommender: Path | None = None
    personal_weight: float | None = None
    valuation: Path | None = None
    events_db: str | None = None
    explore_share: float = DEFAULT_EXPLORE_SHARE
    explore_candidates: int = 0
    impression_log: str = "auto"
    impression_log_cpu: float = 0.1
    rules: Path | None = None
    synonyms: Path | None = None
    retune: str = "auto"
    lexical_shortcut: int | None = None

    def __post_init__(self) -> None:
        if self.retune not in RETUNE:
            raise ValueError(f"retune must be one of {RETUNE}, got {self.retune!r}")
        if self.events is not None and self.recommender is not None:
            raise ValueError("give either --events (fit recommendations) or --recommender (load them), not both")
        if self.personal_weight is not None and not self.personal_weight >= 0:
            raise ValueError(f"--personal-weight must be >= 0, got {self.personal_weight}")
        if not 0 <= self.explore_share <= 1:
            raise ValueError(f"explore_share must be in [0, 1], got {self.explore_share}")
        if not self.explore_candidates >= 0:
            raise ValueError(f"--explore-candidates must be >= 0 (0: no relevance gate), got {self.explore_candidates}")
        if not 0 < self.impression_log_cpu <= 16:
            raise ValueError(
                f"--impression-log-cpu must be a share of a core in (0, 16], got {self.impression_log_cpu}"
            )


def load_folder(path: Path, settings: ShelfSettings, say: Say = print, reuse: SavedTuning | None = None) -> Shelf:
    """The saved shelf in ``path`` with ``settings``' encoders and recommendations (no live state:
    :class:`ShelfRecipe` attaches the server's event log). ``reuse``: the weights of the model a
    ``settings.events`` refit replaces; the folder's saved recommender's weights are kept instead
    when they were searched later."""
    from shelfwise.events.loader import load_event_log
    from shelfwise.recommend.hybrid import HybridRecommender
    from shelfwise.retrieve.rules import read_rules
    from shelfwise.retrieve.synonyms import read_synonyms
    from shelfwise.snapshot import LoadOptions, ShelfConfig, replaced_tuning
    from shelfwise.snapshot.build import fit_recommendations

    s = settings
    own = s.events is None and s.recommender is None
    shelf = Shelf.load(path, LoadOptions(encoder=s.encoder, multilingual=s.multilingual, recommender=own))
    if not own:
        shelf.saved_live = None  # its live state went with the saved recommender: replay the log in full
    if s.recommender is not None:
        rec = HybridRecommender.load(s.recommender, shelf.catalog, shelf.searcher.dense.index, shelf.searcher.encoder)
        shelf.recommender, shelf.user_profiles = rec, rec.profiles
        say(f"recommendations loaded from {s.recommender}")
    if s.events is not None:
        prior = None if s.retune == "always" else newest(reuse, replaced_tuning(path, say))
        events = load_event_log(s.events, s.event_fields, shelf.catalog, say)
        fit_recommendations(shelf, events, ShelfConfig(reuse_tuning=prior), say)
    if s.personal_weight is not None:
        shelf.searcher.config = replace(shelf.searcher.config, personal_weight=s.personal_weight)
    if s.lexical_shortcut is not None:
        shelf.searcher.config = replace(shelf.searcher.config, lexical_shortcut=s.lexical_shortcut)
    shelf.valuation_report = s.valuation
    if s.synonyms is not None:
        shelf.searcher.synonyms = read_synonyms(s.synonyms)
        for problem in shelf.searcher.synonyms.problems:
            say(f"warning: {problem} (line skipped)")
        say(f"synonyms: {len(shelf.searcher.synonyms)} rules from {s.synonyms}")
    if s.rules is not None:
        shelf.rules = read_rules(s.rules, shelf.catalog.ids)
        for problem in shelf.rules.problems:
            say(f"warning: {problem} (skipped)")
        say(f"merchandising rules: {len(shelf.rules)} from {s.rules}")
    return shelf


class ShelfRecipe:
    """``recipe(folder)``: the folder as this server serves it (settings applied, the server's event
    log attached). The log is opened once (``store``, or ``settings.events_db``) and shared by every
    shelf the recipe makes, so reloaded shelves keep taking the same events."""

    def __init__(
        self,
        settings: ShelfSettings,
        store: EventBackend | None = None,
        say: Say = print,
        impressions: ImpressionLogger | None = None,
    ) -> None:
        if store is None and settings.events_db is not None:
            from shelfwise.events.backend import is_event_url, open_event_store

            db = settings.events_db
            if not is_event_url(db) and db != ":memory:" and not Path(db).exists():  # a typo makes a new, empty log
                say(f"event log {db}: no such file, a new empty log is created there")
            store = open_event_store(db)
        self.settings = settings
        self.store = store
        self.say = say
        self.impressions = impressions if impressions is not None else self._impression_log(settings, store, say)
        self.tuning: SavedTuning | None = None  # the last --events fit's weights: the next reload's to keep
        self._served = False  # a shelf made yet (the first is the server's start)

    @staticmethod
    def _impression_log(settings: ShelfSettings, store: EventBackend | None, say: Say) -> ImpressionLogger | None:
        """The impression logger ``settings`` ask for: one per server process, shared by every shelf
        it serves (reloads too); none without exploration slots or with ``off``, or with ``auto`` and
        no event log (a file without one logs the slots of an explorer saved with the shelf)."""
        where = settings.impression_log
        if settings.explore_share == 0 or where == "off" or (store is None and where == "auto"):
            return None
        from shelfwise.bandit.impression_log import ImpressionLogger
        from shelfwise.bandit.impression_sampler import CostSampler
        from shelfwise.events.backend import is_event_url
        from shelfwise.events.impressions import ImpressionStore, impressions_path

        if where == "auto" and store is not None:
            if is_event_url(store.path) or store.path == ":memory:":
                say(f"impressions are not logged: the event log {store.path} has no folder; give --impression-log FILE")
                return None
            path = impressions_path(store.path)
        else:
            path = Path(where)
        cpu = settings.impression_log_cpu
        say(f"impressions of explored lists: {path}, sampled within {cpu:.0%} of a core (ope --impressions {path})")
        return ImpressionLogger(ImpressionStore(path), sampler=CostSampler(cpu))

    @classmethod
    def of(cls, shelf: Shelf) -> ShelfRecipe:
        """The recipe a shelf handed to ``create_app`` implies: its event log, exploration share, gate and
        valuation report (encoders, recommendations and weights come from the folder)."""
        bandit = shelf.bandit.config if shelf.bandit is not None else None
        store = shelf.live.consumer.store if shelf.live is not None else None
        share = bandit.explore_share if bandit is not None and store is not None else 0.0
        gate = bandit.candidates if bandit is not None else 0
        log = "auto" if shelf.impressions is not None else "off"
        cpu = shelf.impressions.sampler.cpu_share if shelf.impressions is not None else 0.1
        settings = ShelfSettings(
            valuation=shelf.valuation_report,
            explore_share=share,
            explore_candidates=gate,
            impression_log=log,
            impression_log_cpu=cpu,
        )
        return cls(settings, store, impressions=shelf.impressions)

    def __call__(self, path: Path) -> Shelf:
        shelf = load_folder(path, self.settings, self.say, self.tuning)
        if self.settings.events is not None and shelf.recommender is not None:
            self.tuning = SavedTuning.of(shelf.recommender)
        shelf.suggestions()  # a shelf saved without one: made now, not by the first /suggest after a reload
        facet_codes(shelf.catalog)  # likewise the facet value codes of a reloaded catalog
        if self.store is not None:
            share, gate = self.settings.explore_share, self.settings.explore_candidates
            set_explore_share(shelf, share, gate)  # a saved explorer follows the server's share and gate
            enable_live(shelf, self.store, explore_share=share, explore_candidates=gate)
        if self.impressions is not None and shelf.bandit is None:
            said = (
                f"--impression-log {self.impressions.store.path}: {path} has no exploration slots (no --events-db "
                "and no explorer saved with the shelf), so no list would be logged; give --events-db or drop "
                "--impression-log"
            )
            if not self._served:  # at startup: fail, naming the flag
                self.impressions.close()
                raise ValueError(said)
            self.say(said)  # a reload keeps serving
        self._served = True
        shelf.impressions = self.impressions
        return shelf


@dataclass(frozen=True)
class ServerSetup:
    """How ``shelfwise serve`` was started, parsed once: the shelf ``folder``, the ``shelf``
    settings, the server ``config`` and the ``report`` page (an HTML file). Picklable: each
    ``--workers`` process gets this and makes its own :class:`ShelfRecipe` (its own log handle)."""

    folder: Path
    shelf: ShelfSettings = field(default_factory=ShelfSettings)
    config: ServeConfig = field(default_factory=ServeConfig)
    report: Path | None = None

    def recipe(self) -> ShelfRecipe:
        return ShelfRecipe(self.shelf)


def _try_load(folder: Path, settings: ShelfSettings) -> str | None:
    """The load's error, if any. A ``--events`` history is read and checked against the catalog but
    not fitted: every worker fits it again, and the fit is the slow part of a start."""
    from shelfwise.events.loader import load_event_log

    try:
        shelf = load_folder(folder, replace(settings, events=None))
        if settings.events is not None:
            load_event_log(settings.events, settings.event_fields, shelf.catalog)
    except (FileNotFoundError, ValueError, KeyError, ImportError, OSError) as exc:
        return str(exc)
    return None


def _report_load(answer: Connection, folder: Path, settings: ShelfSettings) -> None:
    """:func:`_try_load` in the check's process, its answer sent to the parent."""
    try:
        answer.send(_try_load(folder, settings))
    finally:
        answer.close()


def check_loads(setup: ServerSetup) -> None:
    """Load the shelf as a worker would, in a short-lived process (the calling, supervising
    process stays small); ValueError with the loader's message when it fails.

    A spawned process and a pipe, no ``ProcessPoolExecutor``: the executor's queues hold five named
    semaphores, registered with multiprocessing's resource tracker, and a server stopped during the
    check (SIGTERM: no finalizers run) left them behind with its pool process, so that stopping the
    rest printed "resource_tracker: There appear to be 5 leaked semaphore objects to clean up at
    shutdown". A pipe holds none; SIGTERM or Ctrl-C during the check ends the check's process too.
    The check's process starts with SIGINT blocked (:func:`~shelfwise.serve.stopping.sigint_blocked`):
    a Ctrl-C, which reaches it too, printed its KeyboardInterrupt traceback; this process ends it."""
    import multiprocessing

    from shelfwise.serve.stopping import sigint_blocked, sigterm_exits

    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_report_load, args=(send, setup.folder, setup.shelf), name="shelfwise-load-check")
    try:
        with sigterm_exits():  # SIGTERM unwinds through the finally below: the child ends too
            with sigint_blocked():
                child.start()
            send.close()  # the child's end: EOF here once the child is gone
            try:
                problem: str | None = receive.recv()
            except EOFError:
                child.join()
                problem = f"the shelf's load check ended without an answer (exit code {child.exitcode})"
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        receive.close()
    if problem is not None:
        raise ValueError(problem)
