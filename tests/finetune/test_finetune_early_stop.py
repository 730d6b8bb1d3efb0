"""Early stopping: validation that only gets worse stops training before ``max_steps`` and the best
weights come back. A tiny bag-of-words torch model stands in for the transformer (fast)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from shelfwise.finetune import FinetuneConfig, PairSet, fine_tune, validation_metrics

torch = pytest.importorskip("torch")

VOCAB = 97


class _BagModel(torch.nn.Module):  # type: ignore[misc]
    """Mean of word embeddings; the slice of the SentenceTransformer API that ``fine_tune`` uses."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.EmbeddingBag(VOCAB, 16, mode="mean")
        self.max_seq_length = 16

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        ids = [[zlib.crc32(w.encode()) % VOCAB for w in t.split()] for t in texts]
        offsets = np.cumsum([0] + [len(x) for x in ids[:-1]])
        return {"input": torch.tensor([i for x in ids for i in x]), "offsets": torch.tensor(offsets)}

    def forward(self, feats: dict[str, Any]) -> dict[str, Any]:
        return {"sentence_embedding": self.emb(feats["input"], feats["offsets"])}

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        with torch.no_grad():
            e = self(self.tokenize(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(e, dim=-1).numpy()


def test_training_stops_when_validation_gets_worse_and_restores_best() -> None:
    torch.set_num_threads(1)
    n = 8
    anchors = tuple(f"query{i} word{i}" for i in range(n))
    items = tuple(f"item{i} thing{i}" for i in range(n))
    train = PairSet(anchors, items, "train")
    # validation pairs each anchor with the *next* item: learning the training pairs can only hurt it
    val = PairSet(anchors, items[1:] + items[:1], "val")
    cfg = FinetuneConfig(
        batch_size=n, epochs=1000, max_steps=60, eval_every=1, patience=2, learning_rate=0.5, warmup_fraction=0.0
    )
    base = _BagModel()
    tm = fine_tune(base, train, val, cfg)
    log = tm.log
    assert log.stopped_early and log.steps < 60
    assert log.steps == log.best_step + cfg.patience
    assert [h["step"] for h in log.history] == list(map(float, range(log.steps + 1)))
    assert log.metric == "ndcg@10" and log.base_val == log.history[0]["val_ndcg@10"]
    last = log.history[-1]["val_ndcg@10"]
    assert last < log.best_val
    # the best weights, not the last ones, are in the returned model
    assert validation_metrics(tm.model, val)["ndcg@10"] == pytest.approx(log.best_val)
    assert validation_metrics(tm.model, val)["ndcg@10"] != pytest.approx(last)
    # nothing beat the untrained weights here, so they are what comes back
    assert log.best_step == 0 and torch.equal(tm.model.emb.weight, base.emb.weight)


def test_progress_bar_and_one_line_per_validation(capsys: pytest.CaptureFixture[str]) -> None:
    torch.set_num_threads(1)
    n = 8
    train = PairSet(tuple(f"query{i}" for i in range(n)), tuple(f"item{i}" for i in range(n)), "train")
    cfg = FinetuneConfig(batch_size=4, epochs=10, max_steps=6, eval_every=2, learning_rate=0.1, patience=10)
    tm = fine_tune(_BagModel(), train, train, cfg, progress=True)
    err = capsys.readouterr().err
    assert "train full" in err and "6/6" in err  # the tqdm bar reached the last step
    assert "step 0/6 (untrained): validation NDCG@10" in err
    assert "validation: 8 queries against 8 candidate products, every 2 steps" in err
    for step in (2, 4, 6):
        assert f"step {step}/6: loss " in err
    assert "validation NDCG@10" in err and "recall@10" in err and "MRR" in err
    assert [h["step"] for h in tm.log.history] == [0.0, 2.0, 4.0, 6.0] and not tm.log.stopped_early
    lines: list[str] = []
    fine_tune(_BagModel(), train, train, cfg, say=lines.append)
    assert len(lines) == 5 and "train full" not in capsys.readouterr().err  # no bar without progress


def test_automatic_eval_interval() -> None:
    assert FinetuneConfig().eval_interval(40) == 5 and FinetuneConfig().eval_interval(100) == 10
    assert FinetuneConfig().eval_interval(5) == 5  # a short run validates at its end, not after every step
    assert FinetuneConfig().eval_interval(10) == 5 and FinetuneConfig().eval_interval(3) == 3
    assert FinetuneConfig().eval_interval(10_000) == 50
    assert FinetuneConfig(eval_every=7).eval_interval(40) == 7
    with pytest.raises(ValueError, match="metric"):
        FinetuneConfig(metric="auc")


def test_without_validation_pairs_it_says_so_instead_of_printing_nan(capsys: pytest.CaptureFixture[str]) -> None:
    torch.set_num_threads(1)
    n = 4
    train = PairSet(tuple(f"query{i}" for i in range(n)), tuple(f"item{i}" for i in range(n)), "train")
    cfg = FinetuneConfig(batch_size=4, epochs=10, max_steps=3, eval_every=1, learning_rate=0.1)
    lines: list[str] = []
    tm = fine_tune(_BagModel(), train, PairSet((), ()), cfg, progress=True, say=lines.append)
    assert lines[0] == "no validation pairs: no early stopping, the last of the 3 steps is kept"
    assert lines[1:] == [f"step {s}/3: loss {tm.log.history[s]['loss']:.4f}" for s in (1, 2, 3)]
    assert not any("nan" in line for line in lines) and "best=nan" not in capsys.readouterr().err
    assert tm.log.steps == 3 and tm.log.best_step == 3
