"""Random requests to every provider's source, through the real ingest endpoint.

Headers near each provider's formats (sometimes a real signature, then tampered with or
not), random bodies, content types and query strings. Whatever arrives, the answer is 2xx,
401, or 400 for an authentic body that cannot be parsed; never a 500 or an exception, and a
refused request stores nothing. A source with `allow_ips` answers 403 to everyone else.

Hypothesis drives one started app per provider (examples share it, so each is cheap); the
example count is kept small so the whole suite stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.trigger import signed_headers
from hookline.verify import VERIFIERS
from tests.support.catalog import BASE_URL, CATALOG
from tests.support.hooks_app import hooks_app, stored

NOW = 1_700_000_000
EXAMPLES = settings(
    max_examples=30,
    deadline=None,  # no timing thresholds: a slow CI machine is not a failure
    suppress_health_check=[HealthCheck.too_slow],
)
HEADER_NAMES = [
    "stripe-signature", "x-hub-signature-256", "x-github-event", "x-github-delivery",
    "x-gitlab-token", "x-gitlab-event", "webhook-id", "webhook-timestamp", "webhook-signature",
    "svix-id", "svix-timestamp", "svix-signature", "x-shopify-hmac-sha256", "x-shopify-topic",
    "x-slack-signature", "x-slack-request-timestamp", "x-telegram-bot-api-secret-token",
    "x-twilio-signature", "x-twilio-webhooks-signature-settings", "typeform-signature",
    "x-signature", "authorization", "x-api-key",
]  # fmt: skip
_hexish = st.text(alphabet="0123456789abcdefABCDEF =,", max_size=80)
_b64ish = st.text(alphabet=string.ascii_letters + string.digits + "+/=,_ ", max_size=60)
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
    _hexish,
    _b64ish,
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["sha256=", "v0=", "v1,", "t=1,v1=", "Bearer ", "Basic "]).flatmap(
        lambda prefix: st.one_of(_hexish, _b64ish).map(lambda rest: prefix + rest)
    ),
)
header_names = st.one_of(
    st.sampled_from(HEADER_NAMES),
    st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=12),
)
random_headers = st.dictionaries(header_names, header_values, max_size=5)
content_types = st.sampled_from(
    [None, "application/json", "application/x-www-form-urlencoded", "text/plain", "a/b+json"]
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"{}", b'{"update_id": 1, "message": {}}', b"[]", b"a=1&b=", b"{"]),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3).map(
        lambda d: str(d).replace("'", '"').encode()
    ),
)
queries = st.one_of(st.just(""), st.sampled_from(["token=catalog-bearer", "bodySHA256=00", "a=1"]))


@st.composite
def requests(draw: st.DrawFn, provider: str) -> tuple[dict[str, Any], bytes, str]:
    """Random headers, or a real signature for a random body that is then maybe tampered."""
    body = draw(bodies)
    headers: dict[str, Any] = draw(random_headers)
    query = draw(queries)
    if draw(st.booleans()):
        url = f"{BASE_URL}/hooks/{provider}" + (f"?{query}" if query else "")
        secret = CATALOG[provider][1]
        with contextlib.suppress(UnicodeDecodeError):  # Twilio's signer reads a form body
            signed = signed_headers(provider, "sample", body=body, secret=secret, url=url, now=NOW)
            headers |= {k.lower(): v for k, v in signed.items()}
        if draw(st.booleans()):
            body = body + draw(st.binary(min_size=1, max_size=4))
    content_type = draw(content_types)
    if content_type is not None:
        headers["content-type"] = content_type
    return {k: v.encode("utf-8") for k, v in headers.items()}, body, query


def _run(provider: str, tmp_path: Path, *, allow_ips: list[str] | None = None) -> list[int]:
    """Send Hypothesis' requests to one started app; the statuses seen."""
    source: dict[str, Any] = {"verify": CATALOG[provider][0]}
    if allow_ips is not None:
        source["allow_ips"] = allow_ips
    statuses: list[int] = []
    with asyncio.Runner() as runner:
        gateway = hooks_app(tmp_path, {provider: source}, now=datetime.fromtimestamp(NOW, UTC))
        client, store = runner.run(gateway.__aenter__())
        try:

            @EXAMPLES
            @given(request=requests(provider))
            def check(request: tuple[dict[str, Any], bytes, str]) -> None:
                headers, body, query = request
                before = len(runner.run(stored(store)))
                url = f"/hooks/{provider}" + (f"?{query}" if query else "")
                response = runner.run(client.post(url, headers=headers, content=body))
                after = len(runner.run(stored(store)))
                statuses.append(response.status_code)
                if response.status_code != 200:
                    assert after == before, response.text
                    assert "error" in response.json()

            check()
        finally:
            runner.run(gateway.__aexit__(None, None, None))
    return statuses


class TestRandomRequests:
    @pytest.mark.parametrize("provider", VERIFIERS.names())
    def test_only_2xx_401_or_400(self, provider: str, tmp_path: Path) -> None:
        """Random and tampered requests are answered 200, 401 or 400; never 500."""
        statuses = _run(provider, tmp_path)
        assert set(statuses) <= {200, 400, 401}

    @pytest.mark.parametrize("provider", ["stripe", "none"])
    def test_allow_ips_refuses_everyone_else(self, provider: str, tmp_path: Path) -> None:
        """With allow_ips not covering the caller, every request is 403 and nothing is stored."""
        statuses = _run(provider, tmp_path, allow_ips=["203.0.113.0/24", "2001:db8::/32"])
        assert set(statuses) == {403}
