"""The configuration file's shape, as pydantic models (`extra="forbid"`, so typos fail).

`verify:` and each action's body are validated in a second step against the model their
provider or action registers (see `loader.py`), which keeps every error located at its key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from hookline.actions.base import ActionConfig
from hookline.config.types import ByteSize, Duration, IpNetwork
from hookline.deliver.retry import RetryPolicy
from hookline.redact import SENSITIVE_HEADERS
from hookline.templating import Condition, Template
from hookline.verify.base import VerifierConfig

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_MAX_BODY_SIZE = 5 * 1024 * 1024
MIN_DEDUP = timedelta(days=7)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SourceModel(_Model):
    """`sources.<name>`: how requests to `POST /hooks/<name>` are authenticated and named."""

    verify: dict[str, Any]
    id: Template | None = None  # overrides the provider's event id (dedup key)
    type: Template | None = None  # overrides the provider's event type
    max_body_size: ByteSize | None = None
    # Only these callers; others get 403. An empty list (an empty ${VAR}, say) is an error,
    # not "anyone": leave the key out to accept any caller.
    allow_ips: Annotated[list[IpNetwork], Field(min_length=1)] | None = None


class RouteModel(_Model):
    """`routes[]`: when an event from `source` matches `if`, run `actions` in order."""

    name: str = Field(min_length=1, max_length=128)
    source: str
    if_: str | None = Field(default=None, alias="if")  # compiled by the loader
    actions: list[dict[str, Any]] = Field(min_length=1)


class DeliveryModel(_Model):
    """`delivery:` defaults for every action, and the outbound safety switch."""

    allow_private_networks: bool = False
    timeout: Duration = timedelta(seconds=10)
    retry: RetryPolicy = RetryPolicy()
    concurrency: int = Field(default=64, ge=1, le=10_000)
    lease: Duration | None = None  # default: timeout + 30s


class RetentionModel(_Model):
    """`retention:` how long finished history is kept; workers prune in small batches."""

    succeeded: Duration | None = timedelta(days=30)  # events whose deliveries all succeeded
    dedup: Duration | None = timedelta(days=7)  # provider ids remembered to collapse repeats
    interval: Duration = timedelta(minutes=10)  # how often a worker looks for what to prune
    batch_size: int = Field(default=500, ge=1, le=100_000)  # rows per pruning transaction

    @field_validator("succeeded")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("must be longer than 0 (or null to keep succeeded events forever)")
        return value

    @field_validator("dedup")
    @classmethod
    def _covers_retries(cls, value: timedelta | None) -> timedelta | None:
        # Senders retry for days (Stripe up to 3): a repeat after its key is gone is stored
        # and delivered again, so keys must outlive every sender's retry window.
        if value is not None and value < MIN_DEDUP:
            raise ValueError("must be at least 7d, longer than senders retry (or null: forever)")
        return value

    @field_validator("interval")
    @classmethod
    def _not_zero(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value


class ApiModel(_Model):
    """`api:` the management API's bearer token (generated and persisted when absent)."""

    token: SecretStr | None = None
    protect_metrics: bool = False  # true: /metrics needs the token too

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the API token must be at least 16 characters")
        if value is not None and value.get_secret_value() != value.get_secret_value().strip():
            raise ValueError("the API token has leading or trailing whitespace; remove it")
        return value


class ServerModel(_Model):
    """`server:` where `hookline run/serve` listen; flags and HOOKLINE_* env override."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_size: ByteSize = DEFAULT_MAX_BODY_SIZE


class ConfigModel(_Model):
    """The whole file."""

    database: str | None = None
    server: ServerModel = ServerModel()
    sources: dict[str, SourceModel] = Field(default_factory=dict)
    routes: list[RouteModel] = Field(default_factory=list)
    delivery: DeliveryModel = DeliveryModel()
    api: ApiModel = ApiModel()
    retention: RetentionModel = RetentionModel()


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action of a route, validated against its registered config model."""

    index: int
    name: str
    config: ActionConfig


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    source: str
    condition: Condition | None
    actions: tuple[ActionSpec, ...]


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    verify: VerifierConfig
    id: Template | None
    type: Template | None
    max_body_size: int
    allow_ips: tuple[IpNetwork, ...] = ()  # empty: any caller


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded, fully validated configuration: what the rest of Hookline is given."""

    path: str | None
    database: str | None
    server: ServerModel
    sources: dict[str, Source]
    routes: tuple[Route, ...]
    delivery: DeliveryModel
    api: ApiModel
    retention: RetentionModel = field(default_factory=RetentionModel)
    # ${VAR} values filled into headers, URLs and credential keys (never shown by repr)
    env_secrets: tuple[str, ...] = field(default=(), repr=False)

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def secrets(self) -> list[str]:
        """Every secret value in the config, so `redact` can scrub them from any text."""
        found: list[str] = []
        for source in self.sources.values():
            _collect_secrets(source.verify, found)
        for route in self.routes:
            for action in route.actions:
                _collect_secrets(action.config, found)
                found.extend(_credential_headers(action.config))
        if self.api.token is not None:
            found.append(self.api.token.get_secret_value())
        found.extend(self.env_secrets)
        return list(dict.fromkeys(s for s in found if s))  # each once, in order


def _credential_headers(config: ActionConfig) -> list[str]:
    """Values of credential headers an action sends (`Authorization: Bearer ${CRM_TOKEN}`):
    templates, not SecretStr, but just as secret once `${VAR}` is filled in."""
    headers = getattr(config, "headers", None)
    if not isinstance(headers, dict):
        return []
    found: list[str] = []
    for name, value in headers.items():
        text = getattr(value, "source", value)
        if name.lower() in SENSITIVE_HEADERS and isinstance(text, str) and "{{" not in text:
            found.append(text)
            found.append(text.partition(" ")[2])  # the credential after "Bearer " / "Basic "
    return found


def _collect_secrets(value: Any, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secrets(item, found)
