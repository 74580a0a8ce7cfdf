"""The `telegram` action against a fake Bot API server speaking real HTTP."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from hookline.actions import ACTIONS
from hookline.actions.base import (
    ActionContext,
    GiveUp,
    HttpAnswer,
    Outcome,
    RetryLater,
    Succeeded,
)
from hookline.actions.telegram import (
    TelegramAction,
    TelegramConfig,
    classify_telegram,
    split_message,
)
from hookline.errors import TemplateError
from tests.support.fake_telegram import DEFAULT_TOKEN, FakeTelegram
from tests.unit.actions.conftest import MakeContext
from tests.unit.actions.test_classify import closed_port

CANONICAL_TEXT = (
    "New payment! Order #{{ payload.data.object.metadata.order_id }}, "
    "{{ payload.data.object.metadata.client }}, "
    "{{ payload.data.object.amount // 100 }} {{ payload.data.object.currency | upper }}"
)
REPO_ROOT = Path(__file__).resolve().parents[3]


def config(server: FakeTelegram | None = None, **values: Any) -> TelegramConfig:
    values.setdefault("token", DEFAULT_TOKEN)
    values.setdefault("chat_id", 42)
    values.setdefault("text", CANONICAL_TEXT)
    if server is not None:
        values.setdefault("api_url", server.url)
    return TelegramConfig.model_validate(values)


def assert_no_token(outcome: Outcome, token: str = DEFAULT_TOKEN) -> None:
    texts = [outcome.excerpt or "", getattr(outcome, "reason", "")]
    assert not any(token in text for text in texts), outcome


class TestTelegramConfig:
    def test_registered(self) -> None:
        """The registry's `telegram` name loads this action."""
        assert ACTIONS.get("telegram") is TelegramAction

    def test_numeric_chat_id_becomes_a_template(self) -> None:
        """YAML gives chat ids as numbers; they are kept as text."""
        assert config(chat_id=-1001).chat_id.source == "-1001"

    def test_api_url_trailing_slash_is_dropped(self) -> None:
        """`api_url` may be written with or without a trailing slash."""
        assert config(api_url="http://127.0.0.1:9/").api_url == "http://127.0.0.1:9"

    @pytest.mark.parametrize(
        "values",
        [
            {"parse_mode": "html"},  # Telegram's names are case-sensitive
            {"api_url": "ftp://api.telegram.org"},
            {"text": "{{ unclosed"},
            {"chat": 1},  # unknown key
        ],
    )
    def test_invalid_configs_are_rejected(self, values: dict[str, Any]) -> None:
        """Bad parse modes, URLs, template syntax and typos fail at load, without the token."""
        with pytest.raises(ValidationError) as error:
            config(**values)
        assert DEFAULT_TOKEN not in str(error.value)


class TestSplitMessage:
    def test_short_text_is_one_piece(self) -> None:
        """A message within the limit is sent as it is."""
        assert split_message("hello\nworld") == ["hello\nworld"]

    def test_splits_on_newlines(self) -> None:
        """Long text is cut at the last newline that fits, keeping lines whole."""
        lines = [f"line {i:04d} " + "x" * 40 for i in range(300)]
        pieces = split_message("\n".join(lines), limit=1000)
        assert all(len(p) <= 1000 for p in pieces)
        assert "\n".join(pieces).split("\n") == lines

    def test_splits_on_spaces_without_newlines(self) -> None:
        """Without newlines, words are kept whole."""
        words = [f"word{i}" for i in range(500)]
        pieces = split_message(" ".join(words), limit=100)
        assert all(len(p) <= 100 for p in pieces)
        assert " ".join(pieces).split(" ") == words

    def test_hard_cut_keeps_every_character(self) -> None:
        """Text without any whitespace is cut hard, losing nothing."""
        text = "a" * 250
        pieces = split_message(text, limit=100)
        assert [len(p) for p in pieces] == [100, 100, 50]

    def test_hard_cut_avoids_html_entities(self) -> None:
        """In HTML mode an entity like &amp; is never split across pieces."""
        text = "a" * 97 + "&amp;" + "b" * 50
        pieces = split_message(text, "HTML", limit=100)
        assert pieces == ["a" * 97, "&amp;" + "b" * 50]

    def test_hard_cut_avoids_markdown_escapes(self) -> None:
        """In MarkdownV2 mode a backslash stays with the character it escapes."""
        text = "a" * 99 + "\\." + "b" * 10
        pieces = split_message(text, "MarkdownV2", limit=100)
        assert pieces == ["a" * 99, "\\." + "b" * 10]

    def test_counts_utf16_code_units(self) -> None:
        """An emoji counts twice, as Telegram counts it."""
        pieces = split_message("😀" * 60, limit=100)
        assert [len(p) for p in pieces] == [50, 10]


class TestClassifyTelegram:
    @pytest.mark.parametrize(
        ("status", "body", "expected"),
        [
            (429, b'{"ok":false,"error_code":429,"description":"Too Many Requests"}', RetryLater),
            (500, b"<html>oops</html>", RetryLater),
            (404, b'{"ok":false,"error_code":404,"description":"Not Found"}', GiveUp),
            (200, b"<html>not the Bot API</html>", GiveUp),
            (200, b'{"ok":true,"result":{"message_id":1}}', Succeeded),
        ],
    )
    def test_answers(self, status: int, body: bytes, expected: type) -> None:
        """Telegram's JSON decides first; without it, the generic HTTP rules apply."""
        assert isinstance(classify_telegram(HttpAnswer(status, {}, body)), expected)

    def test_retry_after_wins_over_status(self) -> None:
        """retry_after is obeyed whatever the status that carries it."""
        body = b'{"ok":false,"error_code":400,"parameters":{"retry_after":30}}'
        outcome = classify_telegram(HttpAnswer(400, {}, body))
        assert isinstance(outcome, RetryLater)
        assert outcome.after == timedelta(seconds=30)


LONG_LINES = [f"{i:05d} " + "x" * 94 for i in range(100)]  # 100 lines of 100: three parts


def long_message(telegram: FakeTelegram) -> TelegramConfig:
    return config(telegram, text="{{ payload.lines | join('\n') }}")


def assert_each_part_once(telegram: FakeTelegram) -> None:
    assert len(telegram.messages) == 3
    assert "\n".join(m.text for m in telegram.messages).split("\n") == LONG_LINES


class TestTelegramAction:
    async def test_sends_the_canonical_message(
        self, ctx: ActionContext, telegram: FakeTelegram
    ) -> None:
        """The rendered text reaches the chat and the answer is a success."""
        outcome = await TelegramAction().perform(config(telegram), ctx)
        assert isinstance(outcome, Succeeded)
        assert outcome.status_code == 200
        [message] = telegram.messages
        assert (message.chat_id, message.parse_mode) == ("42", None)
        assert message.text == "New payment! Order #123, Ivan, 5000 RUB"

    async def test_html_escapes_values_not_markup(
        self, make_ctx: MakeContext, telegram: FakeTelegram
    ) -> None:
        """With HTML, template values are escaped while the template's own tags are kept."""
        cfg = config(telegram, parse_mode="HTML", text="<b>{{ payload.client }}</b> paid")
        async with make_ctx(payload={"client": "<i>Ivan</i> & Co"}) as ctx:
            outcome = await TelegramAction().perform(cfg, ctx)
        assert isinstance(outcome, Succeeded), outcome
        [message] = telegram.messages
        assert message.text == "<b>&lt;i&gt;Ivan&lt;/i&gt; &amp; Co</b> paid"
        assert message.parse_mode == "HTML"

    async def test_markdown_v2_escapes_values(
        self, make_ctx: MakeContext, telegram: FakeTelegram
    ) -> None:
        """With MarkdownV2, reserved characters in values are escaped, markup is kept."""
        cfg = config(telegram, parse_mode="MarkdownV2", text="*Total* {{ payload.total }}")
        async with make_ctx(payload={"total": "1.500-RUB!"}) as ctx:
            outcome = await TelegramAction().perform(cfg, ctx)
        assert isinstance(outcome, Succeeded), outcome
        assert telegram.messages[0].text == "*Total* 1\\.500\\-RUB\\!"

    async def test_long_message_is_split(
        self, make_ctx: MakeContext, telegram: FakeTelegram
    ) -> None:
        """A message over 4096 characters goes out as several messages, in order."""
        async with make_ctx(payload={"lines": LONG_LINES}) as ctx:
            outcome = await TelegramAction().perform(long_message(telegram), ctx)
        assert isinstance(outcome, Succeeded)
        assert_each_part_once(telegram)

    async def test_a_retry_goes_on_after_the_parts_already_sent(
        self, make_ctx: MakeContext, telegram: FakeTelegram
    ) -> None:
        """When a later part fails, the outcome says how many went out; the retry sends only
        the rest, so the chat gets every part once, in order."""
        telegram.set_mode("server_error", times=1, after=1)  # the second part fails once
        async with make_ctx(payload={"lines": LONG_LINES}) as ctx:
            first = await TelegramAction().perform(long_message(telegram), ctx)
        assert isinstance(first, RetryLater) and first.progress == 1
        async with make_ctx(payload={"lines": LONG_LINES}, progress=first.progress) as ctx:
            second = await TelegramAction().perform(long_message(telegram), ctx)
        assert isinstance(second, Succeeded)
        assert_each_part_once(telegram)

    async def test_progress_past_the_end_sends_the_whole_message(
        self, make_ctx: MakeContext, telegram: FakeTelegram
    ) -> None:
        """If the parts no longer line up (the text got shorter), all of it goes again."""
        async with make_ctx(progress=5) as ctx:
            outcome = await TelegramAction().perform(config(telegram), ctx)
        assert isinstance(outcome, Succeeded)
        assert [m.text for m in telegram.messages] == ["New payment! Order #123, Ivan, 5000 RUB"]

    async def test_options_are_sent(self, ctx: ActionContext, telegram: FakeTelegram) -> None:
        """Link previews and notifications can be turned off."""
        cfg = config(telegram, disable_web_page_preview=True, disable_notification=True)
        await TelegramAction().perform(cfg, ctx)
        fields = telegram.messages[0].fields
        assert fields["link_preview_options"] == {"is_disabled": True}
        assert fields["disable_notification"] is True

    async def test_flood_control_retries_after(
        self, ctx: ActionContext, telegram: FakeTelegram
    ) -> None:
        """A 429 with retry_after is retried no sooner than Telegram asks."""
        telegram.set_mode("retry_after", retry_after=2, times=1)
        outcome = await TelegramAction().perform(config(telegram), ctx)
        assert isinstance(outcome, RetryLater)
        assert (outcome.after, outcome.status_code) == (timedelta(seconds=2), 429)
        assert outcome.excerpt == "Too Many Requests: retry after 2"
        assert isinstance(await TelegramAction().perform(config(telegram), ctx), Succeeded)
        assert [r.status for r in telegram.requests] == [429, 200]

    @pytest.mark.parametrize(("mode", "status"), [("down", 502), ("server_error", 500)])
    async def test_server_trouble_retries(
        self, ctx: ActionContext, telegram: FakeTelegram, mode: Any, status: int
    ) -> None:
        """Telegram being down or failing is retried with the generic backoff."""
        telegram.set_mode(mode)
        outcome = await TelegramAction().perform(config(telegram), ctx)
        assert isinstance(outcome, RetryLater)
        assert (outcome.status_code, outcome.after) == (status, None)

    @pytest.mark.parametrize(
        ("mode", "reason"),
        [
            ("blocked", "Telegram refused the message: Forbidden: bot was blocked by the user"),
            ("chat_not_found", "Telegram refused the message: Bad Request: chat not found"),
            ("migrated", "chat migrated to a supergroup; set chat_id to -1001234567890"),
        ],
    )
    async def test_permanent_refusals_give_up(
        self, ctx: ActionContext, telegram: FakeTelegram, mode: Any, reason: str
    ) -> None:
        """A blocked bot, an unknown chat or a migrated group end the delivery with the reason."""
        telegram.set_mode(mode)
        outcome = await TelegramAction().perform(config(telegram), ctx)
        assert isinstance(outcome, GiveUp)
        assert outcome.reason == reason
        assert telegram.messages == []

    async def test_invalid_token_gives_up_without_the_token(
        self, ctx: ActionContext, telegram: FakeTelegram
    ) -> None:
        """A wrong token ends the delivery and the token is not in what is recorded."""
        wrong = "999:WRONG-token"
        outcome = await TelegramAction().perform(config(telegram, token=wrong), ctx)
        assert outcome == GiveUp("invalid bot token", status_code=401, excerpt="Unauthorized")
        assert_no_token(outcome, wrong)

    async def test_network_errors_retry_without_the_token(self, ctx: ActionContext) -> None:
        """An unreachable API is retried; the error text does not carry the token."""
        cfg = config(api_url=f"http://127.0.0.1:{closed_port()}")
        outcome = await TelegramAction().perform(cfg, ctx)
        assert isinstance(outcome, RetryLater)
        assert_no_token(outcome)

    async def test_invalid_url_errors_are_scrubbed(self, ctx: ActionContext) -> None:
        """Even an error quoting the whole URL comes back with the token masked."""
        outcome = await TelegramAction().perform(config(api_url="http://[::1"), ctx)
        assert isinstance(outcome, GiveUp)
        assert "***" in outcome.reason
        assert_no_token(outcome)

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    async def test_private_api_url_is_refused(
        self, guarded_ctx: ActionContext, telegram: FakeTelegram, host: str
    ) -> None:
        """The guard refuses a loopback api_url unless private networks are allowed."""
        cfg = config(api_url=f"http://{host}:{telegram.port}")
        outcome = await TelegramAction().perform(cfg, guarded_ctx)
        assert isinstance(outcome, GiveUp)
        assert "allow_private_networks" in outcome.reason
        assert telegram.requests == []

    async def test_empty_text_gives_up(self, make_ctx: MakeContext, telegram: FakeTelegram) -> None:
        """A text that renders empty is not sent: Telegram would refuse it."""
        async with make_ctx(payload={"note": "  "}) as ctx:
            outcome = await TelegramAction().perform(
                config(telegram, text="{{ payload.note }}"), ctx
            )
        assert isinstance(outcome, GiveUp)
        assert telegram.requests == []

    async def test_template_errors_propagate(
        self, ctx: ActionContext, telegram: FakeTelegram
    ) -> None:
        """A missing variable raises for the worker to record a dead delivery."""
        with pytest.raises(TemplateError):
            await TelegramAction().perform(config(telegram, text="{{ payload.nope.x }}"), ctx)


class TestFakeTelegram:
    async def test_accepts_form_bodies(self, telegram: FakeTelegram) -> None:
        """Like the real API, parameters may come as a form."""
        async with aiohttp.ClientSession() as http:
            url = f"{telegram.url}/bot{telegram.token}/sendMessage"
            async with http.post(url, data={"chat_id": "7", "text": "hi"}) as response:
                body = await response.json()
        assert body["ok"] is True
        assert body["result"]["chat"]["id"] == 7
        assert telegram.messages[0].text == "hi"

    async def test_rejects_unparsable_html(self, telegram: FakeTelegram) -> None:
        """Unescaped markup is refused the way Telegram refuses it."""
        async with aiohttp.ClientSession() as http:
            url = f"{telegram.url}/bot{telegram.token}/sendMessage"
            payload = {"chat_id": 7, "text": "a < b & c", "parse_mode": "HTML"}
            async with http.post(url, json=payload) as response:
                assert response.status == 400
                body = await response.json()
        assert body["description"].startswith("Bad Request: can't parse entities")

    async def test_control_endpoints(self, telegram: FakeTelegram) -> None:
        """The mode can be set and the messages read over HTTP, as a subprocess needs."""
        async with aiohttp.ClientSession() as http:
            await _control(http, telegram.url, {"mode": "blocked", "times": 1})
            url = f"{telegram.url}/bot{telegram.token}/sendMessage"
            for _ in range(2):
                async with http.post(url, json={"chat_id": 1, "text": "x"}):
                    pass
            async with http.get(f"{telegram.url}/_control/messages") as response:
                messages = await response.json()
            async with http.get(f"{telegram.url}/_control/requests") as response:
                requests = await response.json()
        assert [m["text"] for m in messages] == ["x"]
        assert [r["status"] for r in requests] == [403, 200]

    @pytest.mark.slow
    async def test_runs_standalone(self) -> None:
        """`python -m tests.support.fake_telegram` serves on the port it announces."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.fake_telegram", "--port", "0", "--token", "1:T",
            cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            line = (await process.stdout.readline()).decode()
            base = line.removeprefix("listening on ").strip()
            async with aiohttp.ClientSession() as http:
                await _control(http, base, {"mode": "retry_after", "retry_after": 3})
                async with http.post(f"{base}/bot1:T/sendMessage", json={"chat_id": 1}) as r:
                    body = await r.json()
        finally:
            process.terminate()
            await process.wait()
        assert body["parameters"] == {"retry_after": 3}


async def _control(http: aiohttp.ClientSession, base: str, mode: dict[str, Any]) -> None:
    async with http.post(f"{base}/_control/mode", json=mode) as response:
        assert response.status == 200, await response.text()
