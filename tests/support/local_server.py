"""A small aiohttp server on 127.0.0.1 that tests start in-process or as a separate process.

In-process: `async with Server(...) as server:` binds an ephemeral port, `server.url` says
where. Standalone: `python -m tests.support.<module> --port 0` prints one line,
`listening on http://127.0.0.1:PORT`, and serves until SIGINT/SIGTERM, so acceptance tests
that run `hookline run` as a subprocess can point it at the fake and script it over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from types import TracebackType
from typing import Any, Self

from aiohttp import web


class LocalServer:
    """Base class: subclasses add their routes in `routes()`."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.closing = asyncio.Event()  # set on close: releases handlers that wait (slow mode)
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Self:
        app = web.Application()
        self.routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def aclose(self) -> None:
        self.closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def json_body(request: web.Request) -> dict[str, Any]:
    """A control request's JSON object, or a 400 naming the problem."""
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def standalone_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    return parser


def serve_forever(server: LocalServer) -> None:
    """Run `server` until SIGINT or SIGTERM, announcing its URL on stdout first."""
    asyncio.run(_serve(server))


async def _serve(server: LocalServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        sys.stdout.write(f"listening on {server.url}\n")
        sys.stdout.flush()
        await stop.wait()
