"""The recommend stages of ``bench_million.py``: the events-based hybrid recommender on the 1M shelf.

- ``recommend``: real purchases on the real products of the 1M catalog
  (:func:`million_catalog.real_events`: Complete Journey, H&M, Instacart) fit the hybrid
  recommender (``build_recommender``, defaults: fit-time weight tuning on) over all 1M rows
  (synthetic variants included: they have text, no behaviour). Above ``ContentConfig.exact_max_items``
  the text-neighbour graph is the approximate one (``approx_knn_graph``); its recall against the
  exact top-50 is measured on a sample of rows. The fitted recommender is saved under the work
  folder for ``recommend_serve``.
- ``recommend_serve``: load the shelf and the saved recommender (what ``shelfwise serve
  --recommender`` does) and time in-process /recommend/user, /recommend/item (similar) and a
  cold-start session, wall clock and the request thread's CPU time.
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


def _shelf(work: Path) -> Any:
    from shelfwise.shelf import Shelf

    return Shelf.load(work / "shelf")


def _row_of(catalog: Any) -> dict[str, int]:
    return {p.id: r for r, p in enumerate(catalog.products)}


def graph_recall(graph: Any, vectors: np.ndarray, min_similarity: float, rows: np.ndarray) -> dict[str, float]:
    """Recall of the fitted graph's rows against the exact top-50 (cosine >= ``min_similarity``,
    self excluded) over the same vectors, by faiss flat search, for ``rows``."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    m = int(np.diff(graph.indptr).max())
    d, ids = flat.search(np.ascontiguousarray(vectors[rows]), m + 1)
    r50, r10 = [], []
    for j, r in enumerate(rows.tolist()):
        exact = [int(c) for c, s in zip(ids[j], d[j], strict=True) if c != r and s >= min_similarity][:m]
        a, b = graph.indptr[r], graph.indptr[r + 1]
        got = graph.indices[a:b][np.argsort(-graph.data[a:b], kind="stable")]
        if exact:
            r50.append(len(set(got.tolist()) & set(exact)) / len(exact))
            r10.append(len(set(got[:10].tolist()) & set(exact[:10])) / len(exact[:10]))
    return {"recall_at_50": float(np.mean(r50)), "recall_at_10": float(np.mean(r10)), "rows": len(r50)}


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
    vectors = searcher.item_vectors  # what serve hands the recommender (sq8 storage: decoded once)
    out["item_vectors_s"] = time.perf_counter() - t
    phase_rss(phases, "item vectors")
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
    rec = build_recommender(catalog, log, vectors, config, encoder=searcher.encoder)
    out["fit_s"], out["fit_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    out["text_graph"] = {**graph_time, "nnz": int(rec.content.graph.nnz), "config": config.content.__dict__}
    out["tuning"] = rec.tuning.as_dict()
    phase_rss(phases, "fit")
    t = time.perf_counter()
    rec.save(work / "recommender")
    out["save_s"], out["disk_mb"] = time.perf_counter() - t, folder_mb(work / "recommender")
    phase_rss(phases, "save")
    real = np.flatnonzero(np.asarray([p.attributes.get("origin") == "real" for p in catalog.products]))
    rng = np.random.default_rng(0)
    sample = np.sort(np.concatenate([rng.choice(real, GRAPH_SAMPLE // 2, replace=False),
                                     rng.choice(len(catalog), GRAPH_SAMPLE // 2, replace=False)]))  # fmt: skip
    t = time.perf_counter()
    out["text_graph"]["vs_exact"] = graph_recall(rec.content.graph, vectors, config.content.min_similarity, sample)
    out["text_graph"]["vs_exact"]["s"] = time.perf_counter() - t
    phase_rss(phases, "graph recall")
    out["phase_rss_mb"] = phases
    out["peak_rss_mb"] = max([peak_rss_mb(), *(m["peak_mb"] for m in phases.values())])
    out["load_1m_end"] = load()
    return out


def stage_recommend_serve(work: Path) -> dict[str, Any]:
    from shelfwise.recommend.hybrid import HybridRecommender

    out: dict[str, Any] = {"load_1m_start": load()}
    t = time.perf_counter()
    shelf = _shelf(work)
    catalog, searcher = shelf.catalog, shelf.searcher
    out["shelf_load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rec = HybridRecommender.load(work / "recommender", catalog, searcher.item_vectors, searcher.encoder)
    out["recommender_load_s"] = time.perf_counter() - t
    out["rss_after_load_mb"] = rss_mb()
    assert rec.profiles is not None
    rng = np.random.default_rng(0)
    users = [u for u in rec.profiles.users() if len(rec.context(u))]
    picked = [users[i] for i in rng.choice(len(users), min(N_USERS, len(users)), replace=False)]
    active = np.flatnonzero(rec.counts > 0)
    items = np.concatenate([rng.choice(active, N_ITEMS // 2, replace=False),
                            rng.choice(len(catalog), N_ITEMS // 2, replace=False)])  # fmt: skip
    for u in picked[:3]:
        rec.recommend(u, 10)
    out["recommend_user"] = timed(lambda u: rec.recommend(u, 10), picked)
    out["recommend_item"] = timed(lambda r: rec.similar(int(r), 10), items.tolist())
    out["recommend_item_with_events"] = timed(lambda r: rec.similar(int(r), 10), items[: N_ITEMS // 2].tolist())
    out["recommend_item_any_row"] = timed(lambda r: rec.similar(int(r), 10), items[N_ITEMS // 2 :].tolist())
    sessions = [rng.choice(active, 3, replace=False).tolist() for _ in range(200)]
    out["recommend_session_3_items"] = timed(lambda s: rec.recommend_session(s, 10), sessions)
    out["users_timed"], out["items_timed"] = len(picked), len(items)
    out["peak_rss_mb"], out["rss_end_mb"] = peak_rss_mb(), rss_mb()
    out["load_1m_end"] = load()
    return out
