"""The ASGI application: a thin dispatcher in front of three parts.

`/hooks/*` goes straight to the raw ingest handler (the hot path); `/healthz` and `/readyz`
are answered here; everything else goes to the management API. The lifespan starts and
stops the runtime (store, token, worker).
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from hookline.api.app import create_api
from hookline.errors import HooklineError
from hookline.ingest.app import IngestHandler
from hookline.runtime import Runtime

log = structlog.get_logger("hookline")
_JSON = [(b"content-type", b"application/json")]


def create_app(runtime: Runtime) -> Any:
    ingest = IngestHandler(runtime.config, runtime.store, clock=runtime.clock)
    api = create_api(runtime)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/hooks/"):
                await ingest(scope, receive, send)
            elif path == "/healthz":
                await _json(send, 200, {"status": "ok"})
            elif path == "/readyz":
                await _ready(runtime, send)
            else:
                await api(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(runtime, receive, send)
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


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})


async def _lifespan(runtime: Runtime, receive: Receive, send: Send) -> None:
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
            await runtime.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
