"""`POST /hooks/{source}` as a raw ASGI handler: the hot path, kept free of framework layers.

Order matters: allowed caller → size limit → verify → parse → handshake → identify → route
→ one committed transaction → 2xx. Every failure before the commit changes nothing and
answers with a clear error; a 2xx is sent only after the store says the event and its
deliveries are durable. A handshake (Slack's url_verification, GitHub's ping, Meta's GET
challenge) is answered as the verifier says, after verification, and stores nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
import structlog
from starlette.types import Receive, Scope, Send

from hookline import metrics
from hookline.config.models import Config, Source
from hookline.config.types import IpNetwork
from hookline.errors import (
    ForbiddenError,
    HooklineError,
    MalformedPayloadError,
    PayloadTooLargeError,
    StoreError,
    TemplateError,
    UnknownSourceError,
    envelope,
    http_error,
)
from hookline.ingest.payload import parse_payload
from hookline.models import NewEvent, new_id, utcnow
from hookline.routing import Router
from hookline.store.base import Store
from hookline.templating import RenderContext, Template, event_variables, render_structure
from hookline.verify import VERIFIERS
from hookline.verify.base import (
    Handshaker,
    HandshakeReply,
    Identity,
    InboundRequest,
    Verifier,
    methods_of,
)

log = structlog.get_logger("hookline.ingest")

JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_EXTERNAL_ID = 512  # bytes
# Credentials (not signatures) are never stored; signatures are kept for inspection.
_NOT_STORED = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-gitlab-token",
        "x-telegram-bot-api-secret-token",
    }
)


class IngestHandler:
    """Handles `/hooks/{source}` for every configured source."""

    def __init__(
        self, config: Config, store: Store, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._store = store
        self._clock = clock
        self._router = Router(config)
        self._sources = config.sources
        self._verifiers: dict[str, Verifier] = {
            name: VERIFIERS.get(source.verify.provider)(source.verify)
            for name, source in config.sources.items()
        }
        # Credentials are never stored: the usual headers, plus any a verifier names as its own.
        self._unstored_headers = {
            name: _NOT_STORED | getattr(v, "credential_headers", frozenset())
            for name, v in self._verifiers.items()
        }
        self._unstored_query: dict[str, frozenset[str]] = {
            name: getattr(v, "credential_query", frozenset()) for name, v in self._verifiers.items()
        }
        self._methods = {name: methods_of(v) for name, v in self._verifiers.items()}
        self._handshakes: dict[str, Handshaker] = {
            name: v for name, v in self._verifiers.items() if isinstance(v, Handshaker)
        }
        # Resolved once: a labelled metric or a lazily configured logger costs a lock and
        # a few allocations per call, on every request.
        self._log = log.bind()
        self._latency = {
            label: metrics.INGEST_SECONDS.labels(label)
            for label in (*config.sources, metrics.UNKNOWN_SOURCE)
        }
        self._stored = {
            (name, duplicate): metrics.EVENTS_RECEIVED.labels(name, outcome)
            for name in config.sources
            for duplicate, outcome in ((False, "accepted"), (True, "duplicate"))
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"][len("/hooks/") :].rstrip("/")
        headers = JSON_HEADERS
        label = name if name in self._sources else metrics.UNKNOWN_SOURCE
        started = time.perf_counter()
        try:
            result = await self._handle(name, scope, receive)
        except HooklineError as exc:
            status, payload = http_error(exc)
            if isinstance(exc, StoreError):  # driver text and paths are for the log, not senders
                payload = envelope(payload["error"]["code"], "storage is unavailable; retry later")
            body = orjson.dumps(payload)
            self._log.info("ingest.rejected", source=name, status=status, reason=exc.message)
            metrics.EVENTS_RECEIVED.labels(label, metrics.ingest_outcome(exc)).inc()
        else:
            if isinstance(result, HandshakeReply):
                status, body, headers = result.status, result.body, _reply_headers(result)
            else:
                status, body = result
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self._latency[label].observe(time.perf_counter() - started)

    async def _handle(
        self, name: str, scope: Scope, receive: Receive
    ) -> tuple[int, bytes] | HandshakeReply:
        source = self._sources.get(name)
        if source is None:
            raise UnknownSourceError(f"no source named {name!r} is configured")
        if source.allow_ips and not _client_allowed(scope, source.allow_ips):
            raise ForbiddenError("this address may not send to this source")
        if scope["method"] not in self._methods[name]:
            metrics.EVENTS_RECEIVED.labels(name, "method_not_allowed").inc()
            return 405, orjson.dumps(envelope("method_not_allowed", "use POST"))
        headers = _headers(scope)
        body = await _read_body(receive, headers, source.max_body_size)
        query_string = scope.get("query_string", b"").decode("latin-1")
        request = InboundRequest(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            query=dict(parse_qsl(query_string)),
            body=body,
            client_ip=(scope.get("client") or (None,))[0],
            url=scope["path"] + (f"?{query_string}" if query_string else ""),
        )
        now = self._clock()
        verifier = self._verifiers[name]
        verifier.verify(request, now=now)
        content_type = headers.get("content-type")
        payload = parse_payload(content_type, body)
        if name in self._handshakes:
            reply = self._handshakes[name].handshake(request, payload)
            if reply is not None:
                self._log.info("ingest.handshake", source=name, status=reply.status)
                return reply
        if request.method != "POST":  # only a handshake answers another method
            return 405, orjson.dumps(envelope("method_not_allowed", "use POST"))
        identity = _identify(source, verifier, request, payload, now)
        event = NewEvent(
            id=new_id("evt"),
            source=name,
            external_id=identity.external_id,
            type=identity.type,
            received_at=now,
            content_type=content_type,
            headers={k: v for k, v in headers.items() if k not in self._unstored_headers[name]},
            query={k: v for k, v in request.query.items() if k not in self._unstored_query[name]},
            body=body,
        )
        deliveries = self._router.deliveries(name, _context(event, payload))
        result = await self._store.ingest(event, deliveries)
        self._stored[name, result.is_duplicate].inc()
        self._log.debug("ingest.accepted", source=name, event_id=result.event_id,
                  duplicate=result.is_duplicate, deliveries=len(deliveries))  # fmt: skip
        return 200, orjson.dumps({"id": result.event_id, "duplicate": result.is_duplicate})


def _reply_headers(reply: HandshakeReply) -> list[tuple[bytes, bytes]]:
    headers = {**reply.headers, "content-type": reply.content_type}
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _client_allowed(scope: Scope, allowed: tuple[IpNetwork, ...]) -> bool:
    """Whether the client address (as the server reports it) is in one of the networks."""
    client = scope.get("client")
    try:
        address = ipaddress.ip_address(client[0]) if client else None
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 callers as ::ffff:a.b.c.d
    return address is not None and any(address in network for network in allowed)


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise MalformedPayloadError("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _context(event: NewEvent, payload: Any) -> RenderContext:
    return RenderContext(
        event=event_variables(
            id=event.id,
            type=event.type,
            source=event.source,
            received_at=event.received_at,
            external_id=event.external_id,
        ),
        payload=payload,
        headers=event.headers,
        query=event.query,
    )


def _identify(
    source: Source, verifier: Verifier, request: InboundRequest, payload: Any, now: datetime
) -> Identity:
    """The provider's id and type, overridden by the source's `id:`/`type:` templates."""
    identity = verifier.identify(request, payload)
    if source.id is None and source.type is None:
        return identity
    ctx = RenderContext(
        event={"source": source.name, "received_at": now.isoformat()},
        payload=payload,
        headers=request.headers,
        query=request.query,
    )
    external_id = _rendered(source, "id", ctx, identity.external_id)
    kind = _rendered(source, "type", ctx, identity.type)
    return Identity(_bounded(external_id), kind)


def _rendered(source: Source, key: str, ctx: RenderContext, default: str | None) -> str | None:
    """The source's `id:`/`type:` template's value. Only a text or a number is one: a null,
    an object or a list is none (a `{{ payload.id }}` of null must not make every such event
    a duplicate of the first). A template that fails leaves the provider's value, and the
    event is still stored (never lose it)."""
    template: Template | None = getattr(source, key)
    if template is None:
        return default
    try:
        value = render_structure(template, ctx)
    except TemplateError as exc:
        log.warning("ingest.identify_failed", source=source.name, key=key, reason=exc.message)
        return default
    if value is None or isinstance(value, dict | list | bool):
        return None
    return str(value).strip() or None


def _bounded(external_id: str | None) -> str | None:
    """Ids past `MAX_EXTERNAL_ID` bytes are kept as their SHA-256: they are an index key, and
    PostgreSQL refuses index entries over ~2.7 kB (the event would get a 503 forever)."""
    if external_id is None or len(external_id.encode()) <= MAX_EXTERNAL_ID:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()
