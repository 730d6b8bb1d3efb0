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


class SearchResponse(BaseModel):
    query: str
    mode: str
    took_ms: float
    items: list[ItemOut]
    understood: UnderstoodOut | None = None
    notices: list[str] = Field(default_factory=list)


class HealthResponse(BaseModel):
    status: str
    items: int
    encoder: str
    events: int = Field(description="history loaded at start + events logged live since")
    events_history: int = 0
    events_live: int = Field(0, description="events in the durable live log (POST /events)")
    events_applied: int = Field(0, description="last log sequence number the live consumer applied")
    consumer_lag: int = 0
    consumer_running: bool = False
