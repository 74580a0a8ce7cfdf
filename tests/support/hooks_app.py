"""The real ASGI app on a real SQLite store, for driving `/hooks/*` in-process.

`hooks_app(tmp_path, sources, now=...)` yields an httpx client (ASGITransport) and the store,
with the runtime started as the lifespan would, no worker, and a fixed clock when `now` is
given, so signature timestamps in vectors are judged against a known moment.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from hookline.app import create_app
from hookline.config.loader import loads
from hookline.models import EventFilter, utcnow
from hookline.runtime import Runtime
from hookline.store.base import EventSummary
from hookline.store.sqlite import SqliteStore

TOKEN = "test-api-token-0123456789abcdef"


@asynccontextmanager
async def hooks_app(
    tmp_path: Path,
    sources: dict[str, Any],
    *,
    now: datetime | None = None,
    client_ip: str = "127.0.0.1",
) -> AsyncIterator[tuple[httpx.AsyncClient, SqliteStore]]:
    """A started gateway with `sources` (YAML-shaped dicts) and no routes."""
    text = json.dumps({"sources": sources, "api": {"token": TOKEN}})  # JSON is YAML
    config = loads(text, file="test.yaml", environ={})
    store = SqliteStore(tmp_path / "hookline.db")
    runtime = Runtime(
        config, store, with_worker=False, clock=utcnow if now is None else lambda: now
    )
    await runtime.start()
    transport = httpx.ASGITransport(app=create_app(runtime), client=(client_ip, 40000))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://hookline.test"
        ) as client:
            yield client, store
    finally:
        await runtime.stop()


async def stored(store: SqliteStore) -> list[EventSummary]:
    """Every stored event, newest first."""
    return await store.list_events(EventFilter(limit=1000))
