"""Ingest's extensions for the provider catalog: handshakes, GET, allow_ips, stored headers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from hookline.config.loader import loads
from hookline.errors import ConfigErrors
from hookline.verify import github, slack
from tests.support.catalog import CATALOG
from tests.support.hooks_app import hooks_app, stored


def _sources(*names: str, **extra: Any) -> dict[str, Any]:
    return {name: {"verify": CATALOG[name][0], **extra} for name in names}


class TestHandshakes:
    async def test_slack_url_verification(self, tmp_path: Path) -> None:
        """Slack's signed challenge is echoed as text/plain and nothing is stored."""
        body = json.dumps({"type": "url_verification", "challenge": "ch4llenge"}).encode()
        headers = slack.sign(body, CATALOG["slack"][1], int(time.time()))
        async with hooks_app(tmp_path, _sources("slack")) as (client, store):
            response = await client.post("/hooks/slack", headers=headers, content=body)
            assert (response.status_code, response.text) == (200, "ch4llenge")
            assert response.headers["content-type"] == "text/plain"
            assert await stored(store) == []

    async def test_github_ping(self, tmp_path: Path) -> None:
        """A signed ping is answered 200 and not stored; an unsigned one is 401."""
        body = b'{"zen": "Practicality beats purity."}'
        headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d"}
        signature = {"X-Hub-Signature-256": github.sign(body, CATALOG["github"][1])}
        async with hooks_app(tmp_path, _sources("github")) as (client, store):
            ok = await client.post("/hooks/github", headers=headers | signature, content=body)
            assert ok.status_code == 200 and ok.json() == {"ok": True, "ping": True}
            forged = await client.post("/hooks/github", headers=headers, content=body)
            assert forged.status_code == 401
            assert await stored(store) == []

    async def test_meta_get_challenge(self, tmp_path: Path) -> None:
        """Meta's GET subscription check is answered with the challenge; a wrong token is 401."""
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": "catalog-verify",
            "hub.challenge": "9",
        }
        async with hooks_app(tmp_path, _sources("meta")) as (client, store):
            ok = await client.get("/hooks/meta", params=query)
            assert (ok.status_code, ok.text) == (200, "9")
            bad = await client.get("/hooks/meta", params={**query, "hub.verify_token": "x"})
            assert bad.status_code == 401
            assert await stored(store) == []

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_other_methods_still_405(self, tmp_path: Path, method: str) -> None:
        """Sources whose provider declares no GET keep answering 405 to anything but POST."""
        async with hooks_app(tmp_path, _sources("stripe", "slack")) as (client, _):
            for name in ("stripe", "slack"):
                response = await client.request(method, f"/hooks/{name}")
                assert response.status_code == 405


class TestAllowIps:
    @pytest.mark.parametrize(
        ("client_ip", "allowed", "status"),
        [
            ("203.0.113.7", ["203.0.113.0/24"], 200),
            ("198.51.100.1", ["203.0.113.0/24"], 403),
            ("::ffff:203.0.113.7", ["203.0.113.0/24"], 200),  # dual-stack socket, IPv4 caller
            ("2001:db8::5", ["2001:db8::/32", "10.0.0.1"], 200),
            ("2001:db9::5", ["2001:db8::/32"], 403),
            ("not-an-ip", ["0.0.0.0/0"], 403),  # a client address the server could not name
        ],
    )
    async def test_callers_outside_the_list_get_403(
        self, tmp_path: Path, client_ip: str, allowed: list[str], status: int
    ) -> None:
        """Only callers inside allow_ips reach verification; the rest get 403, nothing stored."""
        sources = _sources("none", allow_ips=allowed)
        async with hooks_app(tmp_path, sources, client_ip=client_ip) as (client, store):
            response = await client.post("/hooks/none", content=b"{}")
            assert response.status_code == status
            assert len(await stored(store)) == (1 if status == 200 else 0)
            if status == 403:
                assert response.json()["error"]["code"] == "forbidden"

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("10.0.0.1/8", "has host bits set"),
            ("nope", "expected an IP address or network"),
            (42, "expected an IP address or network"),
        ],
    )
    def test_bad_entries_are_located_config_errors(self, value: Any, message: str) -> None:
        """An entry that is not an address or network names its key path."""
        text = json.dumps(
            {"sources": {"s": {"verify": {"provider": "none"}, "allow_ips": [value]}}}
        )
        with pytest.raises(ConfigErrors) as info:
            loads(text, file="t.yaml", environ={})
        (error,) = info.value.errors
        assert error.key_path == "sources.s.allow_ips[0]" and message in error.problem

    def test_an_empty_list_is_an_error_not_anyone(self) -> None:
        """`allow_ips: []` (an empty variable, say) refuses to load instead of letting all in."""
        text = json.dumps({"sources": {"s": {"verify": {"provider": "none"}, "allow_ips": []}}})
        with pytest.raises(ConfigErrors) as info:
            loads(text, file="t.yaml", environ={})
        (error,) = info.value.errors
        assert error.key_path == "sources.s.allow_ips" and "at least 1" in error.problem


class TestStoredHeaders:
    async def test_shared_tokens_are_not_stored(self, tmp_path: Path) -> None:
        """GitLab's and Telegram's tokens are credentials: verified, then not kept."""
        async with hooks_app(tmp_path, _sources("gitlab", "telegram")) as (client, store):
            gitlab_headers = {"X-Gitlab-Token": CATALOG["gitlab"][1], "X-Custom": "kept"}
            sent = await client.post("/hooks/gitlab", headers=gitlab_headers, content=b"{}")
            assert sent.status_code == 200
            telegram_headers = {"X-Telegram-Bot-Api-Secret-Token": CATALOG["telegram"][1]}
            sent = await client.post("/hooks/telegram", headers=telegram_headers, content=b"{}")
            assert sent.status_code == 200
            headers = {s.source: (await store.get_event(s.id)).headers for s in await stored(store)}
            assert set(headers) == {"gitlab", "telegram"}
            assert (
                "x-gitlab-token" not in headers["gitlab"]
                and headers["gitlab"]["x-custom"] == "kept"
            )
            assert "x-telegram-bot-api-secret-token" not in headers["telegram"]

    async def test_custom_bearer_header_and_query_token_are_not_stored(self, tmp_path: Path):
        """A bearer token sent in its own header or query parameter is verified, then dropped."""
        sources = {
            "hdr": {
                "verify": {"provider": "bearer", "token": "tok-in-header", "header": "X-Hook-Key"}
            },
            "qry": {"verify": {"provider": "bearer", "token": "tok-in-query", "query": "key"}},
        }
        async with hooks_app(tmp_path, sources) as (client, store):
            ok = await client.post(
                "/hooks/hdr", headers={"X-Hook-Key": "tok-in-header"}, content=b"{}"
            )
            assert ok.status_code == 200
            ok = await client.post("/hooks/qry?key=tok-in-query&page=2", content=b"{}")
            assert ok.status_code == 200
            for summary in await stored(store):
                event = await store.get_event(summary.id)
                assert event is not None
                assert "x-hook-key" not in event.headers and "key" not in event.query
                assert event.source != "qry" or event.query == {"page": "2"}
