"""HTTP request/response models (pydantic). Only transport concerns live here."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ItemOut(BaseModel):
    id: str
    title: str
    score: float
    category: list[str] = Field(default_factory=list)
    brand: str = ""
    price: float | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    reason: str = ""
    image: str | None = Field(None, description="picture URL (http(s):// or /path) when the catalog has one")
    in_stock: bool = True
    description: str = ""


class FieldMatchOut(BaseModel):
    field: str = Field(description="brand, category or attribute:<key>")
    value: str
    phrase: str


class UnderstoodOut(BaseModel):
    """What query understanding read from the query (price filter, boosted catalog words)."""

    text: str = Field(description="the query retrieval saw (price phrases removed)")
    price_min: float | None = None
    price_max: float | None = None
    matches: list[FieldMatchOut] = Field(default_factory=list)


class FacetValueOut(BaseModel):
    value: str
    count: int
    selected: bool = False


class PriceRangeOut(BaseModel):
    min: float | None = Field(None, description="inclusive lower bound (price_min); null = open")
    max: float | None = Field(None, description="inclusive upper bound (price_max); null = open")
    count: int
    selected: bool = False


class FacetsOut(BaseModel):
    """Counts over the query's top ``depth`` results; each group counted over the results that pass
    the other groups' selections (picking a value gives that many of the counted results)."""

    depth: int
    category_path: list[str] = Field(default_factory=list, description="selected path; `category` is its next level")
    category: list[FacetValueOut] = Field(default_factory=list)
    brand: list[FacetValueOut] = Field(default_factory=list)
    price: list[PriceRangeOut] = Field(default_factory=list)
    priced: int = Field(0, description="counted results that have a price")
    attributes: dict[str, list[FacetValueOut]] = Field(default_factory=dict)


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    items: list[ItemOut]
    understood: UnderstoodOut | None = None
    notices: list[str] = Field(default_factory=list)
    facets: FacetsOut | None = Field(None, description="with facets=true")


class HealthResponse(BaseModel):
    status: str
    items: int
    encoder: str
    events: int = Field(description="history loaded at start + events logged live since")
    events_history: int = Field(
        0, description="behaviour history loaded at start: the events file, or the saved recommender's interactions"
    )
    events_live: int = Field(0, description="events in the durable live log (POST /events)")
    events_applied: int = Field(0, description="last log sequence number the live consumer applied")
    consumer_lag: int = 0
    consumer_running: bool = False
    worker: int = Field(0, description="process id of the serving process that answered (serve --workers N)")


Ranked = list[tuple[str, float, int]]


class ValuationOut(BaseModel):
    """One valuation of a report: who was valued how, and at what cost."""

    method: str
    grain: str
    players: int
    seconds: float
    evaluations: int
    converged: bool
    info: dict[str, float] = Field(default_factory=dict)
    most_valuable: Ranked = Field(description="(name, value, size) rows, most valuable first")
    least_valuable: Ranked = Field(description="(name, value, size) rows, least valuable first")


class RemovalCurveOut(BaseModel):
    """Test metric after removing a growing share of training data, by value order and at random."""

    method: str
    fractions: list[float]
    lowest_first: list[float]
    highest_first: list[float]
    random_mean: list[float]
    random_std: list[float]


class ValuationSummary(BaseModel):
    """GET /valuation/summary: the ``summary.json`` of the last written valuation report."""

    title: str
    values: dict[str, ValuationOut] = Field(description='key: "<what>: <method> by <grain>"')
    removal_curves: dict[str, RemovalCurveOut] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict, description="e.g. noise precision, run time")
    notes: list[str] = Field(default_factory=list)
    label_next: Ranked | None = Field(
        None, description="(group, expected gain, unlabelled items) rows, best first; absent when not computed"
    )
