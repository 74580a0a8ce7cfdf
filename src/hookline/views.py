"""How events, deliveries and attempts are shown (API and CLI), with secrets masked."""

from __future__ import annotations

from typing import Any

from hookline.errors import MalformedPayloadError
from hookline.ingest.payload import parse_payload
from hookline.models import Attempt, Delivery, Event
from hookline.redact import Redactor, redact_headers
from hookline.store.base import EventSummary


def summary_json(event: EventSummary) -> dict[str, Any]:
    return {
        "id": event.id,
        "source": event.source,
        "external_id": event.external_id,
        "type": event.type,
        "received_at": event.received_at.isoformat(),
        "deliveries": event.deliveries,
    }


def event_json(event: Event, deliveries: list[Delivery], redactor: Redactor) -> dict[str, Any]:
    try:
        payload = parse_payload(event.content_type, event.body)
    except MalformedPayloadError:
        payload = None
    return {
        "id": event.id,
        "source": event.source,
        "external_id": event.external_id,
        "type": event.type,
        "received_at": event.received_at.isoformat(),
        "content_type": event.content_type,
        "headers": redactor.deep(redact_headers(event.headers)),
        "query": redactor.deep(event.query),
        "payload": redactor.deep(payload),
        "size": len(event.body),
        "deliveries": [delivery_json(d, redactor) for d in deliveries],
    }


def delivery_json(delivery: Delivery, redactor: Redactor) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "route": delivery.route,
        "action_index": delivery.action_index,
        "action": delivery.action,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "next_attempt_at": (
            delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None
        ),
        "last_error": redactor.optional(delivery.last_error),
        "created_at": delivery.created_at.isoformat(),
        "updated_at": delivery.updated_at.isoformat(),
        "history": [attempt_json(a, redactor) for a in delivery.history],
    }


def attempt_json(attempt: Attempt, redactor: Redactor) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": attempt.started_at.isoformat(),
        "duration_ms": round(attempt.duration_ms, 3),
        "outcome": str(attempt.outcome),
        "status_code": attempt.status_code,
        "response_excerpt": redactor.optional(attempt.response_excerpt),
        "error": redactor.optional(attempt.error),
    }
