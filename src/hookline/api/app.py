"""The management API on FastAPI: not the hot path, so we take its OpenAPI and validation.

Every route needs `Authorization: Bearer <token>`; the token is compared as a SHA-256
digest in constant time. Errors use the same envelope as `/hooks`.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookline import __version__
from hookline.errors import HooklineError, NotFoundError, envelope, http_error
from hookline.models import DeliveryStatus, EventFilter
from hookline.replay import replay_delivery, replay_event
from hookline.runtime import Runtime, token_digest
from hookline.views import delivery_json, event_json, summary_json


class AuthError(HooklineError):
    """A valid bearer token is required."""


def create_api(runtime: Runtime) -> FastAPI:
    api = FastAPI(
        title="Hookline management API",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    async def require_token(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = runtime.api_token_digest
        if (
            scheme.lower() != "bearer"
            or not token
            or expected is None
            or not hmac.compare_digest(token_digest(token.strip()), expected)
        ):
            raise AuthError()

    auth = [Depends(require_token)]

    @api.exception_handler(HooklineError)
    async def _hookline_error(_request: Request, exc: HooklineError) -> JSONResponse:
        if isinstance(exc, AuthError):
            return JSONResponse(
                envelope("unauthorized", exc.message),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        status, body = http_error(exc)
        return JSONResponse(body, status_code=status)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(envelope("http_error", str(exc.detail)), status_code=exc.status_code)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(envelope("invalid_request", problems), status_code=422)

    @api.get("/api/events", dependencies=auth)
    async def list_events(
        source: str | None = None,
        type: str | None = None,
        status: DeliveryStatus | None = None,
        before: Annotated[str | None, Query(description="an event id: older events only")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """Events, newest first; page with `before=<next_before>`."""
        query = EventFilter(source=source, type=type, status=status, before=before, limit=limit)
        events = await runtime.store.list_events(query)
        next_before = events[-1].id if len(events) == limit else None
        return {"events": [summary_json(e) for e in events], "next_before": next_before}

    @api.get("/api/events/{event_id}", dependencies=auth)
    async def get_event(event_id: str) -> dict[str, Any]:
        """One event with its deliveries and their attempts."""
        event = await runtime.store.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id}")
        deliveries = await runtime.store.deliveries_for(event_id)
        return event_json(event, deliveries, runtime.redactor)

    @api.post("/api/events/{event_id}/replay", dependencies=auth, status_code=202)
    async def replay(event_id: str) -> dict[str, Any]:
        """Run the event through the current routes again, creating new deliveries."""
        created = await replay_event(runtime.config, runtime.store, event_id)
        return {"event_id": event_id, "deliveries": [d.id for d in created]}

    @api.get("/api/deliveries/{delivery_id}", dependencies=auth)
    async def get_delivery(delivery_id: str) -> dict[str, Any]:
        """One delivery with its attempts."""
        delivery = await runtime.store.get_delivery(delivery_id)
        if delivery is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        return delivery_json(delivery, runtime.redactor)

    @api.post("/api/deliveries/{delivery_id}/replay", dependencies=auth, status_code=202)
    async def replay_one(delivery_id: str) -> dict[str, Any]:
        """Start a new attempt series for one delivery (e.g. a dead one, once fixed)."""
        delivery = await replay_delivery(runtime.store, delivery_id)
        return delivery_json(delivery, runtime.redactor)

    return api
