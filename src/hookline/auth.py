"""Who may look: the API token (bearer), and the dashboard's session and CSRF tokens.

The API token itself is never stored: only its SHA-256 digest is (`Runtime`). Everything
the dashboard hands out is derived from that digest with HMAC, so it holds no trace of the
token, and changing the token ends every session at once:

- session cookie value: `<expires>.<nonce>.<hmac(key, "session" expires nonce)>`, checked
  in constant time, with the expiry inside the signed part;
- CSRF token: `hmac(key, "csrf" nonce)`, bound to the session's nonce, so a token from one
  session is worthless in another; forms carry it in a hidden field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

SESSION_COOKIE = "hookline_session"
SESSION_SECONDS = 12 * 3600


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_matches(token: str | None, expected: bytes | None) -> bool:
    """Does `token` hash to the expected digest (constant time)?"""
    if not token or expected is None:
        return False
    return hmac.compare_digest(token_digest(token.strip()), expected)


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if that is what was sent."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    expires: int


class Sessions:
    """Issues and checks session cookie values and CSRF tokens for one API token digest."""

    def __init__(self, digest: bytes, *, lifetime: int = SESSION_SECONDS) -> None:
        self._key = hmac.new(digest, b"hookline dashboard sessions v1", hashlib.sha256).digest()
        self._lifetime = lifetime

    def _sign(self, *parts: str) -> str:
        message = "\x00".join(parts).encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self._lifetime)
        nonce = secrets.token_urlsafe(16)
        return f"{expires}.{nonce}.{self._sign('session', str(expires), nonce)}"

    def check(self, value: str | None, now: float | None = None) -> Session | None:
        if not value:
            return None
        expires, _, rest = value.partition(".")
        nonce, _, signature = rest.partition(".")
        if not expires.isdigit() or not nonce or not signature:
            return None
        if not _same(signature, self._sign("session", expires, nonce)):
            return None
        if int(expires) <= (time.time() if now is None else now):
            return None
        return Session(nonce, int(expires))

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.nonce)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and _same(str(token), self.csrf_token(session))


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of text from a client (any characters) with ours."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )
