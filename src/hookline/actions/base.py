"""The action contract: an expected remote result is a value, a bug is an exception.

`perform()` returns an `Outcome`; the worker records it as an attempt and the retry policy
decides what comes next. `classify_http` turns an HTTP answer into an outcome once, for every
action that calls an HTTP API; actions add only their provider's quirks on top.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict
from yarl import URL

from hookline.actions.outbound import DestinationRefusedError, OutboundGuard
from hookline.config.types import Duration
from hookline.deliver.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from hookline.templating import RenderContext

EXCERPT_LIMIT = 2048  # bytes of a response kept with an attempt


@dataclass(frozen=True, slots=True)
class Succeeded:
    status_code: int | None = None
    excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class RetryLater:
    reason: str
    after: timedelta | None = None  # Retry-After / Telegram retry_after
    status_code: int | None = None
    excerpt: str | None = None
    progress: int | None = None  # sends done so far, for an action made of several


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str
    status_code: int | None = None
    excerpt: str | None = None


Outcome = Succeeded | RetryLater | GiveUp


class ActionConfig(BaseModel):
    """Keys every action takes besides its own: a `retry:` policy and a `timeout:`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    retry: RetryPolicy | None = None
    timeout: Duration | None = None


C = TypeVar("C", bound=ActionConfig)
C_contra = TypeVar("C_contra", bound=ActionConfig, contravariant=True)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What an action may use: the rendered data, the shared HTTP session and the guard."""

    render: RenderContext
    http: aiohttp.ClientSession
    guard: OutboundGuard
    timeout: timedelta
    progress: int = 0  # sends already done in this attempt series (see RetryLater.progress)


class Action(Protocol, Generic[C_contra]):
    """One kind of thing to do. `name` is its registry name and YAML key."""

    name: ClassVar[str]
    config_model: ClassVar[type[ActionConfig]]

    async def perform(self, config: C_contra, ctx: ActionContext) -> Outcome: ...


RETRYABLE_STATUS = frozenset({408, 425, 429})


def excerpt(body: bytes | str, limit: int = EXCERPT_LIMIT) -> str:
    """A bounded, printable excerpt of a response body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text if len(text) <= limit else text[:limit] + "…"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """`Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=min(int(value), MAX_RETRY_AFTER_SECONDS))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - (now or datetime.now(UTC)), timedelta(0))


def classify_http(status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
    """2xx succeeds; 408/425/429/5xx retry (obeying Retry-After); anything else gives up."""
    text = excerpt(body)
    if 200 <= status < 300:
        return Succeeded(status, text)
    if status in RETRYABLE_STATUS or status >= 500:
        return RetryLater(
            f"HTTP {status}",
            after=parse_retry_after(headers.get("Retry-After")),
            status_code=status,
            excerpt=text,
        )
    if 300 <= status < 400:
        return GiveUp(
            f"HTTP {status}: redirects are not followed (Location: {headers.get('Location', '-')})",
            status_code=status,
            excerpt=text,
        )
    return GiveUp(f"HTTP {status}", status_code=status, excerpt=text)


def connection_failure(exc: BaseException) -> RetryLater:
    """A network failure (refused, reset, timeout, DNS) is worth another try."""
    if isinstance(exc, TimeoutError):
        return RetryLater("timed out")
    return RetryLater(f"connection failed: {type(exc).__name__}: {exc}")


def json_or_none(body: bytes) -> Any:
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


RESPONSE_READ_LIMIT = 256 * 1024  # enough for any API's JSON answer; the rest is not read


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes


async def send_http(
    ctx: ActionContext, method: str, url: str, **kwargs: Any
) -> HttpAnswer | RetryLater | GiveUp:
    """One HTTP request through the shared session, with the outbound guard, the action's
    timeout and no redirects; transport failures come back as outcomes, not exceptions."""
    try:
        host = URL(url).host
    except ValueError as exc:
        return GiveUp(f"invalid URL {url!r}: {exc}")
    if not host:
        return GiveUp(f"invalid URL {url!r}: no host")
    try:
        ctx.guard.check_literal(host)
        async with ctx.http.request(
            method,
            url,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=ctx.timeout.total_seconds()),
            **kwargs,
        ) as response:
            body = await _read_bounded(response.content, RESPONSE_READ_LIMIT)
            return HttpAnswer(response.status, response.headers, body)
    except DestinationRefusedError as exc:
        return GiveUp(str(exc))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        refused = _refusal_in_chain(exc)
        if refused is not None:
            return GiveUp(str(refused))
        if isinstance(exc, aiohttp.InvalidURL):
            return GiveUp(f"invalid URL: {exc}")
        return connection_failure(exc)


async def _read_bounded(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of the body: `read(n)` alone returns only what has arrived so far."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _refusal_in_chain(exc: BaseException) -> DestinationRefusedError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DestinationRefusedError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
