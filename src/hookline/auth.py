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
import ipaddress
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hookline.errors import TooManyAttemptsError

SESSION_COOKIE = "hookline_session"
SESSION_SECONDS = 12 * 3600


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_matches(token: str | None, expected: bytes | None) -> bool:
    """Does `token` hash to the expected digest (constant time)?"""
    if not token or expected is None:
        return False
    return hmac.compare_digest(token_digest(token.strip()), expected)


class WrongTokenLimiter:
    """Slows down guessing the API token: after `limit` wrong tokens from one client address
    within `window` seconds, that address is refused (429) until the oldest of them is older
    than the window, even with the right token, or the guessing would go on unhindered. A
    missing token is not a guess and is not counted. Memory is bounded: past `max_clients`
    addresses, the least recently seen is forgotten."""

    def __init__(
        self,
        *,
        limit: int = 10,
        window: float = 300.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, client: str | None) -> float:
        """Seconds `client` must wait before trying a token again (0: it may try now)."""
        recent = self._recent(_client_key(client))
        if len(recent) < self.limit:
            return 0.0
        return max(recent[0] + self.window - self._clock(), 0.0)

    def failed(self, client: str | None) -> None:
        key = _client_key(client)
        recent = self._recent(key)
        recent.append(self._clock())
        self._failures[key] = recent
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def admit(self, client: str | None, token: str | None, expected: bytes | None) -> bool:
        """Whether `token` is the right one; a wrong one is counted against `client`. Raises
        `TooManyAttemptsError` while `client` must wait, whatever token it sent."""
        wait = self.wait(client)
        if wait > 0:
            raise TooManyAttemptsError(wait)
        if token_matches(token, expected):
            return True
        if token:
            self.failed(client)
        return False

    def succeeded(self, client: str | None) -> None:
        self._failures.pop(_client_key(client), None)

    def _recent(self, key: str) -> deque[float]:
        recent = self._failures.get(key) or deque(maxlen=self.limit)
        horizon = self._clock() - self.window
        while recent and recent[0] <= horizon:
            recent.popleft()
        return recent


def _client_key(client: str | None) -> str:
    """Whom wrong tokens are counted against: the IPv4 address, or the IPv6 /64 (one
    machine commonly holds a whole /64, and would otherwise guess from 2^64 addresses)."""
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return client or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # a dual-stack socket's IPv4 caller
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


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
