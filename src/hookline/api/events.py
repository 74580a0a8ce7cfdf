"""`/api/events`: search (cursor pagination), detail, raw body and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from hookline.api.schemas import EventOut, EventPage, EventReplayOut
from hookline.errors import NotFoundError
from hookline.models import DeliveryStatus, EventFilter
from hookline.replay import replay_event
from hookline.runtime import Runtime
from hookline.views import event_json, summary_json

RAW_BODY: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the body exactly as received, as a download",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def event_filter(
    source: str | None = None,
    type: str | None = None,
    status: Annotated[
        DeliveryStatus | None, Query(description="events with a delivery in this status")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in the raw body (case-insensitive)")
    ] = None,
    since: Annotated[datetime | None, Query(description="received at or after")] = None,
    until: Annotated[datetime | None, Query(description="received before")] = None,
    before: Annotated[str | None, Query(description="an event id: older events only")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventFilter:
    return EventFilter(
        source=source,
        type=type,
        status=status,
        text=q or None,
        since=since,
        until=until,
        before=before,
        limit=limit,
    )


def events_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["events"])
    store = runtime.store

    @router.get("/events", response_model=EventPage)
    async def list_events(
        query: Annotated[EventFilter, Depends(event_filter)],
    ) -> dict[str, Any]:
        """Events, newest first; page with `before=<next_before>`."""
        events = await store.list_events(query)
        next_before = events[-1].id if len(events) == query.limit else None
        return {"events": [summary_json(e) for e in events], "next_before": next_before}

    @router.get("/events/{event_id}", response_model=EventOut)
    async def get_event(event_id: str) -> dict[str, Any]:
        """One event with its deliveries and their attempts."""
        event = await store.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id}")
        deliveries = await store.deliveries_for(event_id)
        return event_json(event, deliveries, runtime.redactor)

    @router.get("/events/{event_id}/raw", response_class=Response, responses=RAW_BODY)
    async def raw_body(event_id: str) -> Response:
        """The raw body, as a download (never rendered by the browser)."""
        event = await store.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id}")
        return raw_response(event.id, event.body)

    @router.post("/events/{event_id}/replay", status_code=202, response_model=EventReplayOut)
    async def replay(event_id: str) -> dict[str, Any]:
        """Run the event through the current routes again, creating new deliveries."""
        created = await replay_event(runtime.config, store, event_id)
        return {"event_id": event_id, "deliveries": [d.id for d in created]}

    return router


def raw_response(event_id: str, body: bytes) -> Response:
    """A download that a browser never renders: a stored body may be hostile HTML."""
    return Response(
        content=body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{event_id}.body"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
