"""Dashboard pages about events: the live list, one event, replays of it, the dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from hookline.api.events import raw_response
from hookline.dryrun import DryRun, dry_run
from hookline.errors import HooklineError, NotFoundError, StoreError, StoreUnavailableError
from hookline.models import DeliveryStatus, EventFilter
from hookline.replay import replay_event
from hookline.ui.app import Dashboard, guarded, secure
from hookline.views import event_json

PAGE_SIZE = 50
NOTICES = {
    "event-replayed": "The event went through the routes again; new deliveries are queued.",
    "event-replayed-none": "The event went through the routes again; no route matched it.",
    "delivery-replayed": "The delivery is queued again; watch its attempts below.",
    "delivery-busy": "That delivery is being attempted right now; replay it once it ends.",
}


def parse_time(value: str | None) -> datetime | None:
    """`YYYY-MM-DDTHH:MM` from a datetime-local input, read as UTC; anything else: None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one past year 9999 once in UTC
        return None


def event_filter(params: QueryParams, *, limit: int = PAGE_SIZE) -> EventFilter:
    status = params.get("status") or None
    return EventFilter(
        source=params.get("source") or None,
        type=params.get("type") or None,
        status=DeliveryStatus(status) if status in set(DeliveryStatus) else None,
        text=(params.get("q") or "").strip()[:200] or None,
        since=parse_time(params.get("since")),
        until=parse_time(params.get("until")),
        before=params.get("before") or None,
        limit=limit,
    )


def filter_query(query: EventFilter, **changes: Any) -> str:
    """The filter as a query string (for links and the poller), with `changes` applied."""
    values: dict[str, Any] = {
        "source": query.source,
        "type": query.type,
        "status": str(query.status) if query.status else None,
        "q": query.text,
        "since": query.since.strftime("%Y-%m-%dT%H:%M") if query.since else None,
        "until": query.until.strftime("%Y-%m-%dT%H:%M") if query.until else None,
        "before": query.before,
    }
    values.update(changes)
    return urlencode({k: v for k, v in values.items() if v})


async def _events_context(dashboard: Dashboard, query: EventFilter) -> dict[str, Any]:
    store = dashboard.runtime.store
    events = await store.list_events(query)
    counts = await store.count_by_status(query)
    return {
        "events": events,
        "counts": counts,
        "query": query,
        "filter_query": filter_query,
        "next_before": events[-1].id if len(events) == query.limit else None,
        "now": dashboard.runtime.clock(),
    }


def routes(dashboard: Dashboard) -> list[Route]:
    runtime = dashboard.runtime
    store = runtime.store

    async def events(request: Request) -> Response:
        query = event_filter(request.query_params)
        context = await _events_context(dashboard, query)
        return await dashboard.page(
            request,
            request.state.session,
            "events.html",
            sources=sorted(runtime.config.sources),
            live=query.before is None,
            **context,
        )

    async def event_rows(request: Request) -> Response:
        context = await _events_context(dashboard, event_filter(request.query_params))
        part = request.query_params.get("part", "rows")
        template = "_event_counts.html" if part == "counts" else "_event_rows.html"
        return secure(HTMLResponse(dashboard.render(template, **context)))

    async def event(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        found = await store.get_event(event_id)
        if found is None:
            return await _missing(dashboard, request, f"No event {event_id} is stored.")
        shown = event_json(found, await store.deliveries_for(event_id), runtime.redactor)
        return await dashboard.page(
            request,
            request.state.session,
            "event.html",
            event=shown,
            notice=NOTICES.get(request.query_params.get("notice", "")),
            route_names=[r.name for r in runtime.config.routes if r.source == found.source],
        )

    async def deliveries(request: Request) -> Response:
        event_id = request.path_params["event_id"]
        found = await store.get_event(event_id)
        if found is None:
            return secure(Response("gone", status_code=404))
        shown = event_json(found, await store.deliveries_for(event_id), runtime.redactor)
        csrf = dashboard.csrf(request.state.session)
        return secure(HTMLResponse(dashboard.render("_deliveries.html", event=shown, csrf=csrf)))

    async def raw(request: Request) -> Response:
        found = await store.get_event(request.path_params["event_id"])
        if found is None:
            return await _missing(dashboard, request, "No such event is stored.")
        return secure(raw_response(found.id, found.body))

    async def replay(request: Request) -> Response:
        await dashboard.check_post(request, request.state.session)
        event_id = request.path_params["event_id"]
        try:
            created = await replay_event(runtime.config, store, event_id)
        except NotFoundError:
            return await _missing(dashboard, request, f"No event {event_id} is stored.")
        notice = "event-replayed" if created else "event-replayed-none"
        return RedirectResponse(f"/ui/events/{event_id}?notice={notice}", status_code=303)

    async def replay_delivery(request: Request) -> Response:
        form = await dashboard.check_post(request, request.state.session)
        delivery_id = request.path_params["delivery_id"]
        try:
            delivery = await store.replay_delivery(delivery_id, now=runtime.clock())
            notice = "delivery-replayed"
        except NotFoundError:
            return await _missing(dashboard, request, f"No delivery {delivery_id} is stored.")
        except StoreUnavailableError:
            raise
        except StoreError:
            found = await store.get_delivery(delivery_id)
            assert found is not None
            delivery, notice = found, "delivery-busy"
        back = form.get("back", "").rstrip("?")
        if back.startswith("/ui/failures"):  # replayed from the failures list: stay there
            joiner = "&" if "?" in back else "?"
            return RedirectResponse(f"{back}{joiner}notice={notice}", status_code=303)
        return RedirectResponse(
            f"/ui/events/{delivery.event_id}?notice={notice}#{delivery.id}", status_code=303
        )

    async def delivery(request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]
        found = await store.get_delivery(delivery_id)
        if found is None:
            return await _missing(dashboard, request, f"No delivery {delivery_id} is stored.")
        return RedirectResponse(f"/ui/events/{found.event_id}#{found.id}", status_code=303)

    async def dry(request: Request) -> Response:
        event_id = (request.query_params.get("event_id") or "").strip()
        route_name = request.query_params.get("route") or ""
        result: DryRun | None = None
        error: str | None = None
        if event_id and route_name:
            try:
                result = await dry_run(runtime.config, store, runtime.redactor,
                                       event_id=event_id, route_name=route_name)  # fmt: skip
            except StoreUnavailableError:
                raise
            except HooklineError as exc:
                error = runtime.redactor.text(exc.message)
        recent = await store.list_events(EventFilter(limit=30))
        return await dashboard.page(
            request,
            request.state.session,
            "dryrun.html",
            event_id=event_id,
            route_name=route_name,
            route_names=[r.name for r in runtime.config.routes],
            recent=recent,
            result=result,
            error=error,
        )

    return [
        Route("/ui/events", guarded(dashboard, events)),
        Route("/ui/events/rows", guarded(dashboard, event_rows, fragment=True)),
        Route("/ui/events/{event_id}", guarded(dashboard, event)),
        Route("/ui/events/{event_id}/raw", guarded(dashboard, raw)),
        Route("/ui/events/{event_id}/deliveries", guarded(dashboard, deliveries, fragment=True)),
        Route("/ui/events/{event_id}/replay", guarded(dashboard, replay), methods=["POST"]),
        Route("/ui/deliveries/{delivery_id}", guarded(dashboard, delivery)),
        Route(
            "/ui/deliveries/{delivery_id}/replay",
            guarded(dashboard, replay_delivery),
            methods=["POST"],
        ),
        Route("/ui/dry-run", guarded(dashboard, dry)),
    ]


async def _missing(dashboard: Dashboard, request: Request, message: str) -> Response:
    return await dashboard.page(
        request, request.state.session, "error.html", status=404, title="Not found", message=message
    )
