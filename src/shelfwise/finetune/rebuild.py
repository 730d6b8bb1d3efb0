"""Rebuild a search index for a new encoder: reuse cached vectors, show progress, write atomically.

* Reuse: vectors come through the embedding cache (:class:`~shelfwise.encode.cache.CachedEncoder`,
  keyed by encoder name and text). A model version's name carries its weights hash, so a product
  whose text and encoder are unchanged is never embedded again, and a killed rebuild resumes
  where it stopped (each batch is committed to the cache as it is embedded). New weights change
  every vector, so after a real fine-tune the whole catalog is embedded once.
* Progress: a bar over products and, after the first batch, a line with the measured
  products/s and the estimated time left.
* Atomic: everything is written to a hidden sibling folder which then replaces the old index by
  rename, so a killed rebuild leaves the old index (or none), never a half-written one. The two
  renames (old aside, new in) are not one atomic step; if a process dies between them the old
  index is found aside and put back by the next rebuild.
* Shelves: a saved shelf (``shelf.json``, what ``shelfwise index`` writes) gets its searcher
  replaced through :func:`shelfwise.snapshot.publish_searcher` (atomic too; reranker refitted, kept or
  dropped by :mod:`shelfwise.finetune.reranker_refit`, bandit and live state kept; servers pick it up
  on reload); a new folder becomes a shelf. An index folder from before shelves is still rebuilt in
  its own layout (its reranker folder carried over as it was).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.base import Encoder, Matrix
from shelfwise.encode.cache import CachedEncoder
from shelfwise.encode.student import StudentConfig, fit_student, saved_config
from shelfwise.index.language import detect_language
from shelfwise.index.lexical import LexicalConfig, LexicalIndex, lexical_texts
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.retrieve.dense import DenseRetriever
from shelfwise.retrieve.hybrid import HybridSearcher, read_meta
from shelfwise.retrieve.search_config import SearchConfig

if TYPE_CHECKING:
    from shelfwise.eval.judgments import Judgments
    from shelfwise.events.schema import EventLog
    from shelfwise.finetune.served_gate import ServedCheck

SHELF_MANIFEST = "shelf.json"  # shelfwise.snapshot.manifest.MANIFEST (not imported: snapshot imports the stages)

# written by HybridSearcher.save / this module; anything else in an old index folder is kept
_REBUILT = {"searcher.json", "lexical", "vectors", "catalog.parquet", "bm25", "vectors_multilingual", "student"}


@dataclass(frozen=True)
class EmbedStats:
    """How a catalog's vectors were obtained."""

    n_items: int
    embedded: int
    reused: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else float("nan")


def embed_catalog(
    texts: Sequence[str],
    encoder: Encoder,
    *,
    cache: str | Path | None = None,
    chunk: int = 512,
    batch_size: int = 64,
    progress: bool = False,
    say: Callable[[str], None] = print,
) -> tuple[Matrix, EmbedStats]:
    """Vectors for ``texts`` in chunks; with ``cache``, vectors already there are reused."""
    from tqdm.auto import tqdm

    cached = CachedEncoder(encoder, cache) if cache is not None else None
    enc: Encoder = cached if cached is not None else encoder
    n = len(texts)
    out = np.zeros((n, encoder.dim), dtype=np.float32)
    bar = tqdm(total=n, desc=f"embed {encoder.name}", unit="product", disable=not progress, dynamic_ncols=True)
    embedded, spent, estimated = 0, 0.0, False
    try:
        for start in range(0, n, chunk):
            part = list(texts[start : start + chunk])
            before = cached.misses if cached is not None else 0
            t0 = time.perf_counter()
            out[start : start + len(part)] = enc.encode(part, batch_size=batch_size)
            dt = time.perf_counter() - t0
            new = cached.misses - before if cached is not None else len(part)
            embedded, spent = embedded + new, spent + (dt if new else 0.0)
            bar.update(len(part))
            done = start + len(part)
            if new and not estimated and done < n:
                estimated = True
                say(_estimate(n, done, embedded, spent, encoder.name))
    finally:
        bar.close()
        if cached is not None:
            cached.close()
    return out, EmbedStats(n, embedded, n - embedded, spent)


def _estimate(n: int, done: int, embedded: int, seconds: float, name: str) -> str:
    rate = embedded / seconds if seconds > 0 else float("inf")
    left = (n - done) * (embedded / done) / rate  # assumes the rest is as (un)cached as what was seen
    return (
        f"embedding {n:,} products with {name}: {rate:,.0f} products/s on the first batch "
        f"({embedded:,} of {done:,} not cached), about {_duration(left)} left"
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _old_configs(old: Path) -> tuple[SearchConfig | None, LexicalConfig | None, VectorIndexConfig | None]:
    """The settings of the index being replaced, so a rebuild keeps the store's tuning."""
    if not (old / "searcher.json").exists():
        return None, None, None
    search = SearchConfig(**read_meta(old)["config"])
    lex_meta = old / "lexical" / "lexical.json"
    lex = LexicalConfig.from_json(json.loads(lex_meta.read_text())["config"]) if lex_meta.exists() else None
    vec_meta = old / "vectors" / "vector_index.json"
    vec = VectorIndexConfig(**json.loads(vec_meta.read_text())["config"]) if vec_meta.exists() else None
    return search, lex, vec


def recover(out: str | Path) -> None:
    """Undo what a killed rebuild of ``out`` left: put a complete old index back if ``out`` is
    missing, remove half-written build folders."""
    out = Path(out)
    parent = out.parent
    if not parent.exists():
        return
    for d in sorted(parent.glob(f".{out.name}.old-*")):
        if not out.exists() and ((d / "searcher.json").exists() or (d / SHELF_MANIFEST).exists()):  # index or shelf
            d.rename(out)
        else:
            shutil.rmtree(d, ignore_errors=True)
    for d in parent.glob(f".{out.name}.building-*"):
        shutil.rmtree(d, ignore_errors=True)


def build_index_atomically(
    catalog: Catalog,
    encoder: Encoder,
    out: str | Path,
    *,
    encoder_spec: str | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = print,
) -> tuple[HybridSearcher, EmbedStats]:
    """Index ``catalog`` with ``encoder`` into ``out`` (replacing what is there, keeping its search,
    lexical and vector settings and any extra entries such as ``reranker/``)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out)
    if (out / SHELF_MANIFEST).exists():
        raise FileExistsError(
            f"{out}: is a shelf (shelf.json); train rebuilds plain index folders only: give --index-out a new "
            f"folder, or rebuild the shelf with `shelfwise index --encoder <model folder>`"
        )
    if out.is_dir() and any(out.iterdir()) and not (out / "searcher.json").exists():
        raise FileExistsError(f"{out}: exists and is not an index folder; refusing to replace it")
    search_cfg, lex_cfg, vec_cfg = _old_configs(out)
    if (out / "vectors_multilingual").exists():
        say(f"{out}: the multilingual vectors are not rebuilt here; add them with `shelfwise index --multilingual`")
    tmp = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        texts = catalog.texts()
        vectors, stats = embed_catalog(texts, encoder, cache=cache, progress=progress, say=say)
        lexical = LexicalIndex(lex_cfg).fit(lexical_texts(catalog, lex_cfg or LexicalConfig()))
        vec = VectorIndex(vec_cfg).fit(vectors)
        lang = detect_language(texts)
        searcher = HybridSearcher(catalog, encoder, search_cfg, lexical, vec, language=lang, encoder_spec=encoder_spec)
        searcher.save(tmp)
        catalog.save(tmp / "catalog.parquet")
        kept = _carry_over(out, tmp)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for name in kept:
        note = " (trained with the previous encoder's scores: rerun `shelfwise index` to refresh it)"
        say(f"kept {name} from the previous index" + (note if name == "reranker" else ""))
    return searcher, stats


def _carry_over(old: Path, new: Path) -> list[str]:
    if not old.is_dir():
        return []
    kept = []
    for entry in sorted(old.iterdir()):
        if entry.name in _REBUILT or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, new / entry.name)
        else:
            shutil.copy2(entry, new / entry.name)
        kept.append(entry.name)
    return kept


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    aside = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(aside)
    tmp.rename(out)
    shutil.rmtree(aside, ignore_errors=True)


# --- shelves ---------------------------------------------------------------------------------
def index_layout(out: str | Path) -> str:
    """What ``train --index-out`` finds at ``out``: ``"shelf"`` (a saved shelf), ``"index"`` (an
    index folder from before shelves) or ``"new"`` (missing or empty: a shelf is written)."""
    out = Path(out)
    if (out / SHELF_MANIFEST).is_file():
        return "shelf"
    if (out / "searcher.json").is_file():
        return "index"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: exists and is not a shelf or index folder; refusing to replace it")
    return "new"


def check_index_out(catalog: Catalog, out: str | Path) -> str:
    """:func:`index_layout` of ``out``, after checking that a rebuild there can succeed (run it
    before training, so a run is not wasted): a shelf must index ``catalog`` (same ids, same order)."""
    recover(out)
    layout = index_layout(out)
    if layout == "shelf":
        from shelfwise.snapshot.io import catalog_file, searcher_folder

        read_meta(searcher_folder(out))
        if Catalog.load(catalog_file(out)).ids != catalog.ids:
            raise ValueError(
                f"{out}: the shelf indexes another catalog (ids or their order differ from --catalog); train on the "
                f"shelf's catalog, or rebuild the shelf with `shelfwise index --encoder <model folder>`"
            )
    return layout


def _embedded_searcher(
    catalog: Catalog,
    encoder: Encoder,
    encoder_spec: str | None,
    old: Path | None,
    *,
    cache: str | Path | None,
    progress: bool,
    say: Callable[[str], None],
) -> tuple[HybridSearcher, EmbedStats]:
    """Search indexes over ``catalog`` with vectors from :func:`embed_catalog`, keeping the search,
    lexical and vector settings of the searcher folder ``old`` (when given). A searcher built with
    student embedding (``index --embed student``) is rebuilt the same way: the new encoder embeds the
    sample and a student fitted to it embeds every product (:mod:`shelfwise.encode.student`)."""
    search_cfg, lex_cfg, vec_cfg = _old_configs(old) if old is not None else (None, None, None)
    student = _old_student(old) if old is not None else None
    if student is not None:
        t0 = time.perf_counter()
        teacher = CachedEncoder(encoder, cache) if cache is not None else encoder
        fit = fit_student(teacher, catalog.texts(), student, progress=progress)
        say(fit.stats.describe())
        encoder, vectors = fit.encoder, fit.vectors
        stats = EmbedStats(len(catalog), fit.stats.teacher_products, 0, time.perf_counter() - t0)
    else:
        vectors, stats = embed_catalog(catalog.texts(), encoder, cache=cache, progress=progress, say=say)
    searcher = HybridSearcher.build(
        catalog, encoder, search_cfg, lexical=lex_cfg, vector=vec_cfg, item_vectors=vectors, encoder_spec=encoder_spec
    )
    return searcher, stats


def _old_student(old: Path) -> StudentConfig | None:
    """The student config the searcher folder ``old`` was built with (None: every product embedded)."""
    meta = read_meta(old)
    if "student" not in meta:
        return None
    return saved_config(old / str(meta["student"]))


def _keep_multilingual(
    searcher: HybridSearcher, old: Path, cache: str | Path | None, say: Callable[[str], None]
) -> None:
    """Carry the old searcher's Chinese-query vectors over: their encoder did not change."""
    meta = read_meta(old)
    if "multilingual_encoder" not in meta:
        return
    from shelfwise.encode.registry import load_encoder
    from shelfwise.index.backends import load_vector_store

    spec = meta.get("multilingual_spec")
    enc = load_encoder(str(spec), Path(cache) if cache is not None else None) if spec else None
    if enc is None or enc.name != meta["multilingual_encoder"]:
        say(f"{old}: the multilingual vectors are not kept; add them with `shelfwise index --multilingual`")
        return
    searcher.multilingual = DenseRetriever(enc, load_vector_store(old / "vectors_multilingual"))
    searcher.multilingual_spec = str(spec)


def publish_into_shelf(
    catalog: Catalog,
    encoder: Encoder,
    shelf: str | Path,
    *,
    encoder_spec: str | None = None,
    events: EventLog | None = None,
    judgments: Judgments | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = print,
    check: Judgments | None = None,
    force: bool = False,
    on_served: Callable[[ServedCheck], None] | None = None,
    reranker: str | None = None,
) -> tuple[HybridSearcher, EmbedStats]:
    """Re-embed the catalog of the shelf saved at ``shelf`` with ``encoder`` and publish the new
    searcher into it, with the shelf's reranker refitted, kept or dropped
    (:mod:`~shelfwise.finetune.reranker_refit`: an LTR one is refitted on ``judgments``, else on those
    recorded with it; ``reranker`` ``"keep"`` / ``"drop"`` overrides; raises
    :class:`~shelfwise.finetune.reranker_refit.StaleReranker` when it cannot be refitted and neither was
    asked). With ``check`` (held-out judged queries) only if the shelf's search as served (first stage
    and reranker) is no worse on them after than now (:mod:`~shelfwise.finetune.served_gate`; raises
    :class:`~shelfwise.finetune.served_gate.NotPublished`, the shelf unchanged; ``force`` publishes
    anyway; ``on_served`` is handed the comparison either way, so a forced publish keeps its record)
    (:func:`shelfwise.snapshot.publish_searcher`: atomic, bandit and live state kept, recommender
    refitted on ``events`` or kept when the vectors keep their width). ``catalog`` must be the
    shelf's (same ids, same order)."""
    from shelfwise.finetune.reranker_refit import apply_plan, plan_reranker
    from shelfwise.snapshot import publish_searcher
    from shelfwise.snapshot.io import SUPPORTED, catalog_file, searcher_folder
    from shelfwise.snapshot.manifest import read_manifest

    root = Path(shelf)
    check_index_out(catalog, root)
    plan = plan_reranker(root, judgments, reranker)  # fails before embedding when it cannot be refitted
    before = read_manifest(root, SUPPORTED)
    old = searcher_folder(root)
    own = Catalog.load(catalog_file(root))  # the shelf's own catalog, as saved
    searcher, stats = _embedded_searcher(own, encoder, encoder_spec, old, cache=cache, progress=progress, say=say)
    _keep_multilingual(searcher, old, cache, say)
    apply_plan(plan, root, searcher, events)  # the reranker it will serve with, before the gate measures it
    if check is not None:
        _check_served(root, searcher, check, force, say, on_served)
    after = publish_searcher(root, searcher, events=events, own_reranker=True)
    if plan.describe():
        say(plan.describe())
    if events is not None:
        say(f"refitted the recommender on {len(events)} events")
    elif before.has("recommender"):
        if after.has("recommender"):
            say("kept the recommender (its content part keeps the previous encoder's similarities until refitted)")
        else:
            say("dropped the recommender (the vectors changed width): pass --events to refit it")
    kept = [name for name in ("bandit", "live") if after.has(name)]
    if kept:
        say(f"kept {' and '.join(kept)} state from the previous shelf")
    return searcher, stats


def _check_served(
    root: Path,
    searcher: HybridSearcher,
    check: Judgments,
    force: bool,
    say: Callable[[str], None],
    on_served: Callable[[ServedCheck], None] | None,
) -> None:
    """Compare the shelf's search as it is served (first stage and reranker) with ``searcher`` (and the
    reranker it carries) on ``check`` (the verdict to ``on_served``);
    raise NotPublished when worse and not ``force``."""
    from shelfwise.finetune.served_gate import NotPublished, served_check
    from shelfwise.snapshot.io import LoadOptions, load_shelf

    current = load_shelf(root, LoadOptions(recommender=False)).searcher  # as it serves: with its reranker
    verdict = served_check(current, searcher, check)
    say(verdict.summary())
    if on_served is not None:
        on_served(verdict)
    if not verdict.passed:
        if not force:
            raise NotPublished(verdict)
        say("--force: publishing it although the served search got worse on the held-out queries")


def build_shelf_folder(
    catalog: Catalog,
    encoder: Encoder,
    out: str | Path,
    *,
    encoder_spec: str | None = None,
    events: EventLog | None = None,
    judgments: Judgments | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = print,
) -> tuple[HybridSearcher, EmbedStats]:
    """A new shelf at ``out`` (as ``shelfwise index`` writes it) searching with ``encoder``: the
    recommender fitted on ``events`` and the LTR reranker trained on ``judgments``, when given."""
    from dataclasses import replace

    from shelfwise.shelf import Shelf
    from shelfwise.snapshot import ShelfConfig
    from shelfwise.snapshot.build import fit_recommendations, train_reranker
    from shelfwise.snapshot.io import save_shelf

    config = ShelfConfig(judgments=judgments, progress=progress)
    searcher, stats = _embedded_searcher(catalog, encoder, encoder_spec, None, cache=cache, progress=progress, say=say)
    searcher.config = replace(searcher.config, personal_weight=config.personal_weight)
    shelf = Shelf(catalog=catalog, searcher=searcher)
    if events is not None:
        fit_recommendations(shelf, events, config, say)
    train_reranker(shelf, config, say)
    save_shelf(shelf, out)
    return searcher, stats
