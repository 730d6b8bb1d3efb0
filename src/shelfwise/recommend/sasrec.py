"""SASRec: a small self-attentive sequential recommender trained on CPU with torch.

Kang & McAuley, 2018, "Self-Attentive Sequential Recommendation" (ICDM): item + learned position
embeddings, causal self-attention blocks, and the next item scored by the dot product of the
last hidden state with the item embeddings (shared input/output table). Trained with a
cross-entropy over the true next item and ``negatives`` uniformly sampled items shared by the
batch, instead of the paper's one-negative BCE: Klenitskiy & Vasilev, 2023, "Turning Dross Into
Gold Loss: is BERT4Rec really better than SASRec?" (RecSys) show cross-entropy is what makes
SASRec strong. Sequences are each user's events in time order (a session when users are
anonymous), cut into windows of ``max_len``; training stops after ``epochs`` or ``max_seconds``.

Off by default in the hybrid (it needs torch, from the ``lm`` extra, and fits much slower than the
other components); give it a positive weight to use it. Weights are saved as ``sasrec.npz``
(plain arrays) + ``sasrec.json``, never pickled.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shelfwise.errors import require_torch
from shelfwise.recommend.base import BaseRecommender, Context, no_evidence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import check_shape, config_from_json, config_to_json, read_json, read_npz, write_json
from shelfwise.results import FloatArray

if TYPE_CHECKING:
    from shelfwise.catalog.schema import Catalog
    from shelfwise.recommend.profiles import UserProfiles


@dataclass(frozen=True)
class SASRecConfig:
    dim: int = 64
    blocks: int = 2
    heads: int = 1
    max_len: int = 50
    dropout: float = 0.2
    epochs: int = 30
    max_seconds: float = 120.0
    batch_size: int = 128
    learning_rate: float = 1e-3
    negatives: int = 512
    threads: int = 0  # torch intra-op threads, 0 = torch's default
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.dim, self.blocks, self.heads, self.max_len, self.epochs, self.batch_size, self.negatives) < 1:
            raise ValueError("SASRecConfig: sizes must be >= 1")
        if self.dim % self.heads:
            raise ValueError("SASRecConfig: dim must be a multiple of heads")
        if not 0.0 <= self.dropout < 1.0 or self.learning_rate <= 0 or self.max_seconds <= 0:
            raise ValueError("SASRecConfig: dropout in [0, 1), learning_rate and max_seconds > 0")


_torch = require_torch  # torch, or an error naming the extra to install


def build_model(n_items: int, cfg: SASRecConfig) -> Any:
    """The torch module: rows are item + 1 (0 pads)."""
    torch = _torch()
    nn = torch.nn

    class SASRec(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, cfg.dim, padding_idx=0)
            self.pos = nn.Embedding(cfg.max_len, cfg.dim)
            self.drop = nn.Dropout(cfg.dropout)
            layer = nn.TransformerEncoderLayer(
                cfg.dim, cfg.heads, cfg.dim, cfg.dropout, batch_first=True, norm_first=True
            )
            self.blocks = nn.TransformerEncoder(layer, cfg.blocks, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.dim)

        def forward(self, seq: Any) -> Any:
            n = seq.shape[1]
            pos = torch.arange(cfg.max_len - n, cfg.max_len, device=seq.device)
            valid = seq > 0
            x = self.drop(self.items(seq) * (cfg.dim**0.5) + self.pos(pos)) * valid[..., None]
            # causal and padding mask in one; each position may always see itself (no all-masked row)
            blocked = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)[None] | ~valid[:, None, :]
            blocked &= ~torch.eye(n, dtype=torch.bool)[None]
            mask = torch.zeros(blocked.shape).masked_fill(blocked, float("-inf"))
            h = self.blocks(x, mask=mask.repeat_interleave(cfg.heads, dim=0))
            return self.norm(h)

    return SASRec()


def user_sequences(data: Interactions, max_len: int) -> list[npt.NDArray[np.int64]]:
    """Each user's items in time order (rows + 1), cut into windows of ``max_len + 1`` (inputs + target)."""
    order = np.lexsort((np.arange(len(data)), data.timestamp, data.user))
    users = data.user[order]
    out = []
    for idx in np.split(order, np.flatnonzero(np.diff(users)) + 1):
        seq = data.item[idx] + 1
        for end in range(len(seq), 1, -max_len):
            out.append(seq[max(0, end - max_len - 1) : end].astype(np.int64))
    return out


class SASRecRecommender(BaseRecommender):
    """Next item from the order of the latest clicks (SASRec, Kang & McAuley, 2018)."""

    name = "sasrec"

    def __init__(self, config: SASRecConfig | None = None) -> None:
        super().__init__()
        self.config = config or SASRecConfig()
        self.model: Any = None
        self.item_table: FloatArray = np.zeros((0, self.config.dim), dtype=np.float32)
        self.known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.epochs_run = 0

    def reset(self, catalog: Catalog, profiles: UserProfiles | None) -> None:
        """Bind without training: scores nothing until fitted or loaded."""
        self.attach(catalog, profiles)
        self.model, self.epochs_run = None, 0
        self.item_table = np.zeros((len(catalog), self.config.dim), dtype=np.float32)
        self.known = np.zeros(len(catalog), dtype=bool)

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def _fit(self, data: Interactions) -> None:
        self._train(data, None, self.config.epochs, self.config.max_seconds)

    def refit(self, data: Interactions, epochs: int) -> None:
        """Train on ``data`` (the same catalog) starting from the current weights, for ``epochs``
        (and the same share of ``max_seconds``) instead of from scratch: after fit-time tuning,
        the model trained on the earlier rows is most of the way there (as ALS's refit). Not
        fitted yet, or another catalog: a full fit."""
        if self.model is None or self.item_table.shape[0] != data.n_items:
            self.fit(data)
            return
        self._catalog, self.profiles = data.catalog, data.profiles
        share = min(1.0, epochs / self.config.epochs)
        self._train(data, self.model, epochs, self.config.max_seconds * share)

    def _train(self, data: Interactions, model: Any, epochs: int, max_seconds: float) -> None:
        """Train ``model`` (None: a new one) on ``data`` for up to ``epochs`` / ``max_seconds``."""
        torch = _torch()
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        threads = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.known = np.bincount(data.item, minlength=data.n_items) > 0
        seqs = user_sequences(data, cfg.max_len)
        model = build_model(data.n_items, cfg) if model is None else model
        opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, betas=(0.9, 0.98))
        lengths = np.array([len(s) for s in seqs])
        t0, self.epochs_run = time.perf_counter(), 0
        try:
            for _ in range(epochs if len(seqs) else 0):
                model.train()
                order = rng.permutation(len(seqs))
                order = order[np.argsort(lengths[order], kind="stable")]  # similar lengths batch together
                batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
                for b in rng.permutation(len(batches)):
                    self._step(torch, model, opt, [seqs[i] for i in batches[b]], rng, data.n_items)
                self.epochs_run += 1
                if time.perf_counter() - t0 > max_seconds:
                    break
        finally:
            torch.set_num_threads(threads)
        model.eval()
        self.model = model
        self.item_table = model.items.weight.detach().numpy()[1:].astype(np.float32)

    def _step(self, torch: Any, model: Any, opt: Any, batch: list[Any], rng: np.random.Generator, n: int) -> None:
        width = max(len(s) for s in batch) - 1
        x = np.zeros((len(batch), width), dtype=np.int64)
        y = np.zeros((len(batch), width), dtype=np.int64)
        for r, s in enumerate(batch):
            x[r, width - len(s) + 1 :] = s[:-1]
            y[r, width - len(s) + 1 :] = s[1:]
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        h = model(xt)[yt > 0]
        target = yt[yt > 0]
        table = model.items.weight
        if n <= self.config.negatives:
            logits = h @ table[1:].T
            loss = torch.nn.functional.cross_entropy(logits, target - 1)
        else:
            neg = torch.from_numpy(rng.integers(1, n + 1, self.config.negatives))
            pos_logit = (h * table[target]).sum(-1, keepdim=True)
            neg_logit = h @ table[neg].T
            neg_logit = neg_logit.masked_fill(neg[None, :] == target[:, None], float("-inf"))
            logits = torch.cat([pos_logit, neg_logit], dim=1)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(target), dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def hidden(self, ctx: Context) -> FloatArray | None:
        """The last hidden state for the context's latest clicks; None when not fitted or empty."""
        if self.model is None or not len(ctx.ordered):
            return None
        torch = _torch()
        seq = np.asarray(ctx.ordered, dtype=np.int64)[-self.config.max_len :] + 1
        with torch.inference_mode():
            h = self.model(torch.from_numpy(seq[None, :]))[0, -1]
        return np.asarray(h.numpy(), dtype=np.float32)

    def score(self, ctx: Context) -> FloatArray:
        h = self.hidden(ctx)
        if h is None:
            return no_evidence(self.n_items)
        return np.where(self.known, self.item_table @ h, -np.inf).astype(np.float32)

    def score_many(self, contexts: Sequence[Context], batch: int = 256) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context, ``batch`` sequences per forward pass: shorter ones are
        left-padded, which the padding mask and right-aligned positions make invisible."""
        out = np.full((len(contexts), self.n_items), -np.inf, dtype=np.float32)
        rows = [j for j, c in enumerate(contexts) if len(c.ordered)]
        if self.model is None or not rows:
            return out
        torch = _torch()
        for a in range(0, len(rows), batch):
            part = rows[a : a + batch]
            seqs = [np.asarray(contexts[j].ordered, dtype=np.int64)[-self.config.max_len :] + 1 for j in part]
            width = max(len(s) for s in seqs)
            x = np.zeros((len(part), width), dtype=np.int64)
            for r, s in enumerate(seqs):
                x[r, width - len(s) :] = s
            with torch.inference_mode():
                h = np.asarray(self.model(torch.from_numpy(x))[:, -1].numpy(), dtype=np.float32)
            out[part] = np.where(self.known[None, :], h @ self.item_table.T, -np.inf)
        return out

    def score_item(self, item: int) -> FloatArray:
        return self.score(Context.of([item]))

    def explain(self, ctx: Context | None, item: int) -> str:
        return self.wording.next_in_sessions()

    # --- persistence (npz + JSON, no pickle) -------------------------------------------------
    def save(self, path: str | Path) -> None:
        """``sasrec.npz`` (the module's tensors as arrays, known-item mask) and ``sasrec.json``."""
        if self.model is None:
            return
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        arrays = {f"w:{k}": v.detach().numpy() for k, v in self.model.state_dict().items()}
        np.savez(p / "sasrec.npz", allow_pickle=False, known=self.known, **arrays)
        write_json(p / "sasrec.json", {"config": config_to_json(self.config), "epochs_run": self.epochs_run})

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote; without ``sasrec.json`` the component stays unfitted."""
        p = Path(path)
        if not (p / "sasrec.json").is_file():
            self.reset(self.catalog, self.profiles)
            return
        meta = read_json(p / "sasrec.json")
        self.config = config_from_json(SASRecConfig, meta.get("config"), "sasrec.config")
        f = p / "sasrec.npz"
        z = read_npz(f, ("known",))
        self.known = check_shape(f, "known", z["known"].astype(bool), (self.n_items,))
        torch = _torch()
        model = build_model(self.n_items, self.config)
        state = {k[2:]: torch.from_numpy(np.array(v)) for k, v in z.items() if k.startswith("w:")}
        try:
            model.load_state_dict(state)
        except (RuntimeError, KeyError) as e:
            raise ValueError(f"{f}: weights do not fit the saved SASRec config ({e})") from e
        model.eval()
        self.model, self.epochs_run = model, int(meta.get("epochs_run", 0))
        self.item_table = model.items.weight.detach().numpy()[1:].astype(np.float32)
