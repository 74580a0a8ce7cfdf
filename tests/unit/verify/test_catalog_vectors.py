"""The vector tables of the catalog providers, straight against each verifier.

The integration suite sends the same rows through the ingest endpoint (status codes, what is
stored); here each refusal is checked for its reason, and no reason may contain a secret.
Stripe and HMAC have their own, richer vector tests (test_stripe.py, test_hmac.py). Last,
every registered verifier is fed random methods, headers, queries and bodies (totality).
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from hookline.errors import VerificationError
from hookline.verify import VERIFIERS
from hookline.verify.base import Handshaker, InboundRequest, Verifier, methods_of
from tests.support.catalog import CATALOG

VECTORS = Path(__file__).parents[2] / "vectors"
OWN_TESTS = {"stripe", "hmac"}
TABLES: dict[str, dict[str, Any]] = {
    path.stem: json.loads(path.read_text("utf-8"))
    for path in sorted(VECTORS.glob("*.json"))
    if path.stem not in OWN_TESTS
}


def _rows(with_error: bool | None = None) -> list[Any]:
    return [
        pytest.param(provider, row, id=f"{provider}-{row['name']}")
        for provider, table in TABLES.items()
        for row in table["vectors"]
        if row.get("status") != 405  # refused by ingest before any verifier runs
        and (with_error is None or (row["error"] is not None) == with_error)
    ]


def _case(provider: str, row: dict[str, Any]) -> tuple[Verifier, InboundRequest, datetime]:
    table = TABLES[provider]
    cls = VERIFIERS.get(provider)
    config = cls.config_model.model_validate({**table["config"], **row.get("config", {})})
    query = row.get("query", "")
    request = InboundRequest(
        method=row.get("method", "POST"),
        path=f"/hooks/{provider}",
        headers={k.lower(): v for k, v in row["headers"].items()},
        query=dict(parse_qsl(query)),
        body=bytes.fromhex(row["body_hex"]) if "body_hex" in row else row["body"].encode(),
        url=f"/hooks/{provider}" + (f"?{query}" if query else ""),
    )
    return cls(config), request, datetime.fromtimestamp(row.get("now", table["now"]), UTC)


def _secrets(verifier: Verifier) -> list[str]:
    config = getattr(verifier, "config", None)
    values = [getattr(config, name, None) for name in ("secret", "token", "password")]
    values.append(getattr(config, "verify_token", None))
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]


class TestCatalogVectors:
    @pytest.mark.parametrize(("provider", "row"), _rows())
    def test_verify(self, provider: str, row: dict[str, Any]) -> None:
        """Each row passes verify, or fails with the reason it names."""
        verifier, request, now = _case(provider, row)
        assert request.method in methods_of(verifier)
        if row["error"] is None:
            verifier.verify(request, now=now)
        else:
            with pytest.raises(VerificationError, match=re.escape(row["error"])):
                verifier.verify(request, now=now)

    @pytest.mark.parametrize(("provider", "row"), _rows(with_error=True))
    def test_reason_never_reveals_a_secret(self, provider: str, row: dict[str, Any]) -> None:
        """No refusal mentions a configured secret or token."""
        verifier, request, now = _case(provider, row)
        with pytest.raises(VerificationError) as info:
            verifier.verify(request, now=now)
        text = f"{info.value} {info.value!r}"
        assert all(secret not in text for secret in _secrets(verifier))

    @pytest.mark.parametrize(
        ("provider", "row"), [p for p in _rows(with_error=False) if "reply" in p.values[1]]
    )
    def test_handshake_reply(self, provider: str, row: dict[str, Any]) -> None:
        """Handshake rows are answered with the reply they name."""
        verifier, request, now = _case(provider, row)
        verifier.verify(request, now=now)
        assert isinstance(verifier, Handshaker)
        payload = json.loads(request.body) if request.body else None
        reply = verifier.handshake(request, payload)
        assert reply is not None and reply.body.decode() == row["reply"]


_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=300), max_size=40)
_names = st.sampled_from(
    ["hub.mode", "hub.verify_token", "hub.challenge", "bodySHA256", "token", "payload"]
)
_payloads = st.one_of(
    st.none(),
    _text,
    st.dictionaries(st.sampled_from(["type", "payload", "event", "update_id", "x"]), _text),
)


class TestTotality:
    @pytest.mark.parametrize("provider", VERIFIERS.names())
    @settings(max_examples=40, deadline=None)
    @given(
        method=st.sampled_from(["GET", "POST"]),
        headers=st.dictionaries(st.text(max_size=30), _text, max_size=4),
        query=st.dictionaries(_names, _text, max_size=3),
        body=st.binary(max_size=64),
        payload=_payloads,
    )
    def test_verify_identify_handshake_never_crash(
        self,
        provider: str,
        method: str,
        headers: dict[str, str],
        query: dict[str, str],
        body: bytes,
        payload: Any,
    ) -> None:
        """Whatever arrives, verify raises only VerificationError; identify and handshake return."""
        cls = VERIFIERS.get(provider)
        verifier = cls(cls.config_model.model_validate(CATALOG[provider][0]))
        lowered = {k.lower(): v for k, v in headers.items()}
        request = InboundRequest(method, "/hooks/x", lowered, query, body, url="/hooks/x")
        with contextlib.suppress(VerificationError):
            verifier.verify(request, now=datetime(2026, 1, 1, tzinfo=UTC))
        verifier.identify(request, payload)
        if isinstance(verifier, Handshaker):
            verifier.handshake(request, payload)
