"""Sequence-aware session components: sequential rules and session kNN (STAN).

Both read the order of the shopper's recent clicks (``Context.sequence``, oldest first) and
weigh the last ones most, so the next item follows from what was just looked at.

* :class:`SequentialRulesRecommender` ("sequence"): sequential rules ``i -> j`` counted when
  ``j`` follows ``i`` within ``steps`` clicks of one session, weighted ``1 / distance`` (the SR
  model of Ludewig & Jannach, 2018, "Evaluation of session-based recommendation algorithms",
  User Modeling and User-Adapted Interaction 28). SR scores from the last click only; here the
  previous clicks add their rules with weight ``decay ** distance-from-the-end``.
* :class:`SessionKNNRecommender` ("sknn"): session-based kNN with STAN's weights (Garg, Gupta,
  Bhatt, Kumar & Aggarwal, 2019, "Sequence and Time Aware Neighborhood for Session-based
  Recommendations", SIGIR): the current session's items weigh ``exp(-(L - pos) / lambda_pos)``
  (recent clicks count more, as in V-SKNN), neighbours are the ``neighbours`` most similar of
  the ``sample`` most recent past sessions holding each item (Jannach & Ludewig, 2017), and a
  neighbour's items weigh ``exp(-|p - p_shared| / lambda_item)`` by their distance from the
  most recent shared item in that neighbour.

* :class:`RecentCooccurrence` ("recent"): co-occurrence counts scored from the last clicks.

The first two keep their state as sparse matrices saved to npz (never pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from shelfwise.recommend.base import BaseRecommender, Context, csr_rows, no_evidence
from shelfwise.recommend.cooccurrence import CooccurrenceRecommender
from shelfwise.recommend.entries import EntryScores, entry_sums
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.persist import check_shape, csr_arrays, csr_from, csr_keys, read_npz
from shelfwise.recommend.wording import named
from shelfwise.results import FloatArray, IntArray


@dataclass(frozen=True)
class SessionArrays:
    """Interactions regrouped by session, in time order: ``item[start[s]:start[s + 1]]`` is session ``s``.

    Sessions are numbered by the time of their last event (0 = oldest).
    """

    item: IntArray
    start: IntArray
    end_time: npt.NDArray[np.float64]
    time: npt.NDArray[np.float64]  # each row's timestamp, in the order of ``item``

    @property
    def n_sessions(self) -> int:
        return int(self.start.shape[0]) - 1

    def session_of_row(self) -> IntArray:
        return np.repeat(np.arange(self.n_sessions, dtype=np.int64), np.diff(self.start))

    def position(self) -> IntArray:
        """1-based position of each row inside its session."""
        sid = self.session_of_row()
        return np.arange(len(self.item), dtype=np.int64) - self.start[sid] + 1


def session_arrays(data: Interactions) -> SessionArrays:
    """Group ``data`` by session (ties in time keep log order)."""
    if not len(data):
        return SessionArrays(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0), np.zeros(0))
    _, sess = np.unique(data.session, return_inverse=True)
    last = np.full(int(sess.max()) + 1, -np.inf)
    np.maximum.at(last, sess, data.timestamp)
    rank = np.empty(len(last), dtype=np.int64)
    rank[np.lexsort((np.arange(len(last)), last))] = np.arange(len(last))
    sid = rank[sess]
    order = np.lexsort((np.arange(len(sid)), data.timestamp, sid))
    counts = np.bincount(sid, minlength=len(last))
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    time = np.asarray(data.timestamp, dtype=np.float64)[order]
    return SessionArrays(data.item[order].astype(np.int64), start, np.sort(last), time)


def dense_sums(items: npt.ArrayLike, values: npt.ArrayLike, n_items: int) -> FloatArray:
    """Summed ``values`` per item over the catalog, ``-inf`` where no entry falls (float64 sums in
    entry order, then float32)."""
    idx = np.asarray(items, dtype=np.int64)
    if not len(idx):
        return no_evidence(n_items)
    sums = np.bincount(idx, weights=values, minlength=n_items).astype(np.float32)
    touched = np.zeros(n_items, dtype=bool)
    touched[idx] = True
    return np.where(touched, sums, -np.inf).astype(np.float32)


def dense_sums_many(rows: IntArray, items: IntArray, values: npt.ArrayLike, n_rows: int, n_items: int) -> FloatArray:
    """:func:`dense_sums` of many contexts at once: entry ``e`` adds ``values[e]`` to cell
    ``(rows[e], items[e])`` of a (``n_rows`` x ``n_items``) matrix. Each cell sums its entries in
    entry order in float64, as :func:`dense_sums` does, so a context's row is bit for bit its
    :func:`dense_sums` when its entries come in the same order."""
    key = np.asarray(rows, dtype=np.int64) * n_items + np.asarray(items, dtype=np.int64)
    sums = np.bincount(key, weights=values, minlength=n_rows * n_items).astype(np.float32)
    untouched = np.ones(n_rows * n_items, dtype=bool)
    untouched[key] = False
    sums[untouched] = -np.inf
    return sums.reshape(n_rows, n_items)


def recent_items_many(contexts: Sequence[Context], window: int) -> tuple[IntArray, IntArray, IntArray]:
    """(context row, item, distance from the end) of each context's distinct items among its last
    ``window`` clicks (``Context.ordered``), context-major, items ascending: the items of
    :func:`recency_weights` for every context at once (distance 0 = the last click; an item
    clicked twice keeps its most recent distance)."""
    tails = [np.asarray(c.ordered, dtype=np.int64)[-window:] for c in contexts]
    lens = np.array([len(t) for t in tails], dtype=np.int64)
    if not lens.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    item = np.concatenate(tails)
    row = np.repeat(np.arange(len(contexts), dtype=np.int64), lens)
    dist = np.repeat(np.cumsum(lens), lens) - 1 - np.arange(len(item), dtype=np.int64)
    order = np.lexsort((dist, item, row))
    row, item, dist = row[order], item[order], dist[order]
    first = np.ones(len(item), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (item[1:] != item[:-1])
    return row[first], item[first], dist[first]


def recency_weights(sequence: IntArray, decay: float, window: int) -> tuple[IntArray, FloatArray]:
    """Distinct items of the last ``window`` clicks with weight ``decay ** distance-from-the-end``
    (the last click 1; an item clicked twice keeps its most recent weight)."""
    tail = np.asarray(sequence, dtype=np.int64)[-window:][::-1]
    items, first = np.unique(tail, return_index=True)
    return items, _decayed(decay, first)


def recency_weights_many(
    contexts: Sequence[Context], decay: float, window: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """:func:`recency_weights` of every context at once: (context row, item, weight) entries,
    context-major, items ascending (:func:`recent_items_many`; the same float32 weights)."""
    row, item, dist = recent_items_many(contexts, window)
    return row, item, _decayed(decay, dist)


def _decayed(decay: float, dist: IntArray) -> FloatArray:
    """``decay ** dist`` in float32 (distance 0, the last click: weight 1)."""
    return np.power(np.float32(decay), dist.astype(np.float32)).astype(np.float32)


@dataclass(frozen=True)
class SequenceConfig:
    steps: int = 10  # rules i -> j for j up to this many clicks after i
    decay: float = 0.5  # weight of the click before the last, relative to the last
    window: int = 5  # clicks of the session that add their rules

    def __post_init__(self) -> None:
        if self.steps < 1 or self.window < 1:
            raise ValueError("SequenceConfig: steps and window must be >= 1")
        if not 0.0 <= self.decay <= 1.0:
            raise ValueError("SequenceConfig.decay must be in [0, 1]")


class SequentialRulesRecommender(BaseRecommender):
    """What shoppers clicked next after the items just clicked (sequential rules, Ludewig & Jannach, 2018).

    ``timed``: some rule came from a pair whose second event is strictly later than its first. A log
    whose events all share their session's timestamp (one date per purchase, say) orders a session
    only by its rows, so its reasons say "together with X", not "after X"; the scores are the same."""

    name = "sequence"

    def __init__(self, config: SequenceConfig | None = None) -> None:
        super().__init__()
        self.config = config or SequenceConfig()
        self.rules: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.timed = True

    def _fit(self, data: Interactions) -> None:
        s = session_arrays(data)
        n = data.n_items
        sid = s.session_of_row()
        rows, cols, vals = [], [], []
        self.timed = False
        for d in range(1, self.config.steps + 1):
            if d >= len(sid):
                break
            m = (sid[:-d] == sid[d:]) & (s.item[:-d] != s.item[d:])
            self.timed = self.timed or bool((s.time[d:][m] > s.time[:-d][m]).any())
            rows.append(s.item[:-d][m])
            cols.append(s.item[d:][m])
            vals.append(np.full(int(m.sum()), 1.0 / d, dtype=np.float32))
        if rows:
            r = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
            r.sum_duplicates()
            self.rules = r.astype(np.float32)
        else:
            self.rules = sp.csr_matrix((n, n), dtype=np.float32)

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx.ordered):
            return no_evidence(self.n_items)
        items, w = recency_weights(ctx.ordered, self.config.decay, self.config.window)
        indptr, cols, data = csr_rows(self.rules, items)
        if not len(cols):
            return no_evidence(self.n_items)
        return dense_sums(cols, data * np.repeat(w, np.diff(indptr)), self.n_items)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context, every rule row gathered at once (the same float32
        products, summed per item in the same order: bit for bit :meth:`score`)."""
        row, item, w = recency_weights_many(contexts, self.config.decay, self.config.window)
        indptr, cols, data = csr_rows(self.rules, item)
        lens = np.diff(indptr)
        return dense_sums_many(np.repeat(row, lens), cols, data * np.repeat(w, lens), len(contexts), self.n_items)

    def score_item(self, item: int) -> FloatArray:
        return self.score(Context.of([item]))

    def explain(self, ctx: Context | None, item: int) -> str:
        """Names the recent click whose rule term (rule weight x recency weight) scored ``item`` most,
        the last click when none did."""
        if ctx is None or not len(ctx.ordered):
            return self.wording.next_after(None)
        items, w = recency_weights(ctx.ordered, self.config.decay, self.config.window)
        terms = self.rules[items][:, [item]].toarray().ravel() * w
        src = int(items[int(np.argmax(terms))]) if terms.max(initial=0.0) > 0 else int(ctx.ordered[-1])
        title = named(self.catalog.products[src].title)
        return self.wording.next_after(title) if self.timed else self.wording.together_with(title)

    def save(self, path: str | Path) -> None:
        """``sequence.npz``: the rule weights as scipy CSR arrays and ``timed``."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        arrays = csr_arrays("rules", self.rules)
        np.savez(p / "sequence.npz", allow_pickle=False, timed=np.array(self.timed), **arrays)

    def load_state(self, path: str | Path) -> None:
        f = Path(path) / "sequence.npz"
        n = self.n_items
        z = read_npz(f, csr_keys("rules"))
        self.rules = csr_from(z, "rules", f, (n, n)).astype(np.float32)
        self.timed = bool(z["timed"]) if "timed" in z else True  # saved before it was recorded


@dataclass(frozen=True)
class RecentConfig:
    decay: float = 0.3  # weight of the click before the last, relative to the last
    window: int = 5

    def __post_init__(self) -> None:
        if self.window < 1 or not 0.0 <= self.decay <= 1.0:
            raise ValueError("RecentConfig: window >= 1 and decay in [0, 1]")


class RecentCooccurrence(BaseRecommender):
    """Last-item-weighted co-occurrence ("recent"): the co-occurrence model's pair counts, scored
    from the latest clicks with weight ``decay ** distance-from-the-end`` instead of the whole
    history at once (the last-item neighbourhood baseline of Ludewig & Jannach, 2018, softened to
    the last few clicks). It keeps no state of its own: fitting the co-occurrence model fits it."""

    name = "recent"

    def __init__(self, cooccurrence: CooccurrenceRecommender, config: RecentConfig | None = None) -> None:
        super().__init__()
        self.cooccurrence = cooccurrence
        self.config = config or RecentConfig()

    def _fit(self, data: Interactions) -> None:
        return None  # shares the co-occurrence model's pairs

    def context_of(self, ctx: Context) -> Context:
        items, w = recency_weights(ctx.ordered, self.config.decay, self.config.window)
        return Context(items, w, ctx.user)

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx.ordered):
            return no_evidence(self.cooccurrence.n_items)
        return self.cooccurrence.score(self.context_of(ctx))

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context: the recency weights of all of them at once, then one
        sparse product (:meth:`CooccurrenceRecommender.score_entries`)."""
        row, item, w = recency_weights_many(contexts, self.config.decay, self.config.window)
        return self.cooccurrence.score_entries(row, item, w, len(contexts))

    def score_item(self, item: int) -> FloatArray:
        return self.cooccurrence.score_item(item)

    def explain(self, ctx: Context | None, item: int) -> str:
        return self.cooccurrence.explain(self.context_of(ctx) if ctx is not None else None, item)


@dataclass(frozen=True)
class SessionKNNConfig:
    neighbours: int = 100  # most similar past sessions that vote
    sample: int = 1000  # most recent past sessions per item considered as neighbours
    lambda_pos: float = 2.0  # STAN factor 1: recency of an item inside the current session
    lambda_item: float = 2.0  # STAN factor 3: distance from the shared item inside a neighbour
    window: int = 20  # last clicks of the current session used

    def __post_init__(self) -> None:
        if min(self.neighbours, self.sample, self.window) < 1:
            raise ValueError("SessionKNNConfig: neighbours, sample and window must be >= 1")
        if self.lambda_pos <= 0 or self.lambda_item <= 0:
            raise ValueError("SessionKNNConfig: lambda_pos and lambda_item must be > 0")


class SessionKNNRecommender(BaseRecommender):
    """Items of past sessions like the current one, order- and recency-weighted (STAN, Garg et al., 2019)."""

    name = "sknn"

    def __init__(self, config: SessionKNNConfig | None = None) -> None:
        super().__init__()
        self.config = config or SessionKNNConfig()
        self.positions: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)  # session x item: last position
        self.by_item: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)  # item x session, recent only
        self.lengths: FloatArray = np.zeros(0, dtype=np.float32)
        self._by_item_f64: sp.csr_matrix | None = None

    def _fit(self, data: Interactions) -> None:
        self._by_item_f64 = None
        s = session_arrays(data)
        n, ns = data.n_items, s.n_sessions
        sid = s.session_of_row()
        pos = s.position().astype(np.float32)
        # last position of each distinct item in its session: later rows overwrite earlier ones
        key = sid * max(n, 1) + s.item
        _, last_idx = np.unique(key[::-1], return_index=True)
        keep = len(key) - 1 - last_idx
        p = sp.csr_matrix((pos[keep], (sid[keep], s.item[keep])), shape=(ns, n), dtype=np.float32)
        p.sort_indices()
        self.positions = p
        self.lengths = np.diff(p.indptr).astype(np.float32)
        t = p.T.tocsr()  # item x session, sessions ascending = oldest first
        t.sort_indices()
        cap = self.config.sample
        cnt = np.diff(t.indptr)
        offs = np.arange(t.nnz) - np.repeat(t.indptr[:-1], cnt)
        recent = offs >= np.repeat(cnt - cap, cnt)
        rows = np.repeat(np.arange(n), cnt)[recent]
        self.by_item = sp.csr_matrix(
            (np.ones(int(recent.sum()), dtype=np.float32), (rows, t.indices[recent])), shape=(n, ns)
        )

    def neighbours(self, ctx: Context) -> tuple[IntArray, FloatArray, IntArray, FloatArray]:
        """(neighbour sessions, similarities, current items, their position weights)."""
        c = self.config
        seq = np.asarray(ctx.ordered, dtype=np.int64)[-c.window :]
        items, dist = np.unique(seq[::-1], return_index=True)
        w = np.exp(-dist.astype(np.float32) / np.float32(c.lambda_pos)).astype(np.float32)
        indptr, indices, _ = csr_rows(self.by_item, items)
        if not len(indices):
            return np.zeros(0, np.int64), np.zeros(0, np.float32), items, w
        vals = np.repeat(w, np.diff(indptr))
        ns = len(self.lengths)
        if ns <= 8 * len(indices):  # per-session sums over all sessions beat sorting the entries
            sess = np.flatnonzero(np.bincount(indices, minlength=ns))
            sim = np.bincount(indices, weights=vals, minlength=ns)[sess].astype(np.float32)
        else:
            sess, inv = np.unique(indices, return_inverse=True)
            sim = np.bincount(inv, weights=vals).astype(np.float32)
        sim /= np.sqrt(self.lengths[sess] * np.float32(len(items)))
        if not sim.all():  # position weights that underflow to 0 reach nobody (as in score_many's sparse product)
            sess, sim = sess[sim > 0], sim[sim > 0]
        if len(sess) > c.neighbours:
            top = np.argpartition(-sim, c.neighbours - 1)[: c.neighbours]
            sess, sim = sess[top], sim[top]
        return sess.astype(np.int64), sim, items, w

    def score(self, ctx: Context) -> FloatArray:
        if not len(ctx.ordered) or not self.positions.shape[0]:
            return no_evidence(self.n_items)
        sess, sim, items, w = self.neighbours(ctx)
        if not len(sess):
            return no_evidence(self.n_items)
        indptr, indices, pos = csr_rows(self.positions, sess)
        cur = np.zeros(self.n_items, dtype=np.float32)
        cur[items] = w
        lens = np.diff(indptr)
        row = np.repeat(np.arange(len(sess)), lens)
        shared_w = cur[indices]
        best = np.zeros(len(sess), dtype=np.float32)
        full = lens > 0  # reduceat over the non-empty rows: each segment ends where the next starts
        best[full] = np.maximum(np.maximum.reduceat(shared_w, indptr[:-1][full]), 0.0)
        ref = np.zeros(len(sess), dtype=np.float32)
        is_ref = (shared_w == best[row]) & (shared_w > 0)
        ref[row[is_ref]] = pos[is_ref]
        f3 = np.exp(-np.abs(pos - ref[row]) / np.float32(self.config.lambda_item))
        return dense_sums(indices, (sim[row] * f3).astype(np.float64), self.n_items)

    def score_many(self, contexts: Sequence[Context]) -> npt.NDArray[np.float32]:
        """:meth:`score` of each context: every context's similarity to the past sessions as one
        sparse product (float64, each session's sum taken in the order :meth:`neighbours` takes
        it), each row's neighbours picked by the same ``argpartition`` call, then every
        neighbour's items weighed at once; bit for bit :meth:`score`."""
        terms = self._terms_many(contexts)
        if terms is None:
            return np.full((len(contexts), self.n_items), -np.inf, dtype=np.float32)
        return dense_sums_many(*terms, len(contexts), self.n_items)

    def score_entries_many(self, contexts: Sequence[Context]) -> EntryScores:
        """:meth:`score_many` as its finite entries (the neighbours' items: :mod:`.entries`)."""
        terms = self._terms_many(contexts)
        if terms is None:
            return EntryScores(np.zeros(0, np.int64), np.zeros(0, np.float32), (len(contexts), self.n_items))
        return entry_sums(*terms, len(contexts), self.n_items)

    def _terms_many(self, contexts: Sequence[Context]) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]] | None:
        """(context row, item, term) of every neighbour's item for :meth:`score_many`, whose float64
        sums per cell in this order are the scores; None when no context reaches a past session."""
        c, n, b = self.config, self.n_items, len(contexts)
        row, item, dist = recent_items_many(contexts, c.window)
        if not len(item) or not self.positions.shape[0]:
            return None
        w = np.exp(-dist.astype(np.float32) / np.float32(c.lambda_pos)).astype(np.float32)
        cur = sp.csr_matrix((w.astype(np.float64), (row, item)), shape=(b, n))
        # sessions ascending in each row: two counting transposes, O(nnz), sort rows (sort_indices
        # then only checks) faster than a per-row sort of the product's scattered order (the
        # Instacart pool's 5000 prefixes: 0.16 vs 0.28 CPU-s for the whole call, load 3.0, 558a917)
        sim_all = (cur @ self._by_item64()).tocsc().tocsr()
        sim_all.sort_indices()
        n_cur = np.bincount(row, minlength=b).astype(np.float32)
        lens = np.diff(sim_all.indptr)
        sims = sim_all.data.astype(np.float32)
        sims /= np.sqrt(self.lengths[sim_all.indices] * np.repeat(n_cur, lens))
        owner = np.repeat(np.arange(b, dtype=np.int64), lens)
        small = np.ones(len(sims), dtype=bool)
        tops = []
        for r in np.flatnonzero(lens > c.neighbours).tolist():  # the same call on the same row as neighbours()
            a, z = int(sim_all.indptr[r]), int(sim_all.indptr[r + 1])
            small[a:z] = False
            tops.append(a + np.argpartition(-sims[a:z], c.neighbours - 1)[: c.neighbours])
        order = np.concatenate([np.flatnonzero(small), *tops])
        order = order[np.argsort(owner[order], kind="stable")]  # context-major, argpartition's order inside
        sess, sim, owner = sim_all.indices[order].astype(np.int64), sims[order], owner[order]
        indptr, indices, pos = csr_rows(self.positions, sess)
        per = np.diff(indptr)
        pair = np.repeat(np.arange(len(sess), dtype=np.int64), per)
        ctx_of = owner[pair]
        weights = np.zeros((b, n), dtype=np.float32)
        weights[row, item] = w
        shared_w = weights[ctx_of, indices]
        best = np.zeros(len(sess), dtype=np.float32)
        full = per > 0
        best[full] = np.maximum(np.maximum.reduceat(shared_w, indptr[:-1][full]), 0.0)
        ref = np.zeros(len(sess), dtype=np.float32)
        is_ref = (shared_w == best[pair]) & (shared_w > 0)
        ref[pair[is_ref]] = pos[is_ref]
        f3 = np.exp(-np.abs(pos - ref[pair]) / np.float32(c.lambda_item))
        return ctx_of, indices.astype(np.int64), (sim[pair] * f3).astype(np.float64)

    def _by_item64(self) -> sp.csr_matrix:
        """``by_item`` in float64 (its entries are 1: products are exact), kept until refit."""
        if self._by_item_f64 is None or self._by_item_f64.shape != self.by_item.shape:
            self._by_item_f64 = self.by_item.astype(np.float64)
        return self._by_item_f64

    def score_item(self, item: int) -> FloatArray:
        return self.score(Context.of([item]))

    def explain(self, ctx: Context | None, item: int) -> str:
        return self.wording.shoppers_like_you()

    def save(self, path: str | Path) -> None:
        """``sknn.npz``: item positions per past session and the recent-sessions index (CSR arrays)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(
            p / "sknn.npz",
            allow_pickle=False,
            **csr_arrays("positions", self.positions),
            **csr_arrays("by_item", self.by_item),
        )

    def load_state(self, path: str | Path) -> None:
        f = Path(path) / "sknn.npz"
        z = read_npz(f, (*csr_keys("positions"), *csr_keys("by_item")))
        ns = int(z["positions_shape"][0]) if len(z["positions_shape"]) == 2 else -1
        n = self.n_items
        self.positions = csr_from(z, "positions", f, (ns, n)).astype(np.float32)
        self.by_item = csr_from(z, "by_item", f, (n, ns)).astype(np.float32)
        self._by_item_f64 = None
        self.lengths = check_shape(f, "lengths", np.diff(self.positions.indptr).astype(np.float32), (ns,))
