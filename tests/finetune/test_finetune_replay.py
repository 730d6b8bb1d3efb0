"""Continual updates from the CLI: a version keeps the pairs it was trained on, and training again
from it replays them (experience replay), leaving out what the new gates score."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_finetune_cli import _store

from shelfwise.cli.main import main
from shelfwise.finetune import ModelStore
from shelfwise.finetune.artifacts import PAIRS, read_pairs, write_pairs
from shelfwise.finetune.pairs import PairSet


def test_pairs_round_trip_and_a_damaged_line_is_named(tmp_path: Path) -> None:
    pairs = PairSet(("query: a", "query: b"), ("passage: x", "passage: y"), "judgments", ("passage: z", ""))
    write_pairs(tmp_path / PAIRS, pairs)
    back = read_pairs(tmp_path / PAIRS)
    assert (back.anchors, back.positives, back.negatives) == (pairs.anchors, pairs.positives, pairs.negatives)
    (tmp_path / PAIRS).write_text((tmp_path / PAIRS).read_text() + "{not json\n")
    with pytest.raises(ValueError, match=rf"{PAIRS}: line 3: not a training pair"):
        read_pairs(tmp_path / PAIRS)


def test_training_from_a_stored_version_replays_its_pairs(
    tmp_path: Path, tiny_st: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _store(tmp_path, learnable=True)
    args[args.index("--max-steps") + 1] = "2"
    assert main([*args, "--base", str(tiny_st), "--force", "--no-progress"]) == 0
    store = ModelStore(tmp_path / "models")
    first = store.pairs("v0001")
    assert first is not None and len(first) == store.get("v0001").n_train  # what it was trained on
    out = capsys.readouterr().out
    assert "replaying" not in out  # an untrained base has nothing to replay
    assert main([*args, "--base", str(store.get("v0001").path), "--force", "--no-progress"]) == 0
    # the same data again: v0001's pairs are this run's own, so replay would only double them
    assert "nothing to replay: every pair v0001 was trained on is in this run's pairs" in capsys.readouterr().out
    # an older version trained on pairs this run's data lacks (its data has moved on): those are rehearsed
    older = PairSet(tuple(f"query: old {i}" for i in range(20)), first.positives[:1] * 20, "judgments")
    write_pairs(store.get("v0001").path / PAIRS, first + older)
    first = store.pairs("v0001")
    assert first is not None
    assert main([*args, "--base", str(store.get("v0001").path), "--force", "--no-progress"]) == 0
    said = re.search(r"replaying (\d+) of the (\d+) pairs v0001 was trained on \(--replay 1 per new pair\)",
                     capsys.readouterr().out)  # fmt: skip
    assert said is not None
    replayed, kept = int(said.group(1)), int(said.group(2))
    assert 0 < replayed <= kept <= len(first)  # pairs of queries now held out or validating are left out
    assert replayed <= len(older)  # only what this run's data lacks
    second = store.pairs("v0003")
    assert second is not None and len(second) == store.get("v0003").n_train
    old = set(zip(first.anchors, first.positives, strict=True))
    assert sum(p in old for p in zip(second.anchors, second.positives, strict=True)) >= replayed
    assert main([*args, "--base", str(store.get("v0003").path), "--force", "--no-progress", "--replay", "0"]) == 0
    assert "replaying" not in capsys.readouterr().out  # plain sequential fine-tuning, as asked
    (store.get("v0003").path / PAIRS).unlink()  # as a version saved before pairs were kept
    assert main([*args, "--base", str(store.get("v0003").path), "--force", "--no-progress"]) == 0
    assert "nothing to replay: v0003 was saved without its training pairs" in capsys.readouterr().out
    runs = store.runs()
    assert len(runs) >= 4 and all("version" in r for r in runs)
    (store.root / "runs.jsonl").write_text((store.root / "runs.jsonl").read_text() + '{"version": "v00')
    with pytest.raises(ValueError, match=rf"runs.jsonl: line {len(runs) + 1}: not a run record"):
        store.runs()


def test_replay_leaves_out_what_the_gates_score_in_either_direction(tmp_path: Path) -> None:
    """An old pair is left out when its anchor is validating or held out now, and an item-to-item pair
    also when the reverse pair is: training on (x -> y) teaches the held-out (y -> x)."""
    from shelfwise.finetune.continual import ReplayConfig
    from shelfwise.finetune.pipeline import TrainingData, _with_replay

    old = PairSet(
        ("query: held", "passage: x", "passage: v", "query: kept", "passage: a"),
        ("passage: p", "passage: y", "passage: w", "passage: q", "passage: b"),
    )
    write_pairs(tmp_path / PAIRS, old)
    data = TrainingData(
        train=PairSet(("query: new",) * 5, ("passage: n",) * 5, "judgments"),
        val=PairSet(("passage: w",), ("passage: v",)),
        holdout=PairSet(("query: held", "passage: y"), ("passage: p", "passage: x")),
    )
    mixed = _with_replay(data, tmp_path, ReplayConfig(ratio=10.0), None)
    replayed = {p for p in zip(mixed.anchors, mixed.positives, strict=True) if p[0] != "query: new"}
    assert replayed == {("query: kept", "passage: q"), ("passage: a", "passage: b")}


def test_the_gates_score_only_what_the_stored_base_was_not_trained_on(tmp_path: Path) -> None:
    """A new run's split reshuffles the anchors: a query the stored base learnt could be held out, and
    the gates would score what one model had seen."""
    from shelfwise.finetune.pipeline import TrainingData, unseen_by_base

    write_pairs(tmp_path / PAIRS, PairSet(("q: shoe", "p: red hat"), ("p: red shoe", "p: blue hat"), "judgments"))
    data = TrainingData(
        train=PairSet(("q: bag",), ("p: bag",), "judgments"),
        val=PairSet(("q: shoe", "q: sock"), ("p: red shoe", "p: sock"), "judgments"),
        holdout=PairSet(("p: blue hat", "q: coat"), ("p: red hat", "p: coat"), "co-user"),
    )
    said: list[str] = []
    got = unseen_by_base(data, tmp_path, said.append)
    assert got.val.anchors == ("q: sock",) and got.holdout.anchors == ("q: coat",)  # seen anchors moved out
    assert set(got.train.anchors) == {"q: bag", "q: shoe", "p: blue hat"} and len(got.train) == 3
    assert got.train.source == "judgments+co-user"  # sources named once each
    assert said == [f"1 validation and 1 held-out pairs moved to training: {tmp_path.name} was trained on their "
                    "anchors, so the gates score only what neither model has seen"]  # fmt: skip
    (tmp_path / PAIRS).unlink()
    assert unseen_by_base(data, tmp_path) is data  # nothing stored: nothing known, nothing moved
