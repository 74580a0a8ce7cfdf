"""Prometheus metrics: counted where things happen, queue gauges read from the store on scrape.

Counters and histograms live in one registry of this module (a process has one ingest and
at most one worker), so counting on the ingest hot path is a dictionary lookup and an add.
Gauges that describe the database (deliveries by status, queue depth, oldest due age,
stuck leases) are read from the store when `/metrics` is scraped, so they are true for
every process sharing the database, not just this one.

`/metrics` needs no token unless `api.protect_metrics: true`: Prometheus scrapers rarely
carry credentials, the metrics hold no secret (names of sources, routes' actions and
counts only), and Hookline binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from hookline.errors import (
    ForbiddenError,
    HooklineError,
    MalformedPayloadError,
    PayloadTooLargeError,
    StoreError,
    UnknownSourceError,
    VerificationError,
)
from hookline.models import DeliveryStatus, EventFilter
from hookline.store.base import Store

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
CONTENT_TYPE = CONTENT_TYPE_LATEST

EVENTS_RECEIVED = Counter(
    "hookline_events_received",
    "Inbound webhook requests by source and outcome.",
    ["source", "outcome"],
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "hookline_ingest_duration_seconds",
    "Time from request to answer on /hooks, by source (commit included).",
    ["source"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
ATTEMPT_SECONDS = Histogram(
    "hookline_attempt_duration_seconds",
    "Duration of delivery attempts, by action and outcome (succeeded, retry, dead).",
    ["action", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
DELIVERIES = Gauge(
    "hookline_deliveries",
    "Deliveries in the database by status.",
    ["status"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "hookline_queue_depth",
    "Deliveries still owed (pending, retrying or in flight).",
    registry=REGISTRY,
)
QUEUE_DUE = Gauge("hookline_queue_due", "Owed deliveries whose time has come.", registry=REGISTRY)
OLDEST_DUE_AGE = Gauge(
    "hookline_queue_oldest_due_age_seconds",
    "How long the longest-waiting due delivery has been due (0 when none is).",
    registry=REGISTRY,
)
STUCK = Gauge(
    "hookline_deliveries_stuck",
    "Deliveries in flight past their lease (their worker is probably gone).",
    registry=REGISTRY,
)

UNKNOWN_SOURCE = ""  # the label for requests to unconfigured sources (names are untrusted)

_OUTCOMES: tuple[tuple[type[HooklineError], str], ...] = (
    (VerificationError, "rejected_signature"),
    (PayloadTooLargeError, "too_large"),
    (MalformedPayloadError, "malformed"),
    (UnknownSourceError, "unknown_source"),
    (ForbiddenError, "forbidden_address"),
    (StoreError, "unavailable"),
)


def ingest_outcome(exc: HooklineError) -> str:
    """The `outcome` label for an ingest that failed with `exc`."""
    for kind, outcome in _OUTCOMES:
        if isinstance(exc, kind):
            return outcome
    return "error"


def observe_attempt(action: str, outcome: str, seconds: float) -> None:
    ATTEMPT_SECONDS.labels(action, outcome).observe(seconds)


async def exposition(store: Store, now: datetime) -> bytes:
    """The text format, with the database gauges read now."""
    counts = await store.count_by_status(EventFilter())
    for status in DeliveryStatus:
        DELIVERIES.labels(str(status)).set(counts.get(str(status), 0))
    health = await store.queue_health(now)
    QUEUE_DEPTH.set(health.depth)
    QUEUE_DUE.set(health.due)
    STUCK.set(health.stuck)
    age = 0.0 if health.oldest_due_at is None else (now - health.oldest_due_at).total_seconds()
    OLDEST_DUE_AGE.set(max(age, 0.0))
    return generate_latest(REGISTRY)
