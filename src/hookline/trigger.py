"""`hookline trigger`: send a provider's sample event, signed as that provider signs, to a URL.

Like `stripe trigger`, for trying sources and routes without the real sender. Samples live
in `fixtures/<provider>/<event type>.json` (package data). Each send gets fresh event ids
and the current time, so repeated triggers are not collapsed as duplicates. With a payload
file the body is sent byte for byte (for Twilio: a JSON object of the form's fields).
Every signature comes from the `sign()` of the provider's verifier module.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from hookline.errors import HooklineError
from hookline.verify import (
    VERIFIERS,
    basic,
    bearer,
    github,
    gitlab,
    meta,
    shopify,
    slack,
    standard_webhooks,
    stripe,
    telegram,
    twilio,
    typeform,
)
from hookline.verify import hmac as generic_hmac
from hookline.verify.hmac import HmacConfig

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
GENERIC = ("hmac", "basic", "bearer", "none")  # these share the generic form submission
DEFAULT_EVENTS = {
    "stripe": "payment_intent.succeeded",
    "github": "push",
    "gitlab": "push",
    "standard-webhooks": "invoice.paid",
    "shopify": "orders/create",
    "slack": "event_callback",
    "telegram": "message",
    "meta": "messages",
    "twilio": "message",
    "typeform": "form_response",
    **{provider: "form.submitted" for provider in GENERIC},
}
GITLAB_EVENTS = {"push": "Push Hook", "merge_request": "Merge Request Hook"}


class TriggerError(HooklineError):
    """The trigger cannot be built as asked (unknown provider or event, unusable secret)."""


@dataclass(frozen=True, slots=True)
class SampleRequest:
    """What `trigger` sends: a POST of `body` with `headers` to `url`."""

    url: str
    headers: dict[str, str]
    body: bytes
    event_type: str


def _folder(provider: str) -> Traversable:
    return (
        resources.files("hookline") / "fixtures" / ("generic" if provider in GENERIC else provider)
    )


def sample_events(provider: str) -> list[str]:
    """The event types with a shipped sample for `provider`, sorted."""
    found: list[str] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for item in folder.iterdir():
            if item.is_dir():
                walk(item, f"{prefix}{item.name}/")
            elif item.name.endswith(".json"):
                found.append(prefix + item.name.removesuffix(".json"))

    folder = _folder(provider)
    if folder.is_dir():
        walk(folder, "")
    return sorted(found)


def build(
    provider: str,
    event_type: str | None = None,
    *,
    url: str,
    secret: str | None,
    now: int,
    payload: bytes | None = None,
) -> SampleRequest:
    """The signed request `provider` would send for `event_type` (its default when None)."""
    if provider not in VERIFIERS:
        raise TriggerError(f"unknown provider {provider!r}; known: {', '.join(VERIFIERS.names())}")
    if provider != "none" and not (secret or "").strip():
        raise TriggerError(f"--secret is required to sign a {provider} request")
    if urlsplit(url).scheme not in ("http", "https"):
        raise TriggerError(f"--url must be an http(s) URL, got {url!r}")
    event = event_type or DEFAULT_EVENTS[provider]
    if payload is None:
        known = sample_events(provider)
        if event not in known:
            raise TriggerError(f"no {provider} sample for {event!r}; samples: {', '.join(known)}")
        data = orjson.loads((_folder(provider) / f"{event}.json").read_bytes())
        body = _encode(provider, _refresh(provider, data, now))
    elif provider == "twilio":
        try:
            body = _encode(provider, orjson.loads(payload))
        except orjson.JSONDecodeError:
            raise TriggerError("a Twilio payload is a JSON object of form fields") from None
    else:
        body = payload
    headers = {"Content-Type": FORM if provider == "twilio" else JSON}
    headers |= signed_headers(provider, event, body=body, secret=secret or "", url=url, now=now)
    return SampleRequest(url=url, headers=headers, body=body, event_type=event)


def signed_headers(
    provider: str, event_type: str, *, body: bytes, secret: str, url: str, now: int
) -> dict[str, str]:
    """The headers `provider` sends with `body`: its signature, ids and event type."""
    return SIGNERS[provider](_Context(event_type, body, secret, url, now, uuid.uuid4()))


def _encode(provider: str, data: Any) -> bytes:
    if provider != "twilio":
        return orjson.dumps(data)
    if not isinstance(data, dict):
        raise TriggerError("a Twilio payload is a JSON object of form fields")
    return urlencode({str(k): str(v) for k, v in data.items()}).encode()


def _refresh(provider: str, data: dict[str, Any], now: int) -> dict[str, Any]:
    """Fresh ids and times in a sample, so each trigger is a new event."""
    token = secrets.token_hex(12)
    if provider == "stripe":
        data |= {"id": f"evt_{token}", "created": now}
    elif provider == "slack" and "event_id" in data:
        data |= {"event_id": f"Ev{token.upper()}", "event_time": now}
    elif provider == "telegram":
        data["update_id"] = secrets.randbelow(2**31)
        for value in data.values():
            if isinstance(value, dict) and "date" in value:
                value["date"] = now
    elif provider == "typeform":
        data["event_id"] = token.upper()
    elif provider == "twilio":
        data |= dict.fromkeys(("MessageSid", "SmsSid", "SmsMessageSid"), f"SM{token}{token[:8]}")
    elif provider in GENERIC:
        data["id"] = f"sub_{token}"
    return data


@dataclass(frozen=True, slots=True)
class _Context:
    event: str
    body: bytes
    secret: str
    url: str
    now: int
    nonce: uuid.UUID


def _github(c: _Context) -> dict[str, str]:
    return {
        "X-GitHub-Event": c.event,
        "X-GitHub-Delivery": str(c.nonce),
        "X-Hub-Signature-256": github.sign(c.body, c.secret),
        "User-Agent": "GitHub-Hookshot/hookline-trigger",
    }


def _gitlab(c: _Context) -> dict[str, str]:
    kind = GITLAB_EVENTS.get(c.event, c.event)
    return {"X-Gitlab-Event": kind, "Idempotency-Key": str(c.nonce)} | gitlab.sign(c.secret)


def _standard_webhooks(c: _Context) -> dict[str, str]:
    try:
        return standard_webhooks.sign(
            c.body, c.secret, msg_id=f"msg_{c.nonce.hex}", timestamp=c.now
        )
    except ValueError as exc:
        raise TriggerError(f"unusable standard-webhooks secret: {exc}") from None


def _shopify(c: _Context) -> dict[str, str]:
    return {
        "X-Shopify-Topic": c.event,
        "X-Shopify-Hmac-Sha256": shopify.sign(c.body, c.secret),
        "X-Shopify-Webhook-Id": str(c.nonce),
        "X-Shopify-Event-Id": str(uuid.uuid5(c.nonce, "event")),
        "X-Shopify-Shop-Domain": "hookline-sample.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
    }


def _twilio(c: _Context) -> dict[str, str]:
    fields = parse_qsl(c.body.decode(), keep_blank_values=True)
    return {
        "X-Twilio-Signature": twilio.sign(c.url, fields, c.secret),
        "I-Twilio-Idempotency-Token": str(c.nonce),
    }


def _basic(c: _Context) -> dict[str, str]:
    username, sep, password = c.secret.partition(":")
    if not sep:
        raise TriggerError("for basic, --secret is USERNAME:PASSWORD")
    return basic.sign(username, password)


SIGNERS: dict[str, Callable[[_Context], dict[str, str]]] = {
    "stripe": lambda c: {"Stripe-Signature": stripe.sign(c.body, c.secret, c.now)},
    "github": _github,
    "gitlab": _gitlab,
    "standard-webhooks": _standard_webhooks,
    "shopify": _shopify,
    "slack": lambda c: slack.sign(c.body, c.secret, c.now),
    "telegram": lambda c: telegram.sign(c.secret),
    "meta": lambda c: {"X-Hub-Signature-256": meta.sign(c.body, c.secret)},
    "twilio": _twilio,
    "typeform": lambda c: {"Typeform-Signature": typeform.sign(c.body, c.secret)},
    "hmac": lambda c: generic_hmac.sign(c.body, HmacConfig(provider="hmac", secret=c.secret)),
    "basic": _basic,
    "bearer": lambda c: bearer.sign(c.secret),
    "none": lambda c: {},
}


async def send(request: SampleRequest, *, timeout: float = 30.0) -> tuple[int, str, str]:
    """POST the sample; the answer's status, reason and body (text)."""
    import aiohttp

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.post(
                request.url, data=request.body, headers=request.headers, allow_redirects=False
            ) as response,
        ):
            return response.status, response.reason or "", await response.text(errors="replace")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise HooklineError(f"could not reach {request.url}: {exc!r}") from exc
