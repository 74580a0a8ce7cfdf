"""Keep secrets out of every log line, API response and error message.

Two nets: header names that carry credentials are masked wherever headers are shown, and
every secret value from the config is replaced in any text before it leaves the process
(attempt errors and excerpts, log events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

MASK = "***"

# Headers whose values are credentials or signatures; shown as *** in the API and logs.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "stripe-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-signature",
        "x-gitlab-token",
        "x-shopify-hmac-sha256",
        "x-slack-signature",
        "x-telegram-bot-api-secret-token",
        "x-twilio-signature",
        "typeform-signature",
        "webhook-signature",
        "svix-signature",
        "x-api-key",
    }
)


def redact_headers(headers: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    hidden = SENSITIVE_HEADERS | {h.lower() for h in extra}
    return {k: (MASK if k.lower() in hidden else v) for k, v in headers.items()}


class Redactor:
    """Replaces known secret values in text. Longest first, so no secret leaks in part."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v) for v in value]
        return value

    def structlog_processor(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> Mapping[str, Any]:
        return {k: self.deep(v) for k, v in event.items()}


def url_password(url: str) -> str | None:
    """The password in a URL such as `postgresql://user:pw@host/db`, if any."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL with its password replaced by *** (for printing where Hookline stores data)."""
    password = url_password(url)
    return url if not password else url.replace(f":{password}@", f":{MASK}@", 1)
