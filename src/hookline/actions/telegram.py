"""The `telegram` action: send a message through the Bot API's `sendMessage`.

Provider quirks live here; the generic HTTP part is `classify_http`. Telegram answers with
`{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`
(https://core.telegram.org/bots/api#making-requests): `retry_after` means "flood control,
wait N seconds", `migrate_to_chat_id` means the group became a supergroup with a new id.
The bot token is part of the URL path, so every text returned from here is scrubbed of it.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import BeforeValidator, ConfigDict, SecretStr, field_validator

from hookline.actions.base import (
    ActionConfig,
    ActionContext,
    GiveUp,
    HttpAnswer,
    Outcome,
    RetryLater,
    Succeeded,
    classify_http,
    excerpt,
    json_or_none,
    send_http,
)
from hookline.deliver.retry import MAX_RETRY_AFTER_SECONDS
from hookline.templating import Escape, RenderContext, Template

MESSAGE_LIMIT = 4096  # UTF-16 code units; Telegram counts "characters" that way

ParseMode = Literal["HTML", "MarkdownV2", "Markdown"]

# Template variables are escaped for the parse mode; the legacy "Markdown" mode has no
# escaping scheme that covers every character, so values are inserted as they are.
_ESCAPE_FOR: dict[ParseMode | None, Escape] = {
    "HTML": "html",
    "MarkdownV2": "markdown",
    "Markdown": "none",
    None: "none",
}


def _chat_id_as_text(value: object) -> object:
    """YAML gives numeric chat ids as ints; templates need text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class TelegramConfig(ActionConfig):
    """`telegram:` in a route. `chat_id` and `text` are templates."""

    model_config = ConfigDict(hide_input_in_errors=True)  # never echo the token back

    token: SecretStr
    chat_id: Annotated[Template, BeforeValidator(_chat_id_as_text)]
    text: Template
    parse_mode: ParseMode | None = None
    api_url: str = "https://api.telegram.org"
    disable_web_page_preview: bool = False
    disable_notification: bool = False

    @field_validator("api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_url must start with http:// or https://")
        return value.rstrip("/")


class TelegramAction:
    name: ClassVar[str] = "telegram"
    config_model: ClassVar[type[TelegramConfig]] = TelegramConfig

    async def perform(self, config: TelegramConfig, ctx: ActionContext) -> Outcome:
        token = config.token.get_secret_value()
        chat_id = config.chat_id.render(ctx.render).strip()
        text = config.text.render(ctx.render, escape=_ESCAPE_FOR[config.parse_mode])
        if not chat_id:
            return GiveUp("chat_id rendered empty")
        if not text.strip():
            return GiveUp("the message text rendered empty; Telegram refuses empty messages")
        url = f"{config.api_url}/bot{token}/sendMessage"
        parts = split_message(text, config.parse_mode)
        # A retry goes on after the parts an earlier attempt of this series sent; if they no
        # longer line up (the text changed), the whole message goes again (at least once).
        done = ctx.progress if ctx.progress < len(parts) else 0
        outcome: Outcome = GiveUp("nothing sent")
        for index in range(done, len(parts)):
            outcome = await self._send(ctx, url, _payload(config, chat_id, parts[index]))
            if isinstance(outcome, RetryLater):
                outcome = dataclasses.replace(outcome, progress=index)
            if not isinstance(outcome, Succeeded):
                break
        return _scrub(outcome, token)

    def preview(self, config: TelegramConfig, render: RenderContext) -> dict[str, Any]:
        """What `perform` would send, without sending it (the dashboard's dry run)."""
        text = config.text.render(render, escape=_ESCAPE_FOR[config.parse_mode])
        chat_id = config.chat_id.render(render).strip()
        messages = split_message(text, config.parse_mode)
        return {"chat_id": chat_id, "parse_mode": config.parse_mode, "text": text,
                "messages": len(messages)}  # fmt: skip

    async def _send(self, ctx: ActionContext, url: str, payload: dict[str, Any]) -> Outcome:
        answer = await send_http(ctx, "POST", url, json=payload)
        if not isinstance(answer, HttpAnswer):
            return answer
        return classify_telegram(answer)


def _payload(config: TelegramConfig, chat_id: str, text: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if config.parse_mode:
        payload["parse_mode"] = config.parse_mode
    if config.disable_web_page_preview:
        payload["link_preview_options"] = {"is_disabled": True}  # Bot API 7.0 form
    if config.disable_notification:
        payload["disable_notification"] = True
    return payload


def classify_telegram(answer: HttpAnswer) -> Outcome:
    """Telegram's own answer first (it says more than the status), then the generic rules."""
    data = json_or_none(answer.body)
    if not isinstance(data, dict):
        data = {}
    status = answer.status
    description = str(data.get("description") or "").strip()
    said = excerpt(description) if description else excerpt(answer.body)
    if data.get("ok") is True:
        return Succeeded(status, excerpt(answer.body))
    parameters = data.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    retry_after = parameters.get("retry_after")
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
        reason = f"Telegram flood control: {description or 'Too Many Requests'}"
        after = timedelta(seconds=min(max(retry_after, 0), MAX_RETRY_AFTER_SECONDS))
        return RetryLater(reason, after=after, status_code=status, excerpt=said)
    new_chat = parameters.get("migrate_to_chat_id")
    if new_chat is not None:
        reason = f"chat migrated to a supergroup; set chat_id to {new_chat}"
        return GiveUp(reason, status_code=status, excerpt=said)
    if status in (401, 404):
        return GiveUp("invalid bot token", status_code=status, excerpt=said)
    if status in (400, 403):
        reason = f"Telegram refused the message: {description or f'HTTP {status}'}"
        return GiveUp(reason, status_code=status, excerpt=said)
    generic = classify_http(status, answer.headers, answer.body)
    if isinstance(generic, Succeeded):  # a 2xx that is not Telegram's answer: wrong api_url?
        reason = f"HTTP {status} without ok: true; is api_url a Bot API server?"
        return GiveUp(reason, status_code=status, excerpt=said)
    return dataclasses.replace(generic, excerpt=said)


def _scrub(outcome: Outcome, token: str) -> Outcome:
    """Replace the token (raw or percent-encoded, as it appears in URLs) with ***."""
    forms = {token, quote(token), quote(token, safe="")} - {""}

    def clean(text: str) -> str:
        for form in forms:
            text = text.replace(form, "***")
        return text

    said = clean(outcome.excerpt) if outcome.excerpt else outcome.excerpt
    if isinstance(outcome, Succeeded):
        return dataclasses.replace(outcome, excerpt=said)
    return dataclasses.replace(outcome, reason=clean(outcome.reason), excerpt=said)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The longest prefix length of `text` whose UTF-16 length is within `limit`."""
    low, high = min(len(text), limit // 2), min(len(text), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if _utf16_len(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


_OPEN_HTML_MARKUP = re.compile(r"(&[#\w]*|<[^>]*)$")
_TRAILING_BACKSLASHES = re.compile(r"\\+$")


def _ends_inside_markup(piece: str, parse_mode: ParseMode | None) -> int | None:
    """Where an unfinished HTML entity/tag or a lone MarkdownV2 `\\` at the end starts."""
    if parse_mode == "HTML" and (match := _OPEN_HTML_MARKUP.search(piece)):
        return match.start()
    if parse_mode == "MarkdownV2" and (match := _TRAILING_BACKSLASHES.search(piece)):
        return len(piece) - 1 if len(match.group()) % 2 else None
    return None


def split_message(
    text: str, parse_mode: ParseMode | None = None, limit: int = MESSAGE_LIMIT
) -> list[str]:
    """Split text into pieces Telegram accepts: at the last newline that fits, else the last
    space, else a hard cut that avoids entities and escapes. Markup spanning a split (an open
    `<b>` whose `</b>` is in the next piece) is not rebalanced; keep formatted spans short."""
    pieces: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        window = rest[: _fitting_prefix(rest, limit)]
        at = window.rfind("\n")
        if at <= 0:
            at = window.rfind(" ")
        if at > 0 and _ends_inside_markup(window[:at], parse_mode) is None:
            piece, rest = window[:at], rest[at + 1 :]
        else:
            cut = _ends_inside_markup(window, parse_mode) or len(window)
            piece, rest = rest[:cut], rest[cut:]
        pieces.append(piece)
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]
