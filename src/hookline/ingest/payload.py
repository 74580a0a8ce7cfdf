"""Turn a stored body into the `payload` templates see: JSON, form fields, or text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import orjson

from hookline.errors import MalformedPayloadError


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_payload(content_type: str | None, body: bytes) -> Any:
    """JSON for `application/json` and `+json` types (and for untyped bodies that are JSON),
    a dict of fields for forms, else the text. Invalid JSON declared as JSON is an error."""
    kind = media_type(content_type)
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return _json(body) if body else None
        except ValueError as exc:
            raise MalformedPayloadError(f"malformed JSON body: {exc}") from None
    if kind == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPayloadError("form body is not UTF-8") from None
        return dict(parse_qsl(text, keep_blank_values=True))
    if not kind and body[:1] in (b"{", b"["):
        try:
            return _json(body)
        except ValueError:
            pass
    return body.decode("utf-8", "replace")


def _json(body: bytes) -> Any:
    """orjson, or for what it refuses but JSON senders do send (a UTF-8 byte order mark, a
    lone surrogate escape such as `\\ud83d`), the standard library's parser."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body.removeprefix(b"\xef\xbb\xbf"))
