"""schemathesis against the OpenAPI document: no 5xx, and every response matches the schema.

The app runs in-process (ASGI) on a real SQLite store seeded with events, deliveries and
attempts. Examples per operation are bounded so the suite stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hookline.app import create_app
from hookline.config.loader import loads
from hookline.runtime import Runtime
from hookline.store.sqlite import SqliteStore
from tests.conftest import API_TOKEN, STRIPE_SECRET, stripe_event, stripe_headers

MAX_EXAMPLES = 12
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

# A closed local port and no private networks: every delivery ends dead at once, offline.
CONFIG = f"""
sources:
  stripe:
    verify: {{provider: stripe, secret: "{STRIPE_SECRET}"}}
routes:
  - name: payment-to-manager
    source: stripe
    if: "event.type == 'payment_intent.succeeded'"
    actions:
      - telegram:
          token: "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
          chat_id: 42
          api_url: "http://127.0.0.1:9"
          text: "Order {{{{ payload.data.object.metadata.order_id }}}}"
      - http:
          url: "http://127.0.0.1:9/crm"
          json: {{order: "{{{{ payload.data.object.metadata.order_id }}}}"}}
api: {{token: "{API_TOKEN}"}}
"""


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The OpenAPI schema of a started app whose store holds a few events and dead deliveries."""
    path: Path = tmp_path_factory.mktemp("schema") / "hookline.db"
    runtime = Runtime(loads(CONFIG, file="test.yaml", environ={}), SqliteStore(path))
    app = create_app(runtime)
    with asgi.get_client(app) as client:  # starts the lifespan: store, token, worker
        for n in range(3):
            body = stripe_event(f"evt_{n}", order=str(n))
            assert client.post("/hooks/stripe", data=body, headers=stripe_headers(body)).ok
        body = stripe_event("evt_refund", type="charge.refunded")
        client.post("/hooks/stripe", data=body, headers=stripe_headers(body))
    config = SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}}, "generation": {"max-examples": MAX_EXAMPLES}}
    )
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app, config=config)
    asgi.shutdown_lifespans()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class TestOpenApiConformance:
    def test_api_matches_its_schema(self, api_schema: Any) -> None:
        """Every operation, called with generated valid and invalid input, answers within its
        schema and never with a 5xx."""
        failures: list[str] = []
        calls: list[int] = []
        operations = [result.ok() for result in api_schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))  # fmt: skip
                def check(case: Any) -> None:
                    case.call_and_validate(headers=AUTH, checks=CHECKS)
                    calls.append(1)

                try:
                    check()
                except (
                    Exception,
                    BaseExceptionGroup,
                ) as exc:  # collect every operation's failure, then report them all
                    failures.append(f"{operation.label} ({mode}): {exc}")
        assert not failures, "\n\n".join(failures)
        assert len(calls) > 5 * len(operations)  # generation really ran
