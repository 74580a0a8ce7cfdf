"""An HTTP sink: records every request it gets and answers as scripted.

Modes: "ok" (200), "status" (any status, optionally with `Retry-After`), "slow" (records the
request, then answers only after `delay` seconds, or never until closed when in-process with
no delay: a deterministic timeout) and "redirect" (a 3xx with `Location`).

In-process::

    async with HttpSink() as sink:
        sink.set_mode("status", status=503, retry_after="7", times=1)
        ...; sink.requests[0].json()

Standalone (prints `listening on http://127.0.0.1:PORT`)::

    python -m tests.support.http_sink --port 0
    POST /_control/mode {"mode": "status", "status": 503, "retry_after": "7", "times": 1}
    POST /_control/mode {"mode": "slow", "delay": 30} | {"mode": "redirect", "location": "..."}
    GET  /_control/requests   every request recorded (body as UTF-8 text)
    POST /_control/reset      forget everything, back to mode "ok"
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import orjson
from aiohttp import web

from tests.support.local_server import LocalServer, json_body, serve_forever, standalone_parser

Mode = Literal["ok", "status", "slow", "redirect"]
MODES: tuple[str, ...] = get_args(Mode)
STANDALONE_SLOW_DELAY = 30.0  # seconds; a standalone sink cannot wait "until closed"


@dataclass
class RecordedRequest:
    """One request as received: method, path with query, headers and raw body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return orjson.loads(self.body)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "received_at": self.received_at.isoformat(),
        }


class HttpSink(LocalServer):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.requests: list[RecordedRequest] = []
        self.set_mode("ok")

    def set_mode(
        self,
        mode: Mode,
        *,
        status: int | None = None,
        retry_after: str | None = None,
        body: str = "ok",
        delay: float | None = None,
        location: str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer every request this way; with `times`, only the next N, then "ok"."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        default_status = {"ok": 200, "status": 500, "slow": 200, "redirect": 302}[mode]
        self.mode: Mode = mode
        self.status = status or default_status
        self.retry_after = retry_after
        self.body = body
        self.delay = delay
        self.location = location or "/redirected"
        self._times = times

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/_control/mode", self._control_mode)
        app.router.add_get("/_control/requests", self._control_requests)
        app.router.add_post("/_control/reset", self._control_reset)
        app.router.add_route("*", "/{tail:.*}", self._record)

    async def _record(self, request: web.Request) -> web.Response:
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path_qs,
                headers=_headers(request),
                body=await request.read(),
                received_at=datetime.now(UTC),
            )
        )
        mode, status, delay = self.mode, self.status, self.delay
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        if mode == "redirect":
            headers["Location"] = self.location
        if self._times is not None:
            self._times -= 1
            if self._times <= 0:
                self.set_mode("ok")
        if mode == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), delay)
        return web.Response(status=status, text=self.body, headers=headers)

    async def _control_mode(self, request: web.Request) -> web.Response:
        data = await json_body(request)
        mode = data.get("mode", "ok")
        delay = data.get("delay", STANDALONE_SLOW_DELAY if mode == "slow" else None)
        try:
            self.set_mode(
                mode,
                status=data.get("status"),
                retry_after=None if data.get("retry_after") is None else str(data["retry_after"]),
                body=str(data.get("body", "ok")),
                delay=delay,
                location=data.get("location"),
                times=data.get("times"),
            )
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.json_response({"mode": self.mode})

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in self.requests])

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.requests.clear()
        self.set_mode("ok")
        return web.json_response({"mode": self.mode})


def _headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def main(argv: list[str] | None = None) -> None:
    parser = standalone_parser("An HTTP sink that records requests, for tests.")
    args = parser.parse_args(argv)
    serve_forever(HttpSink(host=args.host, port=args.port))


if __name__ == "__main__":
    main()
