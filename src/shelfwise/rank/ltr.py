"""A learning-to-rank reranker trained here: pairwise logistic (RankNet) over cheap features.

Model: a linear scorer f(x) = w . z(x) on standardised features, fitted by minimising the RankNet
loss log(1 + exp(-(f(x_i) - f(x_j)))) over pairs where item i is graded above item j for the same
query, plus an L2 penalty (Burges et al., 2005, "Learning to Rank using Gradient Descent";
Joachims, 2002, "Optimizing Search Engines using Clickthrough Data" for the pairwise reduction).
Linear keeps it tiny (11 weights, 13 with field features), deterministic, and fast enough for a per-request budget.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shelfwise.eval.judgments import Judgments
from shelfwise.index.lexical import LexicalConfig
from shelfwise.rank.features import FEATURE_NAMES, FIELD_FEATURES, FeatureExtractor
from shelfwise.results import Results
from shelfwise.retrieve.hybrid import HybridSearcher

Features = npt.NDArray[np.float32]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LTRConfig:
    """``depth``: first-stage candidates per training query; ``l2``: ridge penalty on weights;
    ``max_pairs``: preference pairs sampled per query; ``field_features``: also learn from query
    terms found in the category path and attribute values (off by default: see ``rank.features``);
    ``z_clip``: standardised features are clipped to this many standard deviations, in training and
    scoring alike (``inf``: not clipped; a model saved before it existed loads with the default)."""

    depth: int = 50
    l2: float = 1e-2
    max_pairs: int = 2000
    seed: int = 0
    field_features: bool = False
    z_clip: float = 3.0

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (*FEATURE_NAMES, *FIELD_FEATURES) if self.field_features else FEATURE_NAMES

    def __post_init__(self) -> None:
        if self.depth < 2 or self.max_pairs < 1 or self.l2 < 0 or not self.z_clip > 0:
            raise ValueError("LTRConfig: depth >= 2, max_pairs >= 1, l2 >= 0, z_clip > 0")


def _pairs(labels: npt.NDArray[np.float32], max_pairs: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    hi, lo = np.nonzero(labels[:, None] > labels[None, :])
    pairs = np.stack([hi, lo], axis=1).astype(np.int64)
    if len(pairs) > max_pairs:
        pairs = pairs[rng.choice(len(pairs), max_pairs, replace=False)]
    return pairs


MANIFEST = "ltr.json"
TRAINED_ON = "judgments.json"  # the judged queries it was fitted on, so a new first stage can refit it


@dataclass(frozen=True)
class LTRManifest:
    """What ``ltr.json`` records: the model's config and feature names, and the lexical index
    settings it was trained against as saved (``lexical``: the raw JSON value, None when absent;
    checked leniently on load, an unreadable one only warns). ``source``: the file read."""

    config: LTRConfig
    features: tuple[str, ...]
    lexical: object
    source: Path

    @classmethod
    def read(cls, folder: Path) -> LTRManifest:
        f = folder / MANIFEST
        meta = json.loads(f.read_text())
        return cls(LTRConfig(**meta["config"]), tuple(meta["features"]), meta.get("lexical"), f)


class PairwiseRanker:
    """Linear RankNet scorer; ``fit(groups, labels)`` / ``score(x)`` / ``save`` / ``load``."""

    def __init__(self, config: LTRConfig | None = None, feature_names: Sequence[str] = ()) -> None:
        self.config = config or LTRConfig()
        self.feature_names = tuple(feature_names)
        self.mean: npt.NDArray[np.float64] = np.zeros(0)
        self.std: npt.NDArray[np.float64] = np.ones(0)
        self.weights: npt.NDArray[np.float64] = np.zeros(0)

    def fit(self, groups: Sequence[Features], labels: Sequence[npt.ArrayLike]) -> PairwiseRanker:
        from scipy.optimize import minimize

        if len(groups) != len(labels) or not groups:
            raise ValueError("fit: one label vector per feature group, at least one group")
        allx = np.concatenate([np.asarray(g, dtype=np.float64) for g in groups])
        self.mean = allx.mean(axis=0)
        self.std = np.where(allx.std(axis=0) > 1e-9, allx.std(axis=0), 1.0)
        rng = np.random.default_rng(self.config.seed)
        diffs = []
        for g, y in zip(groups, labels, strict=True):
            y = np.asarray(y, dtype=np.float32)
            if len(y) != len(g):
                raise ValueError(f"fit: a group has {len(g)} rows but {len(y)} labels")
            p = _pairs(y, self.config.max_pairs, rng)
            if len(p):
                z = self._standardise(g)
                diffs.append(z[p[:, 0]] - z[p[:, 1]])
        if not diffs:
            raise ValueError("fit: no query has two differently graded candidates")
        d = np.concatenate(diffs)
        lam = self.config.l2

        def loss(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
            m = d @ w
            val = np.logaddexp(0.0, -m).mean() + lam * float(w @ w)
            grad = -(d * (1.0 / (1.0 + np.exp(m)))[:, None]).mean(axis=0) + 2 * lam * w
            return float(val), grad

        res = minimize(loss, np.zeros(d.shape[1]), jac=True, method="L-BFGS-B")
        self.weights = np.asarray(res.x, dtype=np.float64)
        return self

    def score(self, x: Features) -> npt.NDArray[np.float32]:
        if self.weights.size == 0:
            raise RuntimeError("PairwiseRanker is not fitted")
        return (self._standardise(x) @ self.weights).astype(np.float32)

    def _standardise(self, x: Features) -> npt.NDArray[np.float64]:
        """Features as z-scores of the training data, clipped to +-``config.z_clip``: a feature that
        was nearly constant in training (every word of a title held by ~1 candidate in 7,500 of the
        demo's lists, std 0.0115) would otherwise reach z ~ 87 on a query where it holds, and its
        weight, learnt from that handful of rows, would decide the whole list (the demo's reranker
        buried exact title matches)."""
        clip = self.config.z_clip
        return np.clip((np.asarray(x, dtype=np.float64) - self.mean) / self.std, -clip, clip)

    def save(self, path: str | Path, *, lexical: LexicalConfig | None = None) -> None:
        """Weights (npz) and ``ltr.json``; ``lexical``: the settings of the lexical index whose
        scores the features were read from, recorded under ``"lexical"``."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        np.savez(p / "ltr_weights.npz", mean=self.mean, std=self.std, weights=self.weights)
        meta: dict[str, object] = {
            "config": asdict(self.config),
            "features": list(self.feature_names),
            "model": "pairwise-logistic",
        }
        if lexical is not None:
            meta["lexical"] = lexical.to_json()
        (p / MANIFEST).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, path: str | Path, manifest: LTRManifest | None = None) -> PairwiseRanker:
        """The model saved in ``path``; ``manifest``: its ``ltr.json`` when the caller has read it."""
        p = Path(path)
        meta = manifest or LTRManifest.read(p)
        obj = cls(meta.config, meta.features)
        with np.load(p / "ltr_weights.npz", allow_pickle=False) as z:
            obj.mean, obj.std, obj.weights = z["mean"], z["std"], z["weights"]
        if obj.weights.shape != (len(obj.feature_names),):
            raise ValueError(f"{p}: {obj.weights.shape[0]} weights for {len(obj.feature_names)} features")
        return obj


class LTRReranker:
    """Implements :class:`shelfwise.retrieve.Reranker`: features of the head, re-sorted by the model."""

    kind = "ltr"  # what /search's ``reranked_by`` names
    reads_match_features = True  # the searcher attaches the head's first-stage signals before rerank

    def __init__(
        self,
        extractor: FeatureExtractor,
        model: PairwiseRanker,
        lexical: LexicalConfig | None = None,
        trained_on: Judgments | None = None,
    ) -> None:
        if model.feature_names and tuple(model.feature_names) != tuple(extractor.names):
            raise ValueError(f"model features {model.feature_names} != extractor features {extractor.names}")
        self.extractor = extractor
        self.model = model
        self.lexical = lexical  # the lexical index settings it was trained against (None: unknown)
        # the judged queries it was fitted on (None: saved before they were recorded): its features read
        # the first stage (cosine, BM25, fused score), so a new encoder needs it refitted on them. A loaded
        # reranker reads them from its folder only when asked (a save), not at every server start
        self._trained_on = trained_on
        self._unread: Path | None = None  # the folder it was loaded from, until they are read

    @property
    def trained_on(self) -> Judgments | None:
        if self._unread is not None:
            self._trained_on, self._unread = read_trained_on(self._unread), None
        return self._trained_on

    @trained_on.setter
    def trained_on(self, judged: Judgments | None) -> None:
        self._trained_on, self._unread = judged, None

    def save(self, path: str | Path) -> None:
        """Model weights (npz + JSON, with the lexical settings it was trained against), the
        popularity feature it was trained with and the judged queries it was fitted on."""
        self.model.save(path, lexical=self.lexical)
        np.save(Path(path) / "log_popularity.npy", self.extractor.log_popularity, allow_pickle=False)
        if self.trained_on is not None:
            j = self.trained_on
            (Path(path) / TRAINED_ON).write_text(json.dumps({"queries": j.queries, "relevance": j.relevance}))

    @classmethod
    def load(cls, path: str | Path, searcher: HybridSearcher) -> LTRReranker:
        """A saved reranker for ``searcher``'s catalog (its tokenizer matches query terms in titles)."""
        p = Path(path)
        if not (p / MANIFEST).exists() or not (p / "log_popularity.npy").exists():
            raise FileNotFoundError(f"{p}: not a saved reranker (needs ltr.json, ltr_weights.npz, log_popularity.npy)")
        log_pop = np.load(p / "log_popularity.npy", allow_pickle=False)
        manifest = LTRManifest.read(p)  # read once: the model's config and the lexical settings it records
        model = PairwiseRanker.load(p, manifest)
        names = model.feature_names or FEATURE_NAMES
        extractor = FeatureExtractor(searcher.catalog, searcher.lexical.tokenizer, np.expm1(log_pop), names)
        loaded = cls(extractor, model, _trained_lexical(manifest, searcher.lexical.config))
        loaded._unread = p  # read_trained_on: None when saved before they were recorded
        return loaded

    def rerank(self, query: str, results: Results) -> Results:
        if len(results) == 0:
            return results
        s = self.model.score(self.extractor.features(query, results))
        order = np.argsort(-s, kind="stable")
        return Results(results.ids[order], s[order])


def training_groups(
    searcher: HybridSearcher,
    extractor: FeatureExtractor,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    depth: int,
) -> tuple[list[Features], list[npt.NDArray[np.float32]]]:
    """First-stage candidates for each judged query, their features and graded labels. Every query
    is fused (no lexical shortcut): a searcher with a reranker attached fuses every query."""
    fused = replace(searcher.config, lexical_shortcut=0)
    groups: list[Features] = []
    labels: list[npt.NDArray[np.float32]] = []
    ids = searcher.catalog.ids
    for qid, text in queries.items():
        rel = relevance.get(qid, {})
        res = searcher.search(text, depth, match_features=True, config=fused)
        if len(res) < 2:
            continue
        groups.append(extractor.features(text, res))
        labels.append(np.array([rel.get(ids[r], 0.0) for r in res.ids.tolist()], dtype=np.float32))
    return groups, labels


def fit_reranker(
    searcher: HybridSearcher,
    queries: Mapping[str, str],
    relevance: Mapping[str, Mapping[str, float]],
    *,
    popularity: npt.ArrayLike | None = None,
    config: LTRConfig | None = None,
) -> LTRReranker:
    """Train an :class:`LTRReranker` on judged queries (e.g. ``Judgments.queries/.relevance``)."""
    cfg = config or LTRConfig()
    extractor = FeatureExtractor(searcher.catalog, searcher.lexical.tokenizer, popularity, cfg.feature_names)
    groups, labels = training_groups(searcher, extractor, queries, relevance, cfg.depth)
    model = PairwiseRanker(cfg, extractor.names).fit(groups, labels)
    judged = Judgments(dict(queries), {q: dict(relevance[q]) for q in queries if q in relevance})
    return LTRReranker(extractor, model, searcher.lexical.config, judged)


def read_trained_on(folder: Path) -> Judgments | None:
    """The judged queries recorded in ``folder/judgments.json`` (None when absent: a reranker saved
    before they were recorded); raises naming the file and field when it is malformed."""
    f = folder / TRAINED_ON
    if not f.exists():
        return None
    try:
        raw = json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{f}: not JSON ({exc})") from exc
    queries, relevance = (raw.get(k) if isinstance(raw, dict) else None for k in ("queries", "relevance"))
    if not isinstance(queries, dict) or not all(isinstance(v, str) for v in queries.values()):
        raise ValueError(f"{f}: field 'queries' must map query ids to query texts")
    if not isinstance(relevance, dict) or not all(
        isinstance(r, dict) and all(isinstance(g, int | float) for g in r.values()) for r in relevance.values()
    ):
        raise ValueError(f"{f}: field 'relevance' must map query ids to {{item id: grade}}")
    try:
        return Judgments(
            {str(q): t for q, t in queries.items()},
            {str(q): {str(i): float(g) for i, g in r.items()} for q, r in relevance.items()},
        )
    except ValueError as exc:  # relevance for a query id not in 'queries'
        raise ValueError(f"{f}: {exc}") from exc


def _trained_lexical(manifest: LTRManifest, current: LexicalConfig) -> LexicalConfig | None:
    """The lexical settings recorded in ``manifest`` (None for a reranker saved before they were),
    with a warning naming both values when they differ from ``current``: the bm25 / bm25_rel
    features (and the title-match terms) then differ from what the model was trained on."""
    raw, f = manifest.lexical, manifest.source
    if raw is None:
        log.info("%s: saved without its lexical index settings; not checked against this index", f)
        return None
    try:
        if not isinstance(raw, dict):
            raise TypeError(f"an object expected, got {type(raw).__name__}")
        trained = LexicalConfig.from_json(raw)
    except (TypeError, ValueError) as exc:
        log.warning("%s: unreadable lexical index settings (%s); not checked against this index", f, exc)
        return None
    if trained != current:
        was, now = _flat(trained.to_json()), _flat(current.to_json())
        keys = sorted(k for k in was.keys() | now.keys() if was.get(k) != now.get(k))
        log.warning(
            "%s: LTR reranker trained on a lexical index with other settings: %s; its bm25 features are "
            "shifted: retrain it (shelfwise index --reranker ltr with the judged queries)",
            f,
            ", ".join(f"{k} {was.get(k)!r} (trained) vs {now.get(k)!r} (this index)" for k in keys),
        )
    return trained


def _flat(obj: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """``{"bm25": {"k1": 0.9}}`` -> ``{"bm25.k1": 0.9}``."""
    out: dict[str, object] = {}
    for k, v in obj.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
