"""Saving a :class:`~shelfwise.shelf.Shelf` as one folder and loading it back (see
:mod:`shelfwise.snapshot.manifest` for the layout). Index folders written before shelves
(``searcher.json`` + ``catalog.parquet`` + optional ``reranker/`` at the top) still load."""

from __future__ import annotations

import logging
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.registry import load_encoder
from shelfwise.rank.cross import CrossReranker
from shelfwise.rank.ltr import LTRReranker
from shelfwise.rank.saved import load_reranker
from shelfwise.recommend.hybrid import FORMAT as REC_FORMAT
from shelfwise.recommend.hybrid import FORMAT_VERSION as REC_VERSION
from shelfwise.recommend.hybrid import HybridRecommender
from shelfwise.recommend.persist import StateFileError
from shelfwise.recommend.retune import SavedTuning
from shelfwise.retrieve.hybrid import FORMAT as SEARCHER_FORMAT
from shelfwise.retrieve.hybrid import VERSION as SEARCHER_VERSION
from shelfwise.retrieve.hybrid import HybridSearcher, read_meta
from shelfwise.retrieve.rules import FILE as RULES_FILE
from shelfwise.retrieve.rules import FORMAT as RULES_FORMAT
from shelfwise.retrieve.rules import VERSION as RULES_VERSION
from shelfwise.retrieve.rules import Rules
from shelfwise.retrieve.suggest import FILE as SUGGEST_FILE
from shelfwise.retrieve.suggest import FORMAT as SUGGEST_FORMAT
from shelfwise.retrieve.suggest import VERSION as SUGGEST_VERSION
from shelfwise.retrieve.suggest import Suggester
from shelfwise.snapshot import livestate
from shelfwise.snapshot.manifest import (
    MANIFEST,
    RERUN,
    Manifest,
    Part,
    ShelfFormatError,
    fingerprint,
    publish,
    read_manifest,
    staging_dir,
    verify,
    write_manifest,
)

if TYPE_CHECKING:
    from shelfwise.shelf import Shelf

log = logging.getLogger(__name__)
SAME_STORE = 0.5  # a replaced shelf's weights are kept only when this share of its products is in the new catalog

CATALOG_FORMAT, CATALOG_VERSION = "shelfwise-catalog", 1
RERANKER_FORMAT, RERANKER_VERSION = "shelfwise-reranker", 1
SUPPORTED: dict[str, tuple[str, int]] = {
    "catalog": (CATALOG_FORMAT, CATALOG_VERSION),
    "searcher": (SEARCHER_FORMAT, SEARCHER_VERSION),
    "reranker": (RERANKER_FORMAT, RERANKER_VERSION),
    "recommender": (REC_FORMAT, REC_VERSION),
    "bandit": (livestate.BANDIT_FORMAT, livestate.BANDIT_VERSION),
    "live": (livestate.LIVE_FORMAT, livestate.LIVE_VERSION),
    "suggester": (SUGGEST_FORMAT, SUGGEST_VERSION),
    "rules": (RULES_FORMAT, RULES_VERSION),
}
# what a loader raises on a bad file (they name the file themselves; the part name is added)
LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


@dataclass(frozen=True)
class LoadOptions:
    """``encoder``: query encoder spec (default: the one the searcher was built with);
    ``multilingual``: encoder of the Chinese-query vectors (default: the saved one, if any);
    ``cache``: embedding cache file; ``checksums``: verify every file's SHA-256 (sizes are always
    checked); ``recommender``: load the saved recommender (False when the caller refits one);
    ``reranker``: load and attach the saved reranker (False when the caller measures retrieval
    only: a cross-encoder is not loaded just to be dropped). Parts not loaded are still verified."""

    encoder: str | None = None
    multilingual: str | None = None
    cache: Path | None = None
    checksums: bool = True
    recommender: bool = True
    reranker: bool = True


# --- save ------------------------------------------------------------------------------------
def save_shelf(shelf: Shelf, path: str | Path) -> Manifest:
    """Write every part of ``shelf`` into a staging folder beside ``path``, the manifest last, then
    move it in place (a previous shelf at ``path`` is replaced whole). With a live consumer
    attached, it is paused while the state is copied, and the event-log offset it had applied is
    recorded, so a server loading this shelf replays only later events. ``shelf.source`` becomes
    ``path``."""
    final = Path(path)
    staged = staging_dir(final)
    cons = shelf.live.consumer if shelf.live is not None else None
    running = cons is not None and cons.stats().running
    try:
        if cons is not None and running:
            cons.stop()
        parts = _save_parts(shelf, staged)
        write_manifest(staged, parts)
    except BaseException:
        import shutil

        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        if cons is not None and running:
            cons.start()
    publish(staged, final)
    shelf.source = final  # what a reload of the serving shelf reads
    manifest = read_manifest(final, SUPPORTED)
    shelf.shelf_id = manifest.digest
    return manifest


def _part(root: Path, name: str, kind: str, write: Callable[[Path], Any], **extra: Any) -> Part:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    more = write(folder)
    fmt, version = SUPPORTED[name]
    return Part(name, kind, fmt, version, name, fingerprint(folder), {**extra, **(more or {})})


def _save_parts(shelf: Shelf, root: Path) -> list[Part]:
    s, cat = shelf.searcher, shelf.catalog
    parts = [
        _part(root, "catalog", "parquet", lambda f: cat.save(f / "catalog.parquet"), items=len(cat)),
        _part(root, "searcher", "hybrid", s.save, encoder=s.encoder.name, encoder_spec=s.encoder_spec),
    ]
    rr = s.reranker
    if rr is not None:
        if not isinstance(rr, LTRReranker | CrossReranker):
            raise TypeError(f"cannot save a reranker of type {type(rr).__name__}")
        parts.append(_part(root, "reranker", "cross" if isinstance(rr, CrossReranker) else "ltr", rr.save))
    if shelf.recommender is not None:
        parts.append(_part(root, "recommender", "hybrid", shelf.recommender.save))
    if shelf.bandit is not None:
        bandit = shelf.bandit
        parts.append(_part(root, "bandit", "slots", lambda f: {"policy": livestate.save_bandit(bandit, f)}))
    sug = shelf.suggester
    if sug is not None:
        parts.append(_part(root, "suggester", "prefix", lambda f: sug.save(f / SUGGEST_FILE)))
    rules = shelf.rules
    if rules is not None:
        parts.append(_part(root, "rules", "merchandising", lambda f: rules.save(f / RULES_FILE), rules=len(rules)))
    live, saved = shelf.live, shelf.saved_live
    if live is not None:
        position = livestate.log_position(live.consumer.store, live.consumer.applied_seq)
        parts.append(_part(root, "live", "live-state", lambda f: livestate.save_live(live, f, position)))
    elif saved is not None:  # loaded, never attached to a log: written back as it was read
        fields = {**saved.position.to_json(), "users": len(saved.meta.get("users", []))}
        parts.append(_part(root, "live", "live-state", lambda f: _copy_files(saved.folder, f, fields)))
    return parts


def _copy_files(src: Path, dst: Path, fields: dict[str, Any]) -> dict[str, Any]:
    import shutil

    shutil.copytree(src, dst, dirs_exist_ok=True)
    return fields


def replaced_tuning(
    path: str | Path, say: Callable[[str], object] = log.info, catalog: Catalog | None = None
) -> SavedTuning | None:
    """The weights and weight search of the recommender in the shelf saved at ``path``, read from
    its ``hybrid.json`` alone, for the fit that will replace it (:mod:`shelfwise.recommend.retune`);
    None when ``path`` holds no shelf, the shelf no recommender, or files that cannot be read (said
    through ``say``, naming the file: the fit then searches its weights again). ``catalog``: the
    catalog the new fit is for; when fewer than half of the saved shelf's products are in it (a
    folder reused for another store), None, said through ``say``."""
    root = Path(path)
    if not (root / MANIFEST).is_file():
        return None
    try:
        m = read_manifest(root, SUPPORTED)
        if not m.has("recommender"):
            return None
        saved = SavedTuning.read(m.folder("recommender"))
        if catalog is not None:
            old = _catalog_ids(m.folder("catalog") / "catalog.parquet")
            kept = len(old & set(catalog.ids)) / max(len(old), 1)
            if kept < SAME_STORE:
                say(
                    f"the shelf at {root} holds another catalog ({kept:.0%} of its {len(old):,} products are in "
                    "this one): the hybrid weights are searched again"
                )
                return None
        return saved
    except (ShelfFormatError, StateFileError, OSError, ValueError) as e:
        say(f"warning: the hybrid weights of the shelf being replaced are unreadable ({e}): searching them again")
        return None


def _catalog_ids(path: Path) -> set[str]:
    """The product ids of a saved catalog (its id column alone)."""
    import pyarrow.parquet as pq

    return {str(x) for x in pq.read_table(path, columns=["id"]).column("id").to_pylist()}


# --- load ------------------------------------------------------------------------------------
def load_shelf(path: str | Path, options: LoadOptions | None = None) -> Shelf:
    """The shelf saved at ``path`` (or an index folder from before shelves). Errors name the file:
    :class:`ShelfFormatError` for a missing, corrupt or too-new manifest or file."""

    root = Path(path)
    opts = options or LoadOptions()
    if not (root / "shelf.json").exists():
        return _load_legacy(root, opts)
    t0 = time.perf_counter()
    m = read_manifest(root, SUPPORTED)
    for name in m.parts:
        verify(m, name, checksums=False)  # every file present with its size: cheap, before any loader
    # checksums are computed on threads (hashing releases the GIL) while the parts load
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="shelf-verify") as pool:
        checks = {n: pool.submit(verify, m, n) for n in m.parts} if opts.checksums else {}
        shelf = _load_parts(m, opts, checks)
        for done in checks.values():
            done.result()  # a corrupt file fails the load even when its loader did not notice
    shelf.source = root
    shelf.shelf_id = m.digest
    log.info("loaded shelf %s (%s) in %.2f s", root, ", ".join(m.parts), time.perf_counter() - t0)
    return shelf


def _load_parts(m: Manifest, opts: LoadOptions, checks: dict[str, Future[None]]) -> Shelf:
    from shelfwise.shelf import Shelf

    def part(name: str, load: Callable[[Path], Any]) -> Any:
        return _guard(m, name, load, checks.get(name))

    catalog = part("catalog", lambda f: Catalog.load(f / "catalog.parquet"))
    searcher = part("searcher", lambda f: _searcher(f, catalog, opts))
    if m.has("reranker") and opts.reranker:
        searcher.reranker = part("reranker", lambda f: load_reranker(f, searcher))
    shelf = Shelf(catalog=catalog, searcher=searcher)
    if m.has("recommender") and opts.recommender:
        rec = part("recommender", lambda f: HybridRecommender.load(f, catalog, searcher.dense.index, searcher.encoder))
        shelf.recommender, shelf.user_profiles = rec, rec.profiles
    if m.has("bandit"):
        shelf.bandit = part("bandit", lambda f: livestate.load_bandit(f, catalog))
    if m.has("suggester"):
        shelf.suggester = part("suggester", lambda f: Suggester.load(f / SUGGEST_FILE))
    if m.has("rules"):
        shelf.rules = part("rules", lambda f: Rules.load(f / RULES_FILE, catalog.ids))
    if m.has("live"):
        shelf.saved_live = part("live", lambda f: livestate.read_live(f, len(catalog)))
    return shelf


def searcher_folder(path: str | Path) -> Path:
    """The folder holding a shelf's search indexes (``searcher.json``): ``searcher/`` of a saved
    shelf, the folder itself for an index folder from before shelves."""
    root = Path(path)
    if (root / "shelf.json").exists():
        return read_manifest(root, SUPPORTED).folder("searcher")
    return root


def catalog_file(path: str | Path) -> Path:
    """The catalog Parquet file of a saved shelf, or of an index folder from before shelves."""
    root = Path(path)
    if (root / "shelf.json").exists():
        return read_manifest(root, SUPPORTED).folder("catalog") / "catalog.parquet"
    return root / "catalog.parquet"


def _guard(m: Manifest, name: str, load: Callable[[Path], Any], check: Future[None] | None = None) -> Any:
    """``load(folder of part name)``; its errors name the part and file. When the loader fails and
    the part's checksum check (``check``) finds a corrupt file, that clearer error is raised."""
    folder = m.folder(name)
    try:
        return load(folder)
    except ShelfFormatError:
        raise
    except LOAD_ERRORS as e:
        if check is not None:
            check.result()  # raises ShelfFormatError naming the corrupt file, if there is one
        msg = str(e)
        where = "" if str(folder) in msg else f"{folder}: "
        raise ShelfFormatError(m.root / "shelf.json", f"part {name!r} failed to load: {where}{msg}; {RERUN}") from e


def _searcher(folder: Path, catalog: Catalog, opts: LoadOptions) -> HybridSearcher:
    """The searcher in ``folder`` with its query encoder (``opts.encoder`` or the one it was built
    with) and, when it has them, its multilingual vectors."""
    meta = read_meta(folder)
    multilingual = opts.multilingual or meta.get("multilingual_spec")
    if multilingual and "multilingual_encoder" not in meta:
        print(
            f"warning: --multilingual {multilingual} ignored: {folder} has no multilingual vectors "
            "(rebuild with `shelfwise index --multilingual e5`)"
        )
        multilingual = None
    multi = load_encoder(multilingual, opts.cache) if multilingual else None
    spec = opts.encoder or str(meta.get("encoder_spec", "minilm"))
    return HybridSearcher.load(folder, catalog, load_encoder(spec, opts.cache), multilingual=multi)


def _load_legacy(root: Path, opts: LoadOptions) -> Shelf:
    """An index folder written before shelves: catalog, searcher and reranker at the top level."""
    from shelfwise.shelf import Shelf

    if not (root / "searcher.json").exists():
        raise ShelfFormatError(root, f"not a shelf (no shelf.json) nor an index folder (no searcher.json); {RERUN}")
    if not (root / "catalog.parquet").exists():
        raise ShelfFormatError(
            root / "catalog.parquet", "missing; build the folder with 'shelfwise index' or 'shelfwise demo'"
        )
    try:
        catalog = Catalog.load(root / "catalog.parquet")
    except LOAD_ERRORS as e:
        raise ShelfFormatError(root / "catalog.parquet", f"unreadable ({e}); {RERUN}") from e
    searcher = _searcher(root, catalog, opts)
    if opts.reranker and (root / "reranker").exists():
        searcher.reranker = load_reranker(root / "reranker", searcher)  # kind read from its manifest
    shelf = Shelf(catalog=catalog, searcher=searcher)
    shelf.source = root
    return shelf
