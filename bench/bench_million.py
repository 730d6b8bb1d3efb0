"""1M products on one box (issue 13, part 1): build, memory, disk, latency and ANN recall.

Catalog (``million_catalog.py``): every real product title under ../shared/data (~161k: Home
Depot, H&M, Instacart, Complete Journey) plus SYNTHETIC variants of them (a real title with a
colour and a size/pack recombined, attribute ``origin=synthetic``) up to ``--n``.
Encoder: ``static-minilm`` (the fast static path; the default ``e5-onnx`` runs ~130 products/s
here, i.e. ~2 h for 1M). Vector index: the library default for the size (``auto``).

Each stage runs in its own process so its peak RSS is its own:

- ``encode``: ingest (parquet -> catalog), embed every product, write ``vectors.npy`` (fp32).
- ``build``: load the catalog, read the vectors as ``shelfwise index --vectors`` does, build the
  lexical + vector indexes, save the shelf folder.
- ``serve``: load the shelf and time in-process calls (no HTTP) with real Home Depot shopper
  queries: /search unfiltered and filtered (category, colour, price), the repeated-query path,
  /recommend-style similar items (the item's vector through the vector index), and ANN recall@10
  against exact search over the fp32 vectors for the real queries.
- ``sweep``: recall@10 / latency / memory per vector-index choice on the first ``--sweep-n`` rows.
- ``recommend`` / ``recommend_serve`` (``million_recommend.py``): fit the events-based recommender on
  the real purchases of the catalog's real products, save it; load it and time /recommend calls.

Latency only, from the existing shelf: ``--stages serve,recommend_serve`` (a few minutes).

Run: python bench/bench_million.py [--n 1000000] [--stages encode,build,serve,sweep,recommend,recommend_serve]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import ROOT, SHARED, percentiles, print_table, write_json

WORK = ROOT / "runs" / "million"
ENCODER = "static-minilm"
STUDENT = "e5-student"  # --encoder e5-student: the encode stage only (`shelfwise index --embed student`)
N_QUERIES = 500
SERVE_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def load() -> float:
    return os.getloadavg()[0]


def phase_rss(phases: dict[str, dict[str, float]], name: str) -> None:
    """RSS now and the peak since the previous phase (Linux: VmHWM, then reset through
    /proc/self/clear_refs; elsewhere the process peak so far), as ``phases[name]`` in MB."""
    status = Path("/proc/self/status")
    if not status.exists():
        phases[name] = {"after_mb": rss_mb(), "peak_mb": peak_rss_mb()}
        return
    kb = {ln.split(":")[0]: float(ln.split()[1]) for ln in status.read_text().splitlines() if ln.startswith("Vm")}
    phases[name] = {"after_mb": kb["VmRSS"] / 1024, "peak_mb": kb["VmHWM"] / 1024}
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM (and getrusage's maxrss) to the RSS now
        f.write("5")


def folder_mb(p: Path) -> float:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20


def encoder() -> Any:
    from shelfwise.encode.static import static_distilled

    return static_distilled("minilm")


def queries(skip: int = 0) -> list[str]:
    import pyarrow.parquet as pq

    qs = pq.read_table(SHARED / "homedepot" / "queries_dev.parquet").column("query").to_pylist()
    return [str(q) for q in qs[skip : skip + N_QUERIES]]


def load_catalog(work: Path) -> Any:
    from shelfwise.catalog import ProductFields
    from shelfwise.catalog import load_catalog as load

    return load(work / "data" / "catalog.parquet", ProductFields.from_json(work / "data" / "fields.json")).catalog


# --- stages (each in a child process) -------------------------------------------------------
def stage_encode(work: Path) -> dict[str, Any]:
    t = time.perf_counter()
    catalog = load_catalog(work)
    ingest_s = time.perf_counter() - t
    texts = catalog.texts()
    t, c = time.perf_counter(), time.process_time()
    student: dict[str, Any] = {}
    if os.environ.get("BENCH_MILLION_ENCODER") == STUDENT:  # e5-onnx on a sample + the fitted static table
        from shelfwise.encode import load_encoder
        from shelfwise.encode.student import StudentConfig, fit_student

        fit = fit_student(load_encoder("e5-onnx"), texts, StudentConfig(), progress=True)
        vecs, student = fit.vectors, dict(fit.stats.__dict__)
        fit.encoder.save(work / "student")
        name = f"vectors_{STUDENT}.npy"
    else:
        vecs, name = encoder().encode(texts, batch_size=4096), "vectors.npy"
    encode_s, encode_cpu_s = time.perf_counter() - t, time.process_time() - c
    np.save(work / name, vecs, allow_pickle=False)
    n = len(catalog)
    return {
        "encoder": os.environ.get("BENCH_MILLION_ENCODER", ENCODER),
        "student": student,
        "products": n,
        "ingest_s": ingest_s,
        "ingest_products_per_s": n / ingest_s,
        "encode_s": encode_s,
        "encode_products_per_s": n / encode_s,
        "encode_cpu_s": encode_cpu_s,
        "vectors_file_mb": (work / name).stat().st_size / 2**20,
        "peak_rss_mb": peak_rss_mb(),
        "load_1m": load(),
    }


def stage_build(work: Path) -> dict[str, Any]:
    from shelfwise.index import LexicalIndex, VectorIndex, detect_language
    from shelfwise.index.vectors_file import load_vectors
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.shelf import Shelf

    out: dict[str, Any] = {"load_1m_start": load()}
    phases: dict[str, dict[str, float]] = {}
    phase_rss(phases, "start")
    t0, c0 = time.perf_counter(), time.process_time()
    catalog = load_catalog(work)
    out["catalog_load_s"] = time.perf_counter() - t0
    phase_rss(phases, "catalog")
    enc = encoder()
    t = time.perf_counter()
    vecs = load_vectors(work / "vectors.npy", catalog.ids, enc.dim)  # what `shelfwise index --vectors` does
    out["vectors_load_s"] = time.perf_counter() - t
    phase_rss(phases, "encoder + vectors")
    texts = catalog.texts()
    language = detect_language(texts)
    phase_rss(phases, "texts + language")
    t, c = time.perf_counter(), time.process_time()
    lexical = LexicalIndex().fit(texts)
    out["lexical_s"], out["lexical_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    del texts
    phase_rss(phases, "lexical")
    t, c = time.perf_counter(), time.process_time()
    index = VectorIndex().fit(vecs)
    out["vector_index_s"], out["vector_index_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    del vecs
    phase_rss(phases, "vector index")
    out["vector_index"] = {"kind": index.kind, "storage": index.storage, "config": index.config.__dict__}
    searcher = HybridSearcher(catalog, enc, None, lexical, index, language=language, encoder_spec=ENCODER)
    t = time.perf_counter()
    shelf = work / "shelf"
    Shelf(catalog=catalog, searcher=searcher).save(shelf)  # what `shelfwise index --out` writes
    out["save_s"] = time.perf_counter() - t
    phase_rss(phases, "save")
    out["phase_rss_mb"] = phases
    out["build_s"] = time.perf_counter() - t0
    out["build_cpu_s"] = time.process_time() - c0
    out["disk_mb"] = {p.name: folder_mb(p) if p.is_dir() else p.stat().st_size / 2**20 for p in shelf.iterdir()}
    out["disk_mb_total"] = folder_mb(shelf)
    out["peak_rss_mb"] = max([peak_rss_mb(), *(m["peak_mb"] for m in phases.values())])  # the phases reset it
    out["load_1m_end"] = load()
    return out


def exact_top10(vectors: np.ndarray, q: np.ndarray, block: int = 131072) -> np.ndarray:
    """Exact top-10 rows per query over an (n, d) matrix, in blocks (the matrix may be memory-mapped)."""
    best_s = np.full((len(q), 10), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), 10), dtype=np.int64)
    for a in range(0, len(vectors), block):
        s = q @ np.asarray(vectors[a : a + block], dtype=np.float32).T
        top = np.argpartition(-s, 9, axis=1)[:, :10]
        cs = np.concatenate([best_s, np.take_along_axis(s, top, axis=1)], axis=1)
        ci = np.concatenate([best_i, top + a], axis=1)
        keep = np.argsort(-cs, axis=1, kind="stable")[:, :10]
        best_s, best_i = np.take_along_axis(cs, keep, axis=1), np.take_along_axis(ci, keep, axis=1)
    return best_i


def recall_at_10(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10].tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)]))


def timed(fn: Any, inputs: list[Any]) -> dict[str, float]:
    """Wall-clock percentiles, plus the calling thread's CPU time per call (``cpu_*``): on a machine
    shared with other jobs the wall clock includes waiting for a core, the CPU time does not (the
    serve stage runs single-threaded, so the thread's CPU time is the call's work)."""
    wall, cpu = [], []
    for x in inputs:
        t, c = time.perf_counter(), time.thread_time()
        fn(x)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    cpu_p = percentiles(cpu)
    return {**percentiles(wall), "cpu_p50_ms": cpu_p["p50_ms"], "cpu_p99_ms": cpu_p["p99_ms"], "load_1m": load()}


FILTERS: dict[str, dict[str, Any]] = {
    "category Fashion (H&M, ~3%)": {"category": ("Fashion",)},
    "category Grocery > Frozen (~1%)": {"category": ("Grocery", "Frozen")},
    "colour Black (~6%)": {"attributes": (("colour", "Black"),)},
    "price <= 20 (~60%)": {"price_max": 20.0},
}


def stage_serve(work: Path) -> dict[str, Any]:
    from shelfwise.catalog import Filters
    from shelfwise.shelf import Shelf

    out: dict[str, Any] = {"load_1m_start": load()}
    shelf = work / "shelf"
    t = time.perf_counter()
    loaded = Shelf.load(shelf)  # what `shelfwise serve --shelf` loads (checksums verified)
    catalog, searcher = loaded.catalog, loaded.searcher
    out["shelf_load_s"] = time.perf_counter() - t
    out["rss_after_load_mb"] = rss_mb()
    qs = queries()
    filters = [Filters(**f) for f in FILTERS.values()]
    out["filter_rows"] = {name: int(searcher.mask(f).sum()) for name, f in zip(FILTERS, filters, strict=True)}
    for q in ("warm up", "drill", "paint"):
        searcher.search(q, 10)
        for f in filters:
            searcher.search(q, 10, f)
    t, c = time.perf_counter(), time.process_time()
    for q in queries(skip=N_QUERIES):  # 500 other queries: first touches of the memory-mapped IVF lists
        searcher.search(q, 10)
    out["warm_up_500_other_queries"] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    searcher.dense._cache.clear()  # the timed queries are still never seen (no cached embedding)
    out["search_unfiltered"] = timed(lambda q: searcher.search(q, 10), qs)  # never-seen queries
    out["search_repeated"] = timed(lambda q: searcher.search(q, 10), qs)  # embedding cached
    pairs = [(q, filters[i % len(filters)]) for i, q in enumerate(qs)]
    out["search_filtered"] = timed(lambda p: searcher.search(p[0], 10, p[1]), pairs)
    for name, f in zip(FILTERS, filters, strict=True):
        out[f"search_filtered: {name}"] = timed(lambda q, f=f: searcher.search(q, 10, f), qs[:300])
    index = searcher.dense.index
    rows = np.random.default_rng(0).choice(len(catalog), N_QUERIES, replace=False)

    def similar(r: int) -> Any:
        return index.search(index.rows([r])[0], 11).ids  # self comes back first: 10 others

    out["recommend_similar_items"] = timed(similar, rows.tolist())
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_end_mb"] = rss_mb()
    # ANN recall@10 against exact search over the fp32 vectors, for the real shopper queries
    qv = np.stack([searcher.dense.embed(q) for q in qs])
    full = np.load(work / "vectors.npy", mmap_mode="r")
    truth = exact_top10(full, qv)
    out["recall_at_10_real_queries"] = recall_at_10([index.search(v, 10).ids for v in qv], truth)
    n_real = int(json.loads((work / "data" / "meta.json").read_text())["n_real"])
    real_rows = np.flatnonzero(np.asarray([p.attributes.get("origin") == "real" for p in catalog.products]))
    assert len(real_rows) == n_real
    qr = np.asarray(full[np.sort(np.random.default_rng(1).choice(real_rows, N_QUERIES, replace=False))])
    truth_r = exact_top10(full, qr)
    out["recall_at_10_real_product_vectors"] = recall_at_10([index.search(v, 10).ids for v in qr], truth_r)
    f = filters[0]
    mask = np.asarray(searcher.mask(f))
    allowed = np.flatnonzero(mask)
    if len(allowed) >= 10:
        truth_f = allowed[exact_top10(full[allowed], qv[:300])]
        found_f = [index.search(v, 10, mask).ids for v in qv[:300]]
        out["recall_at_10_filtered_fashion"] = recall_at_10(found_f, truth_f)
    out["load_1m_end"] = load()
    return out


def stage_sweep(work: Path, n: int) -> dict[str, Any]:
    """Recall@10 (real queries), latency and memory per vector-index choice on the first ``n`` rows."""
    from shelfwise.index import VectorIndex, VectorIndexConfig

    full = np.load(work / "vectors.npy", mmap_mode="r")
    vecs = np.ascontiguousarray(full[:n], dtype=np.float32)
    qv = encoder().encode(queries())
    truth = exact_top10(vecs, qv)
    out: dict[str, Any] = {"rows": n, "load_1m_start": load()}
    choices = [("flat", "fp32"), ("hnsw", "fp32"), ("hnsw", "fp16"), ("hnsw", "sq8"), ("ivf", "fp16"), ("ivf", "sq8")]
    for kind, storage in choices:
        t = time.perf_counter()
        idx = VectorIndex(VectorIndexConfig(kind=kind, storage=storage)).fit(vecs)
        build_s = time.perf_counter() - t
        folder = work / "sweep" / f"{kind}-{storage}"
        idx.save(folder)
        res: dict[str, Any] = {"build_s": build_s, "disk_mb": folder_mb(folder), "vectors_mb": idx.nbytes / 2**20}
        for ef in {"hnsw": (64, 128, 256), "ivf": (32, 64, 128, 256)}.get(kind, (0,)):
            if ef:  # ef_search for HNSW, nprobe for IVF
                idx.config = VectorIndexConfig(kind=kind, storage=storage, ef_search=ef, ivf_nprobe=ef)
            lat = timed(lambda v, idx=idx: idx.search(v, 10), list(qv[:300]))
            res[f"ef{ef}"] = {
                "recall_at_10": recall_at_10([idx.search(v, 10).ids for v in qv], truth),
                "p50_ms": lat["p50_ms"],
                "p99_ms": lat["p99_ms"],
            }
        out[f"{kind}-{storage}"] = res
        del idx
    out["load_1m_end"] = load()
    return out


# --- driver -----------------------------------------------------------------------------------
def child(stage: str, work: Path, sweep_n: int) -> None:
    from million_recommend import stage_recommend, stage_recommend_serve

    fn = {
        "encode": stage_encode,
        "build": stage_build,
        "serve": stage_serve,
        "recommend": stage_recommend,
        "recommend_serve": stage_recommend_serve,
    }
    res = stage_sweep(work, sweep_n) if stage == "sweep" else fn[stage](work)
    (work / f"stage_{stage}.json").write_text(json.dumps(res, indent=2, default=float))


def run_stage(stage: str, work: Path, n: int, sweep_n: int) -> dict[str, Any]:
    print(f"[{time.strftime('%H:%M:%S')}] {stage} (uptime load {load():.1f})", flush=True)
    cmd = [
        sys.executable,
        __file__,
        "--child",
        stage,
        "--work",
        str(work.parent),
        "--n",
        str(n),
        "--sweep-n",
        str(sweep_n),
    ]
    t = time.perf_counter()
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if stage in ("serve", "sweep", "recommend_serve"):  # one request, one thread: thread pools only add jitter
        env.update(SERVE_THREADS)
    subprocess.run(cmd, check=True, env=env)
    res: dict[str, Any] = json.loads((work / f"stage_{stage}.json").read_text())
    res["stage_wall_s"] = time.perf_counter() - t
    if stage in ("serve", "sweep", "recommend_serve"):
        res["threads_env"] = SERVE_THREADS
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--stages", default="encode,build,serve,sweep")
    ap.add_argument("--sweep-n", type=int, default=0, help="rows for the sweep (0: the real products only)")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--child", default=None)
    ap.add_argument("--out", default="million")
    ap.add_argument(
        "--encoder",
        default=ENCODER,
        choices=(ENCODER, STUDENT),
        help=f"{STUDENT}: e5-onnx student embedding, encode stage only (writes vectors_{STUDENT}.npy)",
    )
    args = ap.parse_args()
    if args.encoder == STUDENT:
        if args.stages != "encode":
            raise SystemExit(f"--encoder {STUDENT} runs the encode stage only (--stages encode)")
        os.environ["BENCH_MILLION_ENCODER"] = STUDENT  # read by the child process
    work = args.work / str(args.n)
    if args.child:
        child(args.child, work, args.sweep_n)
        return
    from million_catalog import write_catalog

    meta = work / "data" / "meta.json"
    if not meta.exists() or json.loads(meta.read_text()).get("n") != args.n:
        _, _, n_real = write_catalog(work / "data", args.n)
        meta.write_text(json.dumps({"n": args.n, "n_real": n_real}))
    n_real = json.loads(meta.read_text())["n_real"]
    args.sweep_n = args.sweep_n or n_real  # real rows come first: the sweep runs on real vectors only
    result_file = ROOT / "bench" / "results" / f"{args.out}.json"
    prev = json.loads(result_file.read_text()) if result_file.exists() else {}
    results: dict[str, Any] = prev if prev.get("products") == args.n else {}
    results.update({"products": args.n, "real_products": n_real, "synthetic_products": args.n - n_real})
    note = "2 shared cores, loaded by others"
    results.update({"encoder": args.encoder, "cpus": os.cpu_count(), "machine_note": note})
    for stage in args.stages.split(","):
        results[stage] = run_stage(stage, work, args.n, args.sweep_n)
        write_json(args.out, results)
    report(results)


def recommend_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    if "recommend" in r:
        f = r["recommend"]
        g, ev = f["text_graph"], f["events"]["total"]
        vs = g["vs_exact"]
        rows += [
            [
                "recommender events (real purchases)",
                f"{ev['events']:,}",
                f"{ev['users']:,} users, {ev['items']:,} items",
            ],
            ["recommender fit", f"{f['fit_s']:.0f} s", f"CPU {f['fit_cpu_s']:.0f} s, load {f['load_1m_end']:.1f}"],
            ["  text graph (approximate)", f"{g.get('wall_s', 0):.0f} s", f"CPU {g.get('cpu_s', 0):.0f} s"],
            ["  text graph recall@50 / @10 vs exact", f"{vs['recall_at_50']:.3f} / {vs['recall_at_10']:.3f}", ""],
            ["recommender fit peak RSS", f"{f['peak_rss_mb']:.0f} MB", f"saved {f['disk_mb']:.0f} MB"],
        ]
        if "fit" in f.get("phase_rss_mb", {}):  # the stage's peak may be its exact-recall reference, not the fit
            rows += [["  of which the fit phase", f"{f['phase_rss_mb']['fit']['peak_mb']:.0f} MB", ""]]
    if "recommend_serve" in r:
        s = r["recommend_serve"]
        for key in ("recommend_user", "recommend_item", "recommend_session_3_items"):
            m = s[key]
            cpu = f"cpu p50 {m['cpu_p50_ms']:.1f} / p99 {m['cpu_p99_ms']:.1f} ms, load {m['load_1m']:.1f}"
            rows += [[key, f"p50 {m['p50_ms']:.1f} / p99 {m['p99_ms']:.1f} ms", cpu]]
        rows += [["recommend serving RSS after load", f"{s['rss_after_load_mb']:.0f} MB", ""]]
        if "rss_end_mb" in s:  # the vector index's codes are memory-mapped: resident once requests read them
            rows += [["recommend serving RSS after the timed requests", f"{s['rss_end_mb']:.0f} MB", ""]]
    return rows


def report(r: dict[str, Any]) -> None:
    rows: list[list[Any]] = []
    if "encode" in r:
        e = r["encode"]
        rows += [["ingest (parquet -> catalog)", f"{e['ingest_s']:.0f} s", f"{e['ingest_products_per_s']:.0f}/s"]]
        rate = f"{e['encode_products_per_s']:.0f}/s"
        rows += [[f"embed ({e.get('encoder', ENCODER)})", f"{e['encode_s']:.0f} s", rate]]
        if "encode_cpu_s" in e:
            rows += [["embed CPU time", f"{e['encode_cpu_s']:.0f} s", f"{e['products'] / e['encode_cpu_s']:.0f}/CPU-s"]]
        rows += [["encode stage peak RSS", f"{e['peak_rss_mb']:.0f} MB", f"load {e['load_1m']:.1f}"]]
    if "build" in r:
        b = r["build"]
        vi = b["vector_index"]
        rows += [["build (lexical + vectors + save)", f"{b['build_s']:.0f} s", f"lexical {b['lexical_s']:.0f} s"]]
        rows += [[f"vector index {vi['kind']}-{vi['storage']}", f"{b['vector_index_s']:.0f} s", ""]]
        if "build_cpu_s" in b:
            cpu = f"lexical {b['lexical_cpu_s']:.0f} s, vectors {b['vector_index_cpu_s']:.0f} s"
            rows += [["build CPU time (all threads)", f"{b['build_cpu_s']:.0f} s", cpu]]
        rows += [["build peak RSS", f"{b['peak_rss_mb']:.0f} MB", f"load {b['load_1m_end']:.1f}"]]
        for name, m in b.get("phase_rss_mb", {}).items():
            rows += [[f"  RSS {name}: peak / after", f"{m['peak_mb']:.0f} / {m['after_mb']:.0f} MB", ""]]
        rows += [
            [
                "shelf on disk",
                f"{b['disk_mb_total']:.0f} MB",
                json.dumps({k: round(v) for k, v in b["disk_mb"].items()}),
            ]
        ]
    if "serve" in r:
        s = r["serve"]
        for key in ("search_unfiltered", "search_filtered", "search_repeated", "recommend_similar_items"):
            m = s[key]
            cpu = f"cpu p50 {m['cpu_p50_ms']:.1f} / p99 {m['cpu_p99_ms']:.1f} ms, load {m['load_1m']:.1f}"
            rows += [[key, f"p50 {m['p50_ms']:.1f} / p99 {m['p99_ms']:.1f} ms", cpu]]
        rows += [["serve RSS after load / peak", f"{s['rss_after_load_mb']:.0f} / {s['peak_rss_mb']:.0f} MB", ""]]
        rows += [["ANN recall@10 (real queries)", f"{s['recall_at_10_real_queries']:.3f}", ""]]
        rows += [["ANN recall@10 (real product vectors)", f"{s['recall_at_10_real_product_vectors']:.3f}", ""]]
        if "recall_at_10_filtered_fashion" in s:
            rows += [["ANN recall@10 filtered (Fashion)", f"{s['recall_at_10_filtered_fashion']:.3f}", ""]]
    rows += recommend_rows(r)
    if rows:
        print_table(
            f"{r['products']:,} products ({r['real_products']:,} real + synthetic variants)",
            ["what", "value", "note"],
            rows,
        )
    if "sweep" in r:
        sw = r["sweep"]
        srows = []
        for name, v in sw.items():
            if not isinstance(v, dict):
                continue
            for ef, m in v.items():
                if ef.startswith("ef"):
                    srows.append(
                        [
                            name,
                            ef,
                            m["recall_at_10"],
                            m["p50_ms"],
                            m["p99_ms"],
                            v["vectors_mb"],
                            v["disk_mb"],
                            v["build_s"],
                        ]
                    )
        print_table(
            f"vector index choices on the first {sw['rows']:,} rows",
            ["index", "ef", "recall@10", "p50 ms", "p99 ms", "vectors MB", "disk MB", "build s"],
            srows,
        )


if __name__ == "__main__":
    main()
