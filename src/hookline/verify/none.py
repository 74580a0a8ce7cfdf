"""No verification: every request is accepted.

For senders that cannot sign (a form builder posting to a hard-to-guess URL, a local test).
Choosing it is explicit (`provider: none`); a missing secret on another provider is a config
error, never a silent fall-back to this. `extra="forbid"` also rejects a stray `secret:`, so
nobody believes a source is protected when it is not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from hookline.verify.base import Identity, InboundRequest, VerifierConfig


class NoneConfig(VerifierConfig):
    """`verify: {provider: none}`."""

    provider: Literal["none"]


class NoneVerifier:
    """Accepts everything; the event id and type come from source config, if at all."""

    provider: ClassVar[str] = "none"
    config_model: ClassVar[type[VerifierConfig]] = NoneConfig

    def __init__(self, config: NoneConfig) -> None:
        self.config = config

    def verify(self, request: InboundRequest, *, now: datetime) -> None:
        return None

    def identify(self, request: InboundRequest, payload: Any) -> Identity:
        return Identity()
