"""The nouns of DESIGN.md as plain data: events, deliveries and attempts."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # sorts like the values it encodes
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # every 10-bit value as 2 characters
_SHIFTS = tuple(range(120, -1, -10))


_last_id = 0
_random = random.Random(os.urandom(32))  # noqa: S311 - ids are unique and ordered, not secret
_id_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A time-ordered id (48-bit milliseconds + 80 random bits, Crockford base32).

    Sorting ids sorts by creation time, which gives the API stable, cheap cursors. Within
    one millisecond, ids from this process keep increasing (as monotonic ULIDs do).
    """
    global _last_id
    with _id_lock:
        value = (time.time_ns() // 1_000_000) << 80 | _random.getrandbits(80)
        if value <= _last_id:
            value = _last_id + 1
        _last_id = value
    value <<= 2  # 130 bits: the 128 left-aligned in 26 characters of 5 bits
    return prefix + "_" + "".join([_PAIRS[(value >> s) & 1023] for s in _SHIFTS])


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An inbound request that passed verification, about to be stored."""

    id: str
    source: str
    external_id: str | None
    type: str | None
    received_at: datetime
    content_type: str | None
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A (route, action) owed for an event, created in the event's transaction."""

    id: str
    route: str
    action_index: int
    action: str
    error: str | None = None  # set when the route's condition failed: the delivery starts dead


@dataclass(frozen=True, slots=True)
class IngestResult:
    event_id: str
    is_duplicate: bool


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    source: str
    external_id: str | None
    type: str | None
    received_at: datetime
    content_type: str | None
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: str
    number: int
    started_at: datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
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
    history: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery leased to one worker, with the event it is for."""

    delivery: Delivery
    event: Event
    series_attempt: int  # 1 for the first try since creation or the last replay
    progress: int = 0  # sends an action made of several already did in this series


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """What one try of a delivery produced, as the worker reports it."""

    started_at: datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None = None
    response_excerpt: str | None = None
    error: str | None = None
    progress: int | None = None  # how far a multi-send action got; None: unchanged


@dataclass(frozen=True, slots=True)
class EventFilter:
    source: str | None = None
    type: str | None = None
    status: DeliveryStatus | None = None
    before: str | None = None  # an event id: return older events only
    limit: int = 50
    text: str | None = None  # a case-insensitive substring of the raw body
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before


JSONDict = dict[str, Any]
