"""``shelfwise train`` is registered and validates its arguments before any training."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import pytest

from shelfwise.cli.main import build_parser, main
from shelfwise.cli.train_cmd import EXIT_NOT_PUBLISHED


def test_train_command_parses() -> None:
    args = build_parser().parse_args(["train", "--catalog", "c.csv", "--mode", "lora", "--max-steps", "3"])
    assert args.command == "train" and args.mode == "lora" and args.max_steps == 3


def test_train_needs_both_judgment_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.csv"
    cat.write_text("id,title\np1,Black trousers\np2,Red dress\n")
    rc = main(["train", "--catalog", str(cat), "--queries", str(tmp_path / "q.csv")])
    assert rc == 2 and "--queries and --judgments go together" in capsys.readouterr().err


def test_train_without_any_pairs_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.csv"
    cat.write_text("id,title\np1,Black trousers\np2,Red dress\n")
    assert main(["train", "--catalog", str(cat)]) == 2
    assert "no training pairs" in capsys.readouterr().err


# --- end to end on a tiny random sentence-transformers model (real save/load/gate/rebuild paths) ---

COLOURS = (("red", "rojo"), ("blue", "azul"), ("green", "verde"), ("black", "negro"))
COLOURS += (("white", "blanco"), ("yellow", "amarillo"), ("pink", "rosa"), ("grey", "gris"))
KINDS = (("shoe", "zapato"), ("shirt", "camisa"), ("hat", "sombrero"), ("bag", "bolso"))
KINDS += (("dress", "vestido"), ("sock", "calcetin"), ("coat", "abrigo"), ("skirt", "falda"))


def _store(root: Path, *, learnable: bool) -> list[str]:
    """64 made-up products "<colour> <kind>" and one judged query each: learnable = the same
    words in Spanish (held-out queries are unseen colour/kind pairs, so word meanings must be
    learnt), else random strings paired with random products (nothing to learn)."""
    items = [
        (f"i{c}{k}", f"{ce} {ke}", f"{cs} {ks}")
        for c, (ce, cs) in enumerate(COLOURS)
        for k, (ke, ks) in enumerate(KINDS)
    ]
    (root / "products.csv").write_text("id,title\n" + "".join(f"{i},{t}\n" for i, t, _ in items))
    targets = [i for i, _, _ in items]
    if not learnable:
        random.Random(1).shuffle(targets)
    queries = [q if learnable else f"zq{n} xk{n}" for n, (_, _, q) in enumerate(items)]
    (root / "queries.csv").write_text("query_id,query\n" + "".join(f"q{n},{q}\n" for n, q in enumerate(queries)))
    (root / "judgments.csv").write_text(
        "query_id,item_id,grade\n" + "".join(f"q{n},{t},2\n" for n, t in enumerate(targets))
    )
    return [
        "train", "--catalog", str(root / "products.csv"), "--queries", str(root / "queries.csv"),
        "--judgments", str(root / "judgments.csv"), "--learning-rate", "0.01", "--batch-size", "16",
        "--epochs", "30", "--max-steps", "60", "--eval-every", "3", "--patience", "2", "--threads", "1",
        "--models", str(root / "models"), "--index-out", str(root / "index"), "--cache", str(root / "emb.sqlite"),
    ] + ([] if learnable else ["--train-embeddings"])  # fmt: skip
    # unlearnable: every weight trained, since with the tiny model's random token table frozen its one
    # layer can still drift to a (noise) held-out gain on random pairs, which these tests are not about


def _files(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def test_train_publishes_a_model_that_helps(tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shelfwise.finetune import ModelStore
    from shelfwise.retrieve.hybrid import read_meta
    from shelfwise.snapshot.io import searcher_folder

    args = _store(tmp_path, learnable=True)
    assert main([*args, "--base", str(tiny_st)]) == 0
    cap = capsys.readouterr()
    assert "train full" in cap.err and "step 0/" in cap.err and "validation NDCG@10" in cap.err  # progress
    assert "embed " in cap.err  # the index rebuild's bar
    assert "published " in cap.out and "held-out NDCG@10" in cap.out
    mv = ModelStore(tmp_path / "models").latest()
    assert (
        mv is not None and mv.version == "v0001" and mv.metrics["holdout_ndcg@10"] > mv.metrics["holdout_base_ndcg@10"]
    )
    assert (tmp_path / "index" / "shelf.json").exists()  # a new folder becomes a shelf
    meta = read_meta(searcher_folder(tmp_path / "index"))
    assert meta["encoder"] == mv.encoder_name and meta["encoder_spec"] == str(mv.path.resolve())
    assert f"serve it with: shelfwise serve --shelf {tmp_path / 'index'}" in cap.out


def test_train_refuses_a_model_that_cannot_help_then_force_publishes(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shelfwise.catalog.loader import load_catalog
    from shelfwise.encode import HashingEncoder
    from shelfwise.finetune import ModelStore
    from shelfwise.retrieve import HybridSearcher
    from shelfwise.retrieve.hybrid import read_meta

    args = [*_store(tmp_path, learnable=False), "--base", str(tiny_st)]
    catalog = load_catalog(tmp_path / "products.csv").catalog
    HybridSearcher.build(catalog, HashingEncoder(dim=64)).save(tmp_path / "index")  # the live index
    before = _files(tmp_path / "index")
    assert main(args) == EXIT_NOT_PUBLISHED
    cap = capsys.readouterr()
    assert re.search(r"not published: held-out NDCG@10 \d\.\d{4} vs base \d\.\d{4}", cap.out)
    assert "nothing changed (no model version was written, no index rebuilt); --force publishes anyway" in cap.out
    assert "(stopped early)" in cap.out and "stopping early" in cap.err  # validation stopped improving
    assert _files(tmp_path / "index") == before and ModelStore(tmp_path / "models").versions() == []
    assert not (tmp_path / "emb.sqlite").exists()  # nothing was re-embedded

    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")  # restored after the test
    assert main([*args, "--force", "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "(--force: the held-out gate did not pass)" in cap.out and "step 0/" in cap.out
    # --no-progress quiets the model library's bars too (transformers printed "Loading weights" bars)
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and "Loading weights" not in cap.err
    mv = ModelStore(tmp_path / "models").latest()
    assert mv is not None and read_meta(tmp_path / "index")["encoder"] == mv.encoder_name


def test_lora_run_whose_best_step_is_0_is_never_published(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's run: LoRA, validation never improves, "best step 0". The kept weights are the
    base model's, so the held-out gain is exactly 0 and even ``--min-gain 0`` refuses it."""
    from shelfwise.finetune import ModelStore

    args = _store(tmp_path, learnable=True)
    lr = args.index("--learning-rate") + 1
    args[lr] = "1e-7"  # far too small to change any ranking
    assert main([*args, "--base", str(tiny_st), "--mode", "lora", "--min-gain", "0"]) == EXIT_NOT_PUBLISHED
    cap = capsys.readouterr()
    assert "train lora" in cap.err and "best step 0:" in cap.out and "(+0.0000 " in cap.out
    assert "comparing with the base model (st, untrained) on 9 held-out queries against 64 candidates" in cap.err
    assert ModelStore(tmp_path / "models").versions() == [] and not (tmp_path / "index").exists()


# --- a shelf made by `shelfwise index` is updated in place ---


def _index_shelf(root: Path) -> Path:
    """``shelfwise index`` (hashing encoder) with a reranker, a recommender and live state."""
    from shelfwise.events import Event, EventStore, EventType

    rows = ["user_id,item_id,type,timestamp,session_id"]
    for u in range(6):
        rows += [f"u{u},i{u}0,purchase,{10 * u + 1},s{u}", f"u{u},i{u}1,purchase,{10 * u + 2},s{u}"]
    (root / "events.csv").write_text("\n".join(rows) + "\n")
    db = EventStore(root / "live.sqlite")
    db.append([Event(user_id="w", type=EventType.CLICK, timestamp=100.0 + i, item_id=f"i{i}0") for i in range(5)])
    db.close()
    shelf = root / "shelf"
    argv = ["index", "--catalog", str(root / "products.csv"), "--encoder", "hashing", "--out", str(shelf)]
    argv += ["--queries", str(root / "queries.csv"), "--judgments", str(root / "judgments.csv")]
    argv += ["--events", str(root / "events.csv"), "--events-db", str(root / "live.sqlite")]
    assert main([*argv, "--cache", str(root / "index_cache.sqlite")]) == 0
    return shelf


def _to_shelf(args: list[str], shelf: Path) -> list[str]:
    args = list(args)
    args[args.index("--index-out") + 1] = str(shelf)
    return args


def test_train_publishes_into_a_shelf_made_by_index(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from shelfwise.finetune import ModelStore
    from shelfwise.shelf import Shelf

    args = _store(tmp_path, learnable=True)
    shelf = _index_shelf(tmp_path)
    old = {p["name"]: p for p in json.loads((shelf / "shelf.json").read_text())["parts"]}
    capsys.readouterr()
    # --force: on 9 held-out queries the served stack (hybrid + the refitted reranker) can tie or lose by
    # noise; the served-search gate has its own tests (test_served_gate.py, test_reranker_refit.py)
    argv = [*_to_shelf(args, shelf), "--base", str(tiny_st), "--events", str(tmp_path / "events.csv"), "--force"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    mv = ModelStore(tmp_path / "models").latest()
    assert mv is not None
    assert "served search (hybrid + ltr reranker) on " in cap.out  # each side scored with its reranker
    assert "embed " in cap.err and "refitted the recommender on 12 events" in cap.out
    assert "refitted the LTR reranker on the new encoder's scores" in cap.out  # judged queries were given
    assert f"published {mv.version} into the shelf {shelf}; servers pick it up on POST /admin/reload" in cap.out
    assert f"serve it with: shelfwise serve --shelf {shelf}" in cap.out
    parts = {p["name"]: p for p in json.loads((shelf / "shelf.json").read_text())["parts"]}
    assert set(parts) == set(old) >= {"catalog", "searcher", "reranker", "recommender", "live"}
    assert parts["live"]["offset"] == old["live"]["offset"] == 5  # the live state and its offset are kept
    assert parts["catalog"]["files"] == old["catalog"]["files"]  # the shelf's own catalog, unchanged
    assert parts["reranker"]["files"] != old["reranker"]["files"]  # refitted on the new searcher's features
    searcher = parts["searcher"]
    assert searcher["encoder"] == mv.encoder_name and searcher["encoder_spec"] == str(mv.path.resolve())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left

    loaded = Shelf.load(shelf)  # what `serve --shelf` and a reload read
    assert loaded.searcher.encoder.name == mv.encoder_name and loaded.searcher.encoder.dim == 32
    assert loaded.searcher.item_vectors.shape == (64, 32) and loaded.searcher.reranker is not None
    assert loaded.recommender is not None and loaded.saved_live is not None
    model = ModelStore(tmp_path / "models").encoder(mv.version)
    assert np.allclose(loaded.searcher.item_vectors, model.encode(loaded.catalog.texts()), atol=1e-5)
    assert len(loaded.searcher.search("rojo zapato", 5)) == 5


def test_refused_run_leaves_the_shelf_byte_identical(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shelfwise.finetune import ModelStore

    args = _store(tmp_path, learnable=False)
    shelf = _index_shelf(tmp_path)
    before = _files(shelf)
    assert main([*_to_shelf(args, shelf), "--base", str(tiny_st)]) == EXIT_NOT_PUBLISHED
    assert "nothing changed (no model version was written, no index rebuilt)" in capsys.readouterr().out
    assert _files(shelf) == before and ModelStore(tmp_path / "models").versions() == []
    (run,) = ModelStore(tmp_path / "models").runs()  # a refused run is still on record, with why
    assert run["version"] is None and run["gate"]["passed"] is False and "held-out NDCG@10" in str(run["why"])  # type: ignore[index]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder either
    assert not (tmp_path / "emb.sqlite").exists()


def test_shelf_of_another_catalog_is_refused_before_training(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _store(tmp_path, learnable=True)
    shelf = _index_shelf(tmp_path)
    before = _files(shelf)
    products = tmp_path / "products.csv"
    products.write_text(products.read_text().replace("\ni00,", "\nx00,"))  # one product more, one less
    capsys.readouterr()
    assert main([*_to_shelf(args, shelf), "--base", str(tiny_st)]) == 2
    cap = capsys.readouterr()
    assert "the shelf indexes another catalog" in cap.err and "step 0/" not in cap.err
    assert _files(shelf) == before


def test_publish_rolls_the_shelf_back_to_a_stored_version_without_training(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """There was no way back: every publish moved the shelf to the newest version. ``--publish v0001``
    re-embeds with the stored version and records it, trains nothing and writes no version."""
    from shelfwise.finetune import ModelStore
    from shelfwise.retrieve.hybrid import read_meta
    from shelfwise.snapshot.io import searcher_folder

    args = _store(tmp_path, learnable=True)
    args[args.index("--max-steps") + 1] = "2"
    assert main([*args, "--base", str(tiny_st), "--force", "--no-progress"]) == 0
    assert "comparing with the base model (st, untrained)" in capsys.readouterr().out
    assert main([*args, "--base", str(tmp_path / "models" / "v0001"), "--force", "--no-progress"]) == 0  # continued
    assert "comparing with the base model (v0001, the stored version this run continues)" in capsys.readouterr().out
    store = ModelStore(tmp_path / "models")
    v1, v2 = store.versions()
    index = tmp_path / "index"
    assert read_meta(searcher_folder(index))["encoder_spec"] == str(v2.path.resolve())
    capsys.readouterr()
    publish = ["train", "--catalog", str(tmp_path / "products.csv"), "--models", str(tmp_path / "models")]
    publish += ["--index-out", str(index), "--cache", str(tmp_path / "emb.sqlite"), "--no-progress"]
    assert main([*publish, "--publish", "v0001"]) == 0
    out = capsys.readouterr().out
    assert "publishing v0001" in out and "no training" in out and f"published v0001 into the shelf {index}" in out
    meta = read_meta(searcher_folder(index))
    assert meta["encoder_spec"] == str(v1.path.resolve()) and meta["encoder"] == v1.encoder_name
    assert [v.version for v in store.versions()] == ["v0001", "v0002"]  # nothing trained or written
    assert main([*publish, "--publish", "v0007"]) == 2
    assert "no model version 'v0007'; known: ['v0001', 'v0002']" in capsys.readouterr().err
    no_out = publish[: publish.index("--index-out")]
    assert main([*no_out, "--publish", "v0001"]) == 2
    assert "--publish needs --index-out" in capsys.readouterr().err


def test_train_says_when_epochs_not_max_steps_bound_the_run(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-steps 3 on the tiny store trained 1 step without a word: one epoch of 6 pairs at batch 32."""
    args = _store(tmp_path, learnable=True)
    for flag, value in (("--epochs", "1"), ("--max-steps", "50"), ("--batch-size", "16")):
        args[args.index(flag) + 1] = value
    main([*args, "--base", str(tiny_st), "--no-progress", "--min-gain", "0.99"])
    out = capsys.readouterr().out
    assert re.search(
        r"(\d+) steps, not 50: max steps is only a cap, and 1 epoch\(s\) of \d+ pairs in batches of 16", out
    )


def test_train_reports_bad_judgment_rows_and_how_few_pairs_are_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad and unknown judgment rows were dropped without a word, then 'no training pairs: give judgments
    ...' although judgments were given."""
    cat = tmp_path / "c.csv"
    cat.write_text("id,title\np1,Black trousers\np2,Red dress\n")
    (tmp_path / "q.csv").write_text("query_id,query\nq1,black trousers\nq2,red dress\n")
    (tmp_path / "j.csv").write_text("query_id,item_id,grade\nq1,p1,2\nq1,zz9,2\nq2,p2,abc\nq9,p2,2\n")
    argv = [
        "train",
        "--catalog",
        str(cat),
        "--queries",
        str(tmp_path / "q.csv"),
        "--judgments",
        str(tmp_path / "j.csv"),
    ]
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert "j.csv: line 4: field 'grade': not a number: 'abc'" in cap.out
    assert "j.csv: line 5: field 'query_id': unknown query id 'q9'" in cap.out
    assert "1 of 2 judged items are not in the catalog (e.g. ['zz9']): no training pair can use them" in cap.out
    assert "no training pairs (1 pair(s) from the judgments given, fewer than 4)" in cap.err


def test_min_se_flag_reaches_the_gate(tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shelfwise.finetune import ModelStore

    args = _store(tmp_path, learnable=True)
    args[args.index("--max-steps") + 1] = "6"
    assert main([*args, "--base", str(tiny_st), "--no-progress", "--min-se", "1000"]) == EXIT_NOT_PUBLISHED
    assert "and > 1000 s.e.)" in capsys.readouterr().out and ModelStore(tmp_path / "models").versions() == []
