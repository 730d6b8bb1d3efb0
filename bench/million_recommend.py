"""The recommend stages of ``bench_million.py``: the events-based hybrid recommender on the 1M shelf.

- ``recommend``: real purchases on the real products of the 1M catalog
  (:func:`million_catalog.real_events`: Complete Journey, H&M, Instacart) fit the hybrid
  recommender (``build_recommender``, defaults: fit-time weight tuning on) over all 1M rows
  (synthetic variants included: they have text, no behaviour), reading the item vectors through the
  shelf's vector index as ``shelfwise serve --events`` does. Above ``ContentConfig.exact_max_items``
  the text-neighbour graph is the approximate one (``approx_knn_graph``), with rows only for the
  items with events (``all_rows_max_items``); the recall against the exact top-50 is measured on a
  sample of those rows and on event-less items (their neighbours found at request time through
  the vector index). The fitted recommender is saved under the work folder for ``recommend_serve``.
- ``recommend_serve``: load the shelf and the saved recommender (what ``shelfwise serve
  --recommender`` does) and time in-process /recommend/user, /recommend/item (similar), a
  cold-start session and a typed-query session, wall clock and the request thread's CPU time;
  ``memory``: RSS per load step and array MB per part (``million_memory.py``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_million import folder_mb, load, peak_rss_mb, phase_rss, rss_mb, timed

N_USERS = 500
N_ITEMS = 500
GRAPH_SAMPLE = 1000
N_QUERY_SESSIONS = 100


def _shelf(work: Path) -> Any:
    from shelfwise.shelf import Shelf

    return Shelf.load(work / "shelf")


def _row_of(catalog: Any) -> dict[str, int]:
    return {p.id: r for r, p in enumerate(catalog.products)}


def graph_recall(content: Any, vectors: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """Recall of ``content.neighbours`` (graph rows, or found on request for items without one)
    against the exact top-``neighbours`` (cosine >= ``min_similarity``, self excluded) over the
    same vectors, by faiss flat search, for ``rows``; ``ms_per_row``: the mean time of a
    ``neighbours`` call."""
    import faiss

    cfg = content.config
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    m = cfg.neighbours
    d, ids = flat.search(np.ascontiguousarray(vectors[rows]), m + 1)
    r50, r10, took = [], [], 0.0
    for j, r in enumerate(rows.tolist()):
        exact = [int(c) for c, s in zip(ids[j], d[j], strict=True) if c != r and s >= cfg.min_similarity][:m]
        t = time.perf_counter()
        cols, sims = content.neighbours(r)
        took += time.perf_counter() - t
        got = cols[np.argsort(-sims, kind="stable")]
        if exact:
            r50.append(len(set(got.tolist()) & set(exact)) / len(exact))
            r10.append(len(set(got[:10].tolist()) & set(exact[:10])) / len(exact[:10]))
    return {
        "recall_at_50": float(np.mean(r50)),
        "recall_at_10": float(np.mean(r10)),
        "rows": len(r50),
        "ms_per_row": 1000 * took / max(len(rows), 1),
    }


def stage_recommend(work: Path) -> dict[str, Any]:
    import shelfwise.recommend.content as content
    from million_catalog import real_events
    from shelfwise.recommend.hybrid import HybridConfig, build_recommender

    out: dict[str, Any] = {"load_1m_start": load()}
    phases: dict[str, dict[str, float]] = {}
    phase_rss(phases, "start")
    t = time.perf_counter()
    shelf = _shelf(work)
    catalog, searcher = shelf.catalog, shelf.searcher
    out["shelf_load_s"] = time.perf_counter() - t
    phase_rss(phases, "shelf")
    t = time.perf_counter()
    log, info = real_events(_row_of(catalog))
    out["events_load_s"], out["events"] = time.perf_counter() - t, info
    phase_rss(phases, "events")
    graph_time: dict[str, float] = {}
    approx = content.approx_knn_graph

    def timed_graph(*a: Any, **kw: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        g = approx(*a, **kw)
        graph_time.update(wall_s=time.perf_counter() - t, cpu_s=time.process_time() - c)
        return g

    content.approx_knn_graph = timed_graph  # type: ignore[assignment]
    config = HybridConfig()
    t, c = time.perf_counter(), time.process_time()
    rec = build_recommender(catalog, log, searcher.dense.index, config, encoder=searcher.encoder)
    out["fit_s"], out["fit_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    out["text_graph"] = {
        **graph_time,
        "nnz": int(rec.content.graph.nnz),
        "rows_kept": int(rec.content.has_row.sum()),
        "config": config.content.__dict__,
    }
    out["tuning"] = rec.tuning.as_dict()
    phase_rss(phases, "fit")
    t = time.perf_counter()
    rec.save(work / "recommender")
    out["save_s"], out["disk_mb"] = time.perf_counter() - t, folder_mb(work / "recommender")
    phase_rss(phases, "save")
    vectors = rec.vectors.matrix()  # decoded for the exact reference only
    rng = np.random.default_rng(0)
    kept, other = np.flatnonzero(rec.content.has_row), np.flatnonzero(~rec.content.has_row)
    t = time.perf_counter()
    sample = np.sort(rng.choice(kept, min(GRAPH_SAMPLE, len(kept)), replace=False))
    out["text_graph"]["vs_exact"] = graph_recall(rec.content, vectors, sample)
    out["text_graph"]["vs_exact"]["s"] = time.perf_counter() - t
    if len(other):  # event-less items: neighbours found at request time (the vector index's search)
        sample = np.sort(rng.choice(other, min(GRAPH_SAMPLE // 2, len(other)), replace=False))
        out["text_graph"]["on_request_vs_exact"] = graph_recall(rec.content, vectors, sample)
    del vectors
    phase_rss(phases, "graph recall")
    out["phase_rss_mb"] = phases
    out["peak_rss_mb"] = max([peak_rss_mb(), *(m["peak_mb"] for m in phases.values())])
    out["load_1m_end"] = load()
    return out


def stage_recommend_serve(work: Path) -> dict[str, Any]:
    from million_memory import memory_parts
    from shelfwise.recommend.hybrid import HybridRecommender

    out: dict[str, Any] = {"load_1m_start": load()}
    steps = {"start": rss_mb()}
    t = time.perf_counter()
    shelf = _shelf(work)
    catalog, searcher = shelf.catalog, shelf.searcher
    out["shelf_load_s"] = time.perf_counter() - t
    steps["shelf"] = rss_mb()
    t = time.perf_counter()  # the vectors are read through the index (serve's load path), not copied
    rec = HybridRecommender.load(work / "recommender", catalog, searcher.dense.index, searcher.encoder)
    out["recommender_load_s"] = time.perf_counter() - t
    out["rss_after_load_mb"] = steps["recommender"] = rss_mb()
    out["memory"] = {"rss_steps_mb": steps, "arrays_mb": memory_parts(shelf, rec), "peak_during_load_mb": peak_rss_mb()}
    assert rec.profiles is not None
    rng = np.random.default_rng(0)
    users = [u for u in rec.profiles.users() if len(rec.context(u))]
    picked = [users[i] for i in rng.choice(len(users), min(N_USERS, len(users)), replace=False)]
    active = np.flatnonzero(rec.counts > 0)
    items = np.concatenate([rng.choice(active, N_ITEMS // 2, replace=False),
                            rng.choice(len(catalog), N_ITEMS // 2, replace=False)])  # fmt: skip
    for u in picked[:3]:
        rec.recommend(u, 10)
    routes: dict[str, tuple[Any, list[Any]]] = {
        "recommend_user": (lambda u: rec.recommend(u, 10), picked),
        "recommend_item": (lambda r: rec.similar(int(r), 10), items.tolist()),
        "recommend_item_with_events": (lambda r: rec.similar(int(r), 10), items[: N_ITEMS // 2].tolist()),
        "recommend_item_any_row": (lambda r: rec.similar(int(r), 10), items[N_ITEMS // 2 :].tolist()),
        "recommend_session_3_items": (
            lambda s: rec.recommend_session(s, 10),
            [rng.choice(active, 3, replace=False).tolist() for _ in range(200)],
        ),
        "recommend_session_query": (  # a typed query: the query encoder loads on the first one
            lambda q: rec.recommend_session([], 10, query=q),
            [catalog.products[int(r)].title for r in rng.choice(len(catalog), N_QUERY_SESSIONS, replace=False)],
        ),
    }
    for name, (fn, inputs) in routes.items():
        out[name] = timed(fn, inputs)
        out[name]["rss_after_mb"] = rss_mb()
    out["users_timed"], out["items_timed"] = len(picked), len(items)
    out["peak_rss_mb"], out["rss_end_mb"] = peak_rss_mb(), rss_mb()
    out["load_1m_end"] = load()
    return out
