"""A shelf's reranker when a new encoder is published into it: an LTR one is refitted on the judged
queries recorded with it (it kept serving the old weights on the new scores), an old shelf that did
not record them is refused unless the user keeps or drops it, and the served-search gate scores each
side with the reranker it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfwise.catalog import Catalog, Product
from shelfwise.encode import HashingEncoder
from shelfwise.eval.judgments import Judgments
from shelfwise.finetune import publish_into_shelf
from shelfwise.finetune.reranker_refit import StaleReranker, plan_reranker
from shelfwise.finetune.served_gate import ServedCheck, served_check
from shelfwise.rank import LTRReranker, fit_reranker
from shelfwise.results import Results
from shelfwise.retrieve import HybridSearcher
from shelfwise.shelf import Shelf


@pytest.fixture(autouse=True)
def _specs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashing encoders of other widths by spec, as shelves reload their encoder: hashing-32 is the
    shelf's, hashing-48 / -40 the "new versions"."""
    from shelfwise.encode import registry

    for dim in (32, 40, 48):
        monkeypatch.setitem(registry.ENCODERS, f"hashing-{dim}", lambda d=dim: HashingEncoder(d))


def _publish(shelf: Path, dim: int = 48, **kw: Any) -> HybridSearcher:
    """A "new version" (a hashing encoder ``dim`` wide) published into ``shelf``."""
    kw.setdefault("say", lambda _: None)
    return publish_into_shelf(_catalog(), HashingEncoder(dim), shelf, encoder_spec=f"hashing-{dim}", **kw)[0]


COLOURS = ("red", "blue", "green", "black", "white", "yellow")
KINDS = ("shoe", "shirt", "hat", "bag", "dress", "sock")


def _catalog() -> Catalog:
    return Catalog(
        [
            Product(f"i{c}{k}{n}", f"{cn} {kn} model {n}")
            for c, cn in enumerate(COLOURS)
            for k, kn in enumerate(KINDS)
            for n in range(2)
        ]
    )


def _judged() -> Judgments:
    queries = {f"q{c}{k}": f"{cn} {kn}" for c, cn in enumerate(COLOURS) for k, kn in enumerate(KINDS)}
    relevance = {
        f"q{c}{k}": {f"i{c}{k}0": 2.0, f"i{c}{k}1": 1.0, f"i{c}{(k + 1) % 6}0": 1.0} for c in range(6) for k in range(6)
    }
    return Judgments(queries, relevance)


def _shelf(root: Path, *, recorded: bool = True) -> Path:
    """A shelf searching with a 32-wide hashing encoder and an LTR reranker fitted on ``_judged``;
    ``recorded=False``: saved as before session 19, without the judged queries."""
    catalog = _catalog()
    searcher = HybridSearcher.build(catalog, HashingEncoder(32), encoder_spec="hashing-32")
    judged = _judged()
    searcher.reranker = rr = fit_reranker(searcher, judged.queries, judged.relevance)
    if not recorded:
        rr.trained_on = None
    Shelf(catalog=catalog, searcher=searcher).save(root / "shelf")
    return root / "shelf"


def _weights(shelf: Path) -> bytes:
    return (shelf / "reranker" / "ltr_weights.npz").read_bytes()


def test_publishing_a_new_encoder_refits_the_ltr_reranker_on_the_judgments_recorded_with_it(tmp_path: Path) -> None:
    """It kept the old weights ("kept the reranker (trained on the previous encoder's scores ...)")
    whenever train was not given the judgment files, e.g. a run on events alone."""
    shelf = _shelf(tmp_path)
    old = _weights(shelf)
    said: list[str] = []
    _publish(shelf, say=said.append)
    assert _weights(shelf) != old
    assert any(line.startswith("refitted the LTR reranker on the new encoder's scores (36 judged queries, recorded")
               for line in said), said  # fmt: skip
    served = Shelf.load(shelf).searcher.reranker
    assert isinstance(served, LTRReranker) and served.trained_on is not None  # recorded again, for the next one
    plain = HybridSearcher.build(_catalog(), HashingEncoder(48))
    judged = _judged()
    expected = fit_reranker(plain, judged.queries, judged.relevance)  # a fit on the new first stage, from scratch
    np.testing.assert_allclose(served.model.weights, expected.model.weights, rtol=1e-6)
    assert served.trained_on.relevance == judged.relevance


def test_an_old_shelf_without_recorded_judgments_is_refused_unless_kept_or_dropped(tmp_path: Path) -> None:
    shelf = _shelf(tmp_path, recorded=False)
    files = {f: f.read_bytes() for f in shelf.rglob("*") if f.is_file()}
    with pytest.raises(StaleReranker, match=r"--keep-reranker .* or --drop-reranker"):
        _publish(shelf)
    assert {f: f.read_bytes() for f in shelf.rglob("*") if f.is_file()} == files  # nothing embedded or written
    judged = _judged()
    assert plan_reranker(shelf, judged).source == "given with --queries/--judgments"  # the judgments given refit it
    old = _weights(shelf)
    said: list[str] = []
    _publish(shelf, say=said.append, reranker="keep")
    assert _weights(shelf) == old and any(line.startswith("--keep-reranker: kept the LTR") for line in said)
    _publish(shelf, 40, say=said.append, reranker="drop")
    assert Shelf.load(shelf).searcher.reranker is None and not (shelf / "reranker").exists()
    assert said[-1] == "--drop-reranker: dropped the ltr reranker; the shelf serves the first stage"


class _Reverse:
    """A reranker that turns the head upside down (the worst one there is)."""

    kind = "reverse"

    def rerank(self, query: str, results: Results) -> Results:
        return Results(results.ids[::-1].copy(), results.scores[::-1].copy())


def test_the_served_check_scores_each_side_with_the_reranker_it_serves() -> None:
    """Both sides were scored with rerank_depth 0: a reranker that wrecks every list passed."""
    catalog = _catalog()
    judged = _judged()
    plain = HybridSearcher.build(catalog, HashingEncoder(32))
    wrecked = HybridSearcher.build(catalog, HashingEncoder(32))
    wrecked.reranker = _Reverse()
    verdict = served_check(plain, wrecked, judged)
    assert verdict.after < verdict.before and not verdict.passed
    assert (verdict.before_stack, verdict.after_stack) == ("hybrid, no reranker", "hybrid + reverse reranker")
    assert "served search (hybrid + reverse reranker after vs hybrid, no reranker now)" in verdict.summary()


def test_the_publish_gate_compares_the_stacks_as_served(tmp_path: Path) -> None:
    shelf = _shelf(tmp_path)
    judged = _judged()
    seen: list[ServedCheck] = []
    _publish(shelf, check=judged, on_served=seen.append, force=True)  # published either way: its stack is read back
    (verdict,) = seen
    assert verdict.before_stack == verdict.after_stack == "hybrid + ltr reranker"
    old = _shelf(tmp_path / "again")  # the shelf as it served before the publish
    as_served = served_check(Shelf.load(old).searcher, Shelf.load(old).searcher, judged)
    assert verdict.before == pytest.approx(as_served.before)
    now = Shelf.load(shelf).searcher  # what the shelf serves after it: the refitted reranker on the new scores
    assert verdict.after == pytest.approx(served_check(now, now, judged).after)


def test_train_refuses_before_training_when_the_shelfs_reranker_cannot_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shelfwise.cli.main import build_parser, main

    shelf = _shelf(tmp_path, recorded=False)
    products = tmp_path / "products.csv"
    products.write_text("id,title\n" + "".join(f"{p.id},{p.title}\n" for p in _catalog().products))
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,type,timestamp\n" + "".join(f"u{n},i{n}00,purchase,{n}\n" for n in range(6)))
    argv = ["train", "--catalog", str(products), "--events", str(events), "--index-out", str(shelf)]
    assert main([*argv, "--models", str(tmp_path / "models"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "saved without the judged queries it was fitted on" in err and "--drop-reranker" in err
    assert not (tmp_path / "models").exists()  # nothing trained
    args = build_parser().parse_args([*argv, "--keep-reranker"])
    assert args.keep_reranker and not args.drop_reranker
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--keep-reranker", "--drop-reranker"])
