"""Fixtures for action tests: a real HTTP session behind the outbound guard, and local servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from hookline.actions.base import ActionContext
from hookline.actions.outbound import GuardedResolver, OutboundGuard
from hookline.templating import RenderContext
from tests.support.fake_telegram import FakeTelegram
from tests.support.http_sink import HttpSink

PAYLOAD: dict[str, Any] = {
    "id": "evt_123",
    "type": "payment_intent.succeeded",
    "data": {
        "object": {
            "amount": 500000,
            "currency": "rub",
            "metadata": {"order_id": "123", "client": "Ivan"},
        }
    },
}

MakeContext = Callable[..., AbstractAsyncContextManager[ActionContext]]


def render_context(payload: Any = None) -> RenderContext:
    return RenderContext(
        event={"id": "ev_1", "type": "payment_intent.succeeded", "source": "stripe"},
        payload=PAYLOAD if payload is None else payload,
        headers={"content-type": "application/json"},
        query={},
    )


@asynccontextmanager
async def action_context(
    *,
    allow_private_networks: bool = True,
    payload: Any = None,
    timeout: timedelta = timedelta(seconds=5),
    progress: int = 0,
) -> AsyncIterator[ActionContext]:
    """An ActionContext as the worker builds one: the session resolves through the guard."""
    guard = OutboundGuard(allow_private_networks=allow_private_networks)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield ActionContext(
            render=render_context(payload),
            http=session,
            guard=guard,
            timeout=timeout,
            progress=progress,
        )


@pytest.fixture
def make_ctx() -> MakeContext:
    return action_context


@pytest.fixture
async def ctx() -> AsyncIterator[ActionContext]:
    async with action_context() as context:
        yield context


@pytest.fixture
async def guarded_ctx() -> AsyncIterator[ActionContext]:
    """Private networks refused, as in production by default."""
    async with action_context(allow_private_networks=False) as context:
        yield context


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    async with HttpSink() as server:
        yield server
