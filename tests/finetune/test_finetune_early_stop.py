"""Early stopping: validation that only gets worse stops training before ``max_steps`` and the best
weights come back. A tiny bag-of-words torch model stands in for the transformer (fast)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from shelfwise.finetune import FinetuneConfig, PairSet, fine_tune, validation_mrr

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
    last = log.history[-1]["val_mrr"]
    assert last < log.best_val
    # the best weights, not the last ones, are in the returned model
    assert validation_mrr(tm.model, val) == pytest.approx(log.best_val)
    assert validation_mrr(tm.model, val) != pytest.approx(last)
    # nothing beat the untrained weights here, so they are what comes back
    assert log.best_step == 0 and torch.equal(tm.model.emb.weight, base.emb.weight)
