"""A shared token: `Authorization: Bearer <token>`, an API-key header, or a query parameter.

Covers senders that authenticate with a static credential (RFC 6750 bearer tokens, headers
such as `X-API-Key: <token>`, or `?token=<token>` for senders that can only set a URL). The
token is compared in constant time. With `query:` set, a request may carry the token there
when it does not send the header. Tokens in URLs end up in proxy logs: prefer a header.
The body is not signed: use HTTPS. The event id and type come from `id:` / `type:`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    constant_time_equal,
    header_value,
    wire_bytes,
)


class BearerConfig(VerifierConfig):
    """`verify: {provider: bearer, token: ..., header: Authorization, scheme: Bearer, query: null}`.

    `scheme` is the word before the token; it defaults to `Bearer` for `Authorization` and to
    none (the header's whole value is the token) for any other header.
    """

    provider: Literal["bearer"]
    token: Secret
    header: str = Field(default="Authorization", min_length=1)
    scheme: str | None = None
    query: str | None = Field(default=None, min_length=1)

    @property
    def expected_scheme(self) -> str:
        if self.scheme is not None:
            return self.scheme
        return "Bearer" if self.header.lower() == "authorization" else ""


class BearerVerifier:
    """Checks the token in the header (or query parameter); id and type from source config."""

    provider: ClassVar[str] = "bearer"
    config_model: ClassVar[type[VerifierConfig]] = BearerConfig

    def __init__(self, config: BearerConfig) -> None:
        self.config = config
        self._token = config.token.get_secret_value()
        self._scheme = config.expected_scheme
        # The token's own header and query parameter are credentials: never stored.
        self.credential_headers = frozenset({config.header.lower()})
        self.credential_query = frozenset({config.query} if config.query else ())

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        name, query = self.config.header, self.config.query
        value = header_value(request, name)
        if value is None and query is not None and request.query.get(query):
            # Query values are percent-decoded as UTF-8 text already.
            if not constant_time_equal(request.query[query], self._token):
                raise VerificationError(f"the {query} query parameter does not match the token")
            return
        if value is None:
            also = f" or {query} query parameter" if query is not None else ""
            raise VerificationError(f"missing {name} header{also}")
        if self._scheme:
            scheme, _, value = value.partition(" ")
            if scheme.lower() != self._scheme.lower():
                raise VerificationError(f"{name} header does not use the {self._scheme} scheme")
        if not constant_time_equal(wire_bytes(value.strip()), self._token.encode()):
            raise VerificationError(f"{name} header does not match the token")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        return Identity()


def sign(token: str, *, header: str = "Authorization", scheme: str = "Bearer") -> dict[str, str]:
    """The header a client sends with this token."""
    return {header: f"{scheme} {token}" if scheme else token}
