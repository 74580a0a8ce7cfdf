"""classify_http, parse_retry_after and send_http against a real local sink."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from hookline.actions.base import (
    EXCERPT_LIMIT,
    GiveUp,
    HttpAnswer,
    RetryLater,
    Succeeded,
    classify_http,
    parse_retry_after,
    send_http,
)
from tests.support.http_sink import HttpSink
from tests.unit.actions.conftest import MakeContext

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def closed_port() -> int:
    """A port nothing listens on: bound, read, and released again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestClassifyHttp:
    @pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
    def test_2xx_succeeds(self, status: int) -> None:
        """Any 2xx is a success carrying the status and the body excerpt."""
        assert classify_http(status, {}, b"fine") == Succeeded(status, "fine")

    @pytest.mark.parametrize(
        "status",
        [
            408,  # request timeout
            425,  # too early
            429,  # too many requests
            500,
            502,
            503,
            504,
        ],
    )
    def test_transient_statuses_retry(self, status: int) -> None:
        """Timeouts, rate limits and server errors are worth another try."""
        outcome = classify_http(status, {}, b"busy")
        assert isinstance(outcome, RetryLater)
        assert outcome.status_code == status
        assert outcome.after is None

    def test_retry_after_is_carried(self) -> None:
        """A Retry-After header sets when the next try may happen."""
        outcome = classify_http(503, {"Retry-After": "7"}, b"")
        assert isinstance(outcome, RetryLater)
        assert outcome.after == timedelta(seconds=7)

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422])
    def test_other_4xx_give_up(self, status: int) -> None:
        """A client error will fail the same way next time, so the delivery ends."""
        outcome = classify_http(status, {}, b"no")
        assert outcome == GiveUp(f"HTTP {status}", status_code=status, excerpt="no")

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_redirects_give_up_naming_the_location(self, status: int) -> None:
        """Redirects are not followed; the reason says where it pointed."""
        outcome = classify_http(status, {"Location": "https://elsewhere.example/"}, b"")
        assert isinstance(outcome, GiveUp)
        assert "redirects are not followed" in outcome.reason
        assert "https://elsewhere.example/" in outcome.reason

    def test_excerpt_is_bounded(self) -> None:
        """A huge body is cut to the excerpt limit."""
        outcome = classify_http(500, {}, b"x" * (EXCERPT_LIMIT * 4))
        assert outcome.excerpt is not None
        assert len(outcome.excerpt) == EXCERPT_LIMIT + 1  # the limit plus an ellipsis

    def test_excerpt_survives_invalid_utf8(self) -> None:
        """Bytes that are not UTF-8 are replaced, not raised on."""
        outcome = classify_http(400, {}, b"\xff\xfe bad")
        assert outcome.excerpt is not None
        assert outcome.excerpt.endswith(" bad")


class TestParseRetryAfter:
    @pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1.5"])
    def test_missing_or_malformed_is_none(self, value: str | None) -> None:
        """Nothing usable means no hint, never an exception."""
        assert parse_retry_after(value, now=NOW) is None

    def test_delta_seconds(self) -> None:
        """Delta-seconds are taken as they are."""
        assert parse_retry_after(" 120 ", now=NOW) == timedelta(seconds=120)

    def test_http_date_in_the_future(self) -> None:
        """An HTTP date becomes the time left until then."""
        value = "Wed, 01 Jan 2025 12:01:30 GMT"
        assert parse_retry_after(value, now=NOW) == timedelta(seconds=90)

    def test_http_date_in_the_past_is_zero(self) -> None:
        """A date already passed means retry now, not a negative delay."""
        value = "Wed, 01 Jan 2025 11:00:00 GMT"
        assert parse_retry_after(value, now=NOW) == timedelta(0)


class TestSendHttp:
    async def test_returns_the_answer(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A reachable server's answer comes back as status, headers and body."""
        sink.set_mode("status", status=418, body="teapot")
        async with make_ctx() as ctx:
            answer = await send_http(ctx, "POST", f"{sink.url}/x", data=b"hi")
        assert isinstance(answer, HttpAnswer)
        assert (answer.status, answer.body) == (418, b"teapot")
        assert sink.requests[0].body == b"hi"

    async def test_reads_a_large_body_whole(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A body arriving in many chunks is read up to the limit, not just the first chunk."""
        body = "0123456789" * 20_000
        sink.set_mode("ok", body=body)
        async with make_ctx() as ctx:
            answer = await send_http(ctx, "GET", sink.url)
        assert isinstance(answer, HttpAnswer)
        assert answer.body == body.encode()

    async def test_does_not_follow_redirects(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A redirect is returned as it is; its target is never requested."""
        sink.set_mode("redirect", status=307, location=f"{sink.url}/inside")
        async with make_ctx() as ctx:
            answer = await send_http(ctx, "POST", f"{sink.url}/hook")
        assert isinstance(answer, HttpAnswer)
        assert answer.status == 307
        assert [r.path for r in sink.requests] == ["/hook"]

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
    async def test_guard_refuses_loopback(
        self, make_ctx: MakeContext, sink: HttpSink, host: str
    ) -> None:
        """Loopback, by address or by name, is refused unless private networks are allowed."""
        async with make_ctx(allow_private_networks=False) as ctx:
            outcome = await send_http(ctx, "POST", f"http://{host}:{sink.port}/")
        assert isinstance(outcome, GiveUp)
        assert "refused to connect" in outcome.reason
        assert "allow_private_networks" in outcome.reason
        assert sink.requests == []

    async def test_connection_refused_retries(self, make_ctx: MakeContext) -> None:
        """Nobody listening is a network failure worth retrying."""
        async with make_ctx() as ctx:
            outcome = await send_http(ctx, "GET", f"http://127.0.0.1:{closed_port()}/")
        assert isinstance(outcome, RetryLater)
        assert outcome.reason.startswith("connection failed")

    async def test_timeout_retries(self, make_ctx: MakeContext, sink: HttpSink) -> None:
        """A server that does not answer within the timeout is retried later."""
        sink.set_mode("slow")
        async with make_ctx(timeout=timedelta(milliseconds=200)) as ctx:
            outcome = await send_http(ctx, "GET", sink.url)
        assert outcome == RetryLater("timed out")

    @pytest.mark.parametrize("url", ["http:///nohost", "not a url", "http://[::1/"])
    async def test_invalid_url_gives_up(self, make_ctx: MakeContext, url: str) -> None:
        """A URL that can never be requested ends the delivery."""
        async with make_ctx() as ctx:
            outcome = await send_http(ctx, "GET", url)
        assert isinstance(outcome, GiveUp)
