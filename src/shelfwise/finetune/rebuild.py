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
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shelfwise.catalog.schema import Catalog
from shelfwise.encode.base import Encoder, Matrix
from shelfwise.encode.cache import CachedEncoder
from shelfwise.index.language import detect_language
from shelfwise.index.lexical import LexicalConfig, LexicalIndex
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.retrieve.hybrid import HybridSearcher, SearchConfig, read_meta

# written by HybridSearcher.save / this module; anything else in an old index folder is kept
_REBUILT = {"searcher.json", "lexical", "vectors", "catalog.parquet", "bm25", "vectors_multilingual"}


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
        if not out.exists() and (d / "searcher.json").exists():
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
    if (out / "shelf.json").exists():
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
        lexical = LexicalIndex(lex_cfg).fit(texts)
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
