"""The ASGI application: a thin dispatcher in front of four parts.

`/hooks/*` goes straight to the raw ingest handler (the hot path); `/healthz`, `/readyz`
and `/metrics` are answered here; `/ui` is the dashboard; everything else goes to the
management API. The lifespan starts and stops the runtime (store, token, worker) and the
bulk replay jobs.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from hookline import metrics
from hookline.api.app import create_api
from hookline.auth import bearer
from hookline.bulk import BulkReplays
from hookline.errors import HooklineError, TooManyAttemptsError, envelope
from hookline.ingest.app import IngestHandler
from hookline.runtime import Runtime
from hookline.ui import create_ui

log = structlog.get_logger("hookline")
_JSON = [(b"content-type", b"application/json")]


def create_app(runtime: Runtime) -> Any:
    ingest = IngestHandler(runtime.config, runtime.store, clock=runtime.clock)
    jobs = BulkReplays(runtime.store)
    api = create_api(runtime, jobs)
    ui = create_ui(runtime, jobs)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/hooks/"):
                await ingest(scope, receive, send)
            elif path == "/healthz":
                await _json(send, 200, {"status": "ok"})
            elif path == "/readyz":
                await _ready(runtime, send)
            elif path == "/metrics":
                await _metrics(runtime, scope, send)
            elif path == "/ui" or path.startswith("/ui/"):
                await ui(scope, receive, send)
            else:
                await api(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(runtime, jobs, receive, send)
        else:
            await api(scope, receive, send)

    return app


async def _ready(runtime: Runtime, send: Send) -> None:
    try:
        await runtime.store.ping()
    except HooklineError as exc:
        await _json(send, 503, {"status": "unavailable", "reason": exc.message})
        return
    await _json(send, 200, {"status": "ready"})


async def _metrics(runtime: Runtime, scope: Scope, send: Send) -> None:
    if runtime.config.api.protect_metrics:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = (scope.get("client") or (None,))[0]
        try:
            right = runtime.wrong_tokens.admit(client, bearer(headers), runtime.api_token_digest)
        except TooManyAttemptsError as limited:
            await _json(send, 429, envelope("too_many_attempts", limited.message),
                        headers=((b"retry-after", str(limited.retry_after).encode()),))  # fmt: skip
            return
        if not right:
            await _json(send, 401, envelope("unauthorized", "a valid bearer token is required"))
            return
    try:
        body = await metrics.exposition(runtime.store, runtime.clock())
    except HooklineError as exc:
        await _json(send, 503, envelope("storage_unavailable", exc.message))
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", metrics.CONTENT_TYPE.encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*_JSON, *headers]})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


async def _lifespan(runtime: Runtime, jobs: BulkReplays, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await runtime.start()
            except HooklineError as exc:
                await send({"type": "lifespan.startup.failed", "message": exc.message})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await jobs.aclose()
            await runtime.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
