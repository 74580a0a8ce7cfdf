"""Response and request models of the management API: they make the OpenAPI document exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hookline.models import AttemptOutcome, DeliveryStatus

ReplayableStatus = Literal["dead", "retrying"]


class ErrorBody(BaseModel):
    code: str = Field(description="a stable, machine-readable code, e.g. `not_found`")
    message: str


class ErrorEnvelope(BaseModel):
    """Every error the API answers, whatever the status."""

    error: ErrorBody


class EventSummaryOut(BaseModel):
    id: str
    source: str
    external_id: str | None
    type: str | None
    received_at: datetime
    deliveries: dict[str, int] = Field(description="the event's deliveries counted by status")


class EventPage(BaseModel):
    events: list[EventSummaryOut]
    next_before: str | None = Field(description="pass as `before` for the next (older) page")


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    route: str
    action_index: int
    action: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    history: list[AttemptOut] = Field(description="every attempt; empty in listings")


class EventOut(BaseModel):
    id: str
    source: str
    external_id: str | None
    type: str | None
    received_at: datetime
    content_type: str | None
    headers: dict[str, str] = Field(description="as received; credentials and signatures ***")
    query: dict[str, str]
    payload: Any = Field(description="the parsed body (JSON, form fields or text)")
    size: int = Field(description="the raw body's size in bytes")
    deliveries: list[DeliveryOut]


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class Count(BaseModel):
    count: int


class EventReplayOut(BaseModel):
    event_id: str
    deliveries: list[str] = Field(description="ids of the deliveries created")


class ReplayRequest(BaseModel):
    """Which failed deliveries to replay; every given field must match."""

    statuses: list[ReplayableStatus] = Field(
        default_factory=list, description="default: dead and retrying"
    )
    route: str | None = None
    source: str | None = None
    action: str | None = None


class ReplayJobOut(BaseModel):
    id: str
    state: Literal["running", "done", "failed"]
    total: int = Field(description="deliveries matching when the job started")
    replayed: int
    skipped: int = Field(description="in flight (or gone) when their turn came")
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class DryRunRequest(BaseModel):
    event_id: str
    route: str


class RenderedActionOut(BaseModel):
    index: int
    name: str
    fields: dict[str, Any] | None = Field(description="what would be sent; null on error")
    error: str | None


class DryRunOut(BaseModel):
    event_id: str
    route: str
    source_matches: bool
    condition: str | None
    condition_matches: bool
    condition_error: str | None
    would_deliver: bool
    actions: list[RenderedActionOut]


class SourceOut(BaseModel):
    name: str
    path: str = Field(description="where the source receives webhooks (POST)")
    provider: str
    verify: dict[str, Any] = Field(description="the verifier's settings; secrets ***")
    id: str | None
    type: str | None
    max_body_size: int


class ActionOut(BaseModel):
    index: int
    name: str
    config: dict[str, Any] = Field(description="the action's settings; secrets ***")


class RouteStatsOut(BaseModel):
    matched: int = Field(description="events that matched the route")
    deliveries: dict[str, int] = Field(description="its deliveries by status")


class RouteOut(BaseModel):
    name: str
    source: str
    condition: str | None
    actions: list[ActionOut]
    last_24h: RouteStatsOut


class LastErrorOut(BaseModel):
    delivery_id: str
    at: datetime
    error: str


class QueueOut(BaseModel):
    depth: int = Field(description="deliveries still owed: pending, retrying, in flight")
    due: int = Field(description="owed deliveries whose time has come")
    oldest_due_at: datetime | None
    oldest_due_age_seconds: float | None
    stuck: int = Field(description="in flight past their lease")
    last_error: LastErrorOut | None


class StatsOut(BaseModel):
    deliveries: dict[str, int] = Field(description="all deliveries by status")
    routes_last_24h: dict[str, RouteStatsOut]
    queue: QueueOut
