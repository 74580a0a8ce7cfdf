"""The `http` action against a real local sink."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from hookline import __version__
from hookline.actions import ACTIONS
from hookline.actions.base import ActionContext, GiveUp, RetryLater, Succeeded
from hookline.actions.http import HttpAction, HttpConfig
from hookline.errors import TemplateError
from hookline.templating import Template
from tests.support.http_sink import HttpSink
from tests.unit.actions.conftest import MakeContext
from tests.unit.actions.test_classify import closed_port


def config(**values: Any) -> HttpConfig:
    return HttpConfig.model_validate(values)


class TestHttpConfig:
    def test_registered(self) -> None:
        """The registry's `http` name loads this action."""
        assert ACTIONS.get("http") is HttpAction
        assert HttpAction.config_model is HttpConfig

    def test_json_key_is_compiled_into_templates(self) -> None:
        """Strings inside `json` become templates when the config loads."""
        cfg = config(url="https://x.example/", json={"a": ["{{ payload.id }}", 1]})
        assert cfg.json_ == {"a": [Template("{{ payload.id }}"), 1]}
        assert cfg.method == "POST"

    def test_json_and_body_are_exclusive(self) -> None:
        """Giving both a JSON structure and a raw body is a config error."""
        with pytest.raises(ValidationError, match="mutually exclusive"):
            config(url="https://x.example/", json={"a": 1}, body="raw")

    @pytest.mark.parametrize(
        "values",
        [
            {"url": "https://x.example/{{ payload.id "},  # unclosed expression
            {"url": "https://x.example/", "json": {"a": "{% if %}"}},  # bad tag in json
            {"url": "https://x.example/", "method": "TRACE"},
            {"url": "https://x.example/", "headers": {"Bad Name": "x"}},
            {"url": "https://x.example/", "verb": "POST"},  # unknown key
        ],
    )
    def test_invalid_configs_are_rejected(self, values: dict[str, Any]) -> None:
        """Template syntax errors, unknown methods, bad header names and typos fail at load."""
        with pytest.raises(ValidationError):
            config(**values)


class TestHttpAction:
    async def test_posts_rendered_json(self, ctx: ActionContext, sink: HttpSink) -> None:
        """JSON is rendered with native types, serialised and sent with its content type."""
        cfg = config(
            url=f"{sink.url}/orders/{{{{ payload.data.object.metadata.order_id }}}}",
            json={
                "order": "{{ payload.data.object.metadata.order_id }}",
                "amount": "{{ payload.data.object.amount }}",
                "label": "Order #{{ payload.data.object.metadata.order_id }}",
                "paid": True,
            },
        )
        outcome = await HttpAction().perform(cfg, ctx)
        assert outcome == Succeeded(200, "ok")
        [request] = sink.requests
        assert (request.method, request.path) == ("POST", "/orders/123")
        assert request.json() == {
            "order": "123",
            "amount": 500000,
            "label": "Order #123",
            "paid": True,
        }
        assert request.header("Content-Type") == "application/json"
        assert request.header("User-Agent") == f"Hookline/{__version__}"

    async def test_sends_text_body_and_rendered_headers(
        self, ctx: ActionContext, sink: HttpSink
    ) -> None:
        """A text body and templated headers are sent as rendered; a user's User-Agent wins."""
        cfg = config(
            url=sink.url,
            method="PUT",
            headers={"X-Order": "{{ payload.data.object.metadata.order_id }}", "user-agent": "me"},
            body="client={{ payload.data.object.metadata.client }}",
        )
        assert isinstance(await HttpAction().perform(cfg, ctx), Succeeded)
        [request] = sink.requests
        assert request.method == "PUT"
        assert request.body == b"client=Ivan"
        assert request.header("X-Order") == "123"
        assert request.header("User-Agent") == "me"
        assert request.header("Content-Type") == "text/plain; charset=utf-8"

    async def test_get_without_body(self, ctx: ActionContext, sink: HttpSink) -> None:
        """A GET carries no body and no content type."""
        cfg = config(url=f"{sink.url}/ping?order={{{{ payload.id }}}}", method="GET")
        assert isinstance(await HttpAction().perform(cfg, ctx), Succeeded)
        [request] = sink.requests
        assert (request.method, request.path, request.body) == ("GET", "/ping?order=evt_123", b"")
        assert request.header("Content-Type") is None

    async def test_retry_after_is_obeyed(self, ctx: ActionContext, sink: HttpSink) -> None:
        """A 503 with Retry-After asks for a retry no sooner than that."""
        sink.set_mode("status", status=503, retry_after="7", body="maintenance")
        outcome = await HttpAction().perform(config(url=sink.url), ctx)
        assert outcome == RetryLater(
            "HTTP 503", after=timedelta(seconds=7), status_code=503, excerpt="maintenance"
        )

    @pytest.mark.parametrize("status", [408, 425, 429, 500, 502])
    async def test_transient_statuses_retry(
        self, ctx: ActionContext, sink: HttpSink, status: int
    ) -> None:
        """Timeouts, rate limits and server errors are retried."""
        sink.set_mode("status", status=status)
        outcome = await HttpAction().perform(config(url=sink.url), ctx)
        assert isinstance(outcome, RetryLater)
        assert outcome.status_code == status

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    async def test_client_errors_give_up(
        self, ctx: ActionContext, sink: HttpSink, status: int
    ) -> None:
        """Other 4xx answers end the delivery with the status and body excerpt."""
        sink.set_mode("status", status=status, body="nope")
        outcome = await HttpAction().perform(config(url=sink.url), ctx)
        assert outcome == GiveUp(f"HTTP {status}", status_code=status, excerpt="nope")

    async def test_redirect_is_not_followed(self, ctx: ActionContext, sink: HttpSink) -> None:
        """A redirect ends the delivery; the redirect target is never called."""
        sink.set_mode("redirect", location="/elsewhere")
        outcome = await HttpAction().perform(config(url=f"{sink.url}/hook"), ctx)
        assert isinstance(outcome, GiveUp)
        assert outcome.status_code == 302
        assert [r.path for r in sink.requests] == ["/hook"]

    async def test_timeout_retries(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A server slower than the timeout is retried later."""
        sink.set_mode("slow")
        async with make_ctx(timeout=timedelta(milliseconds=200)) as ctx:
            outcome = await HttpAction().perform(config(url=sink.url), ctx)
        assert outcome == RetryLater("timed out")

    async def test_connection_refused_retries(self, ctx: ActionContext) -> None:
        """A destination that refuses connections is retried later."""
        outcome = await HttpAction().perform(config(url=f"http://127.0.0.1:{closed_port()}/"), ctx)
        assert isinstance(outcome, RetryLater)

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    async def test_private_destinations_are_refused(
        self, guarded_ctx: ActionContext, sink: HttpSink, host: str
    ) -> None:
        """With private networks not allowed, loopback is refused by address and by name."""
        cfg = config(url=f"http://{host}:{sink.port}/hook", json={"a": 1})
        outcome = await HttpAction().perform(cfg, guarded_ctx)
        assert isinstance(outcome, GiveUp)
        assert "allow_private_networks" in outcome.reason
        assert sink.requests == []

    @pytest.mark.parametrize("url", ["ftp://example.com/x", "{{ event.type }}"])
    async def test_non_http_urls_give_up(self, ctx: ActionContext, url: str) -> None:
        """A rendered URL that is not http(s) ends the delivery."""
        outcome = await HttpAction().perform(config(url=url), ctx)
        assert isinstance(outcome, GiveUp)
        assert "http://" in outcome.reason

    async def test_header_injection_gives_up(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A header value rendered with a line break is refused, not sent."""
        cfg = config(url=sink.url, headers={"X-Name": "{{ payload.name }}"})
        async with make_ctx(payload={"name": "a\r\nX-Admin: 1"}) as ctx:
            outcome = await HttpAction().perform(cfg, ctx)
        assert isinstance(outcome, GiveUp)
        assert sink.requests == []

    async def test_template_errors_propagate(self, ctx: ActionContext, sink: HttpSink) -> None:
        """A render error is raised for the worker to record as a dead delivery."""
        cfg = config(url=sink.url, json={"x": "{{ payload.nope.deeper }}"})
        with pytest.raises(TemplateError):
            await HttpAction().perform(cfg, ctx)
        assert sink.requests == []


class TestHttpSink:
    async def test_control_endpoints(self, sink: HttpSink) -> None:
        """The mode can be set and the requests read over HTTP, as a subprocess needs."""
        async with aiohttp.ClientSession() as http:
            mode = {"mode": "status", "status": 503, "retry_after": 4, "times": 1}
            async with http.post(f"{sink.url}/_control/mode", json=mode) as response:
                assert response.status == 200
            async with http.post(f"{sink.url}/a", data=b"one") as response:
                assert (response.status, response.headers["Retry-After"]) == (503, "4")
            async with http.post(f"{sink.url}/b", data=b"two") as response:
                assert response.status == 200
            async with http.get(f"{sink.url}/_control/requests") as response:
                recorded = await response.json()
        assert [(r["path"], r["body"]) for r in recorded] == [("/a", "one"), ("/b", "two")]

    @pytest.mark.slow
    async def test_runs_standalone(self) -> None:
        """`python -m tests.support.http_sink` serves on the port it announces."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.http_sink", "--port", "0",
            cwd=Path(__file__).resolve().parents[3], stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            base = (await process.stdout.readline()).decode().removeprefix("listening on ").strip()
            async with aiohttp.ClientSession() as http:
                async with http.put(f"{base}/x?y=1", data=b"hi") as response:
                    assert response.status == 200
                async with http.get(f"{base}/_control/requests") as response:
                    recorded = await response.json()
        finally:
            process.terminate()
            await process.wait()
        assert [(r["method"], r["path"], r["body"]) for r in recorded] == [("PUT", "/x?y=1", "hi")]
