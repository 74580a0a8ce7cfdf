"""GitLab: the webhook's "Secret token" comes back verbatim in `X-Gitlab-Token`.

Scheme: https://docs.gitlab.com/user/project/integrations/webhooks/ (a shared token, not a
signature: the body is not authenticated, so use HTTPS). The token is compared in constant
time. The event id is `Idempotency-Key` (GitLab keeps it across retries of one event) or,
on older GitLab versions, `X-Gitlab-Event-UUID`; the type is `X-Gitlab-Event` (`Push Hook`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from hookline.errors import VerificationError
from hookline.verify.base import (
    Identity,
    InboundRequest,
    Secret,
    VerifierConfig,
    constant_time_equal,
    header_value,
    require_header,
    wire_bytes,
)

HEADER = "X-Gitlab-Token"


class GitlabConfig(VerifierConfig):
    """`verify: {provider: gitlab, secret: ...}` (the webhook's "Secret token" field)."""

    provider: Literal["gitlab"]
    secret: Secret


class GitlabVerifier:
    """Compares `X-Gitlab-Token` with the secret; id and type come from headers."""

    provider: ClassVar[str] = "gitlab"
    config_model: ClassVar[type[VerifierConfig]] = GitlabConfig

    def __init__(self, config: GitlabConfig) -> None:
        self.config = config
        self._token = config.secret.get_secret_value().encode()

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        if not constant_time_equal(wire_bytes(require_header(request, HEADER)), self._token):
            raise VerificationError(f"{HEADER} header does not match the secret")

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        external_id = header_value(request, "Idempotency-Key") or header_value(
            request, "X-Gitlab-Event-UUID"
        )
        return Identity(external_id, header_value(request, "X-Gitlab-Event"))


def sign(secret: str) -> dict[str, str]:
    """The header GitLab sends: the token itself."""
    return {HEADER: secret}
