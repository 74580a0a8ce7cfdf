"""A fake Telegram Bot API server speaking `POST /bot<token>/sendMessage` for real over HTTP.

It checks what the real API checks that matters to Hookline (the token, a chat id, a
non-empty text within 4096 characters, HTML/MarkdownV2 markup that parses) and can be told to
fail the way Telegram fails (https://core.telegram.org/bots/api#making-requests).

In-process::

    async with FakeTelegram(token) as fake:        # api_url = fake.url
        fake.set_mode("retry_after", retry_after=2, times=1)   # one 429, then ok again
        ...; fake.messages                          # delivered messages, in order

Standalone (acceptance tests; prints `listening on http://127.0.0.1:PORT`)::

    python -m tests.support.fake_telegram --port 0 --token 123456:TEST-token
    POST /_control/mode {"mode": "down"|"ok"|"retry_after"|..., "retry_after": 2, "times": 1}
                        ("after": N lets N more requests through before the mode applies)
    GET  /_control/messages   delivered messages (JSON list)
    GET  /_control/requests   every sendMessage call with the status answered
    POST /_control/reset      forget everything, back to mode "ok"
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from aiohttp import web

from tests.support.local_server import LocalServer, json_body, serve_forever, standalone_parser

DEFAULT_TOKEN = "123456:TEST-fake-token-for-hookline"
Mode = Literal["ok", "down", "server_error", "retry_after", "blocked", "chat_not_found", "migrated"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass
class ReceivedMessage:
    """One sendMessage call as the fake saw it, and the status it answered with."""

    chat_id: str
    text: str
    parse_mode: str | None
    received_at: datetime
    status: int
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data


def _error(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


class FakeTelegram(LocalServer):
    def __init__(
        self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.requests: list[ReceivedMessage] = []
        self.mode: Mode = "ok"
        self.retry_after = 1
        self.migrate_to_chat_id = -1001234567890
        self._times: int | None = None
        self._after = 0  # requests still answered "ok" before the mode applies

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Messages Telegram would have delivered (answered 200)."""
        return [r for r in self.requests if r.status == 200]

    def set_mode(
        self,
        mode: Mode,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer every sendMessage this way; with `times`, only the next N, then "ok";
        with `after`, only once that many more have been answered "ok"."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        self.mode = mode
        self._times = times
        self._after = after
        if retry_after is not None:
            self.retry_after = retry_after
        if migrate_to_chat_id is not None:
            self.migrate_to_chat_id = migrate_to_chat_id

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/_control/mode", self._control_mode)
        app.router.add_get("/_control/messages", self._control_messages)
        app.router.add_get("/_control/requests", self._control_requests)
        app.router.add_post("/_control/reset", self._control_reset)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_method)

    async def _bot_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        if request.match_info["method"].lower() != "sendmessage":
            return _error(404, "Not Found")
        fields = await _fields(request)
        message = ReceivedMessage(
            chat_id=str(fields.get("chat_id", "")),
            text=str(fields.get("text", "")),
            parse_mode=fields.get("parse_mode"),
            received_at=datetime.now(UTC),
            status=0,
            fields=fields,
        )
        response = self._scripted() or _validate(message) or self._delivered(message)
        message.status = response.status
        self.requests.append(message)
        return response

    def _scripted(self) -> web.Response | None:
        mode = self.mode
        if mode == "ok":
            return None
        if self._after > 0:
            self._after -= 1
            return None
        if self._times is not None:
            self._times -= 1
            if self._times <= 0:
                self.mode, self._times = "ok", None
        if mode == "down":
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        if mode == "server_error":
            return _error(500, "Internal Server Error")
        if mode == "retry_after":
            n = self.retry_after
            return _error(429, f"Too Many Requests: retry after {n}", retry_after=n)
        if mode == "blocked":
            return _error(403, "Forbidden: bot was blocked by the user")
        if mode == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        return _error(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=self.migrate_to_chat_id,
        )

    def _delivered(self, message: ReceivedMessage) -> web.Response:
        chat_id = message.chat_id
        numeric = chat_id.lstrip("-").isdigit()
        chat: dict[str, Any] = {"id": int(chat_id) if numeric else -1009876543210}
        chat["type"] = "private" if numeric and int(chat_id) > 0 else "supergroup"
        result = {
            "message_id": len(self.messages) + 1,
            "from": {"id": 123456, "is_bot": True, "first_name": "Hookline Test Bot"},
            "chat": chat,
            "date": int(message.received_at.timestamp()),
            "text": _visible(message.text, message.parse_mode),
        }
        return web.json_response({"ok": True, "result": result})

    async def _control_mode(self, request: web.Request) -> web.Response:
        data = await json_body(request)
        try:
            self.set_mode(
                data.get("mode", "ok"),
                retry_after=data.get("retry_after"),
                migrate_to_chat_id=data.get("migrate_to_chat_id"),
                times=data.get("times"),
                after=int(data.get("after", 0)),
            )
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.json_response({"mode": self.mode})

    async def _control_messages(self, request: web.Request) -> web.Response:
        return web.json_response([m.to_json() for m in self.messages])

    async def _control_requests(self, request: web.Request) -> web.Response:
        return web.json_response([m.to_json() for m in self.requests])

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.requests.clear()
        self.set_mode("ok")
        return web.json_response({"mode": self.mode})


async def _fields(request: web.Request) -> dict[str, Any]:
    """The Bot API takes parameters as JSON, a form, or the query string."""
    fields: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            data = None
        fields.update(data if isinstance(data, dict) else {})
    elif request.can_read_body:
        form = await request.post()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields


_HTML_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<&]"
)
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
    | {"a", "code", "pre", "blockquote", "tg-emoji"}
)
_MARKDOWN_V2_RESERVED = frozenset(".!-=+#{}")


def _validate(message: ReceivedMessage) -> web.Response | None:
    if not message.chat_id:
        return _error(400, "Bad Request: chat_id is empty")
    if not message.text.strip():
        return _error(400, "Bad Request: message text is empty")
    if message.parse_mode not in (None, "", "HTML", "MarkdownV2", "Markdown"):
        return _error(400, f"Bad Request: unsupported parse_mode {message.parse_mode}")
    problem = None
    if message.parse_mode == "HTML":
        problem = _html_problem(message.text)
    elif message.parse_mode == "MarkdownV2":
        problem = _markdown_v2_problem(message.text)
    if problem:
        return _error(400, f"Bad Request: can't parse entities: {problem}")
    if len(_visible(message.text, message.parse_mode).encode("utf-16-le")) // 2 > 4096:
        return _error(400, "Bad Request: message is too long")
    return None


def _html_problem(text: str) -> str | None:
    open_tags: list[str] = []
    for match in _HTML_TOKEN.finditer(text):
        tag = (match["tag"] or "").lower()
        if match.group() in ("<", "&"):
            return f"unescaped {match.group()!r} at offset {match.start()}"
        if not tag:
            continue
        if tag not in _HTML_TAGS:
            return f'Unsupported start tag "{tag}" at offset {match.start()}'
        if not match["close"]:
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            return f'Unexpected end tag "{tag}" at offset {match.start()}'
    if open_tags:
        return f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
    return None


def _markdown_v2_problem(text: str) -> str | None:
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _MARKDOWN_V2_RESERVED:
            return f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    return None


def _visible(text: str, parse_mode: str | None) -> str:
    """The text a user would see: what Telegram's 4096 limit counts."""
    if parse_mode == "HTML":
        return html.unescape(re.sub(r"<[^<>]*>", "", text))
    if parse_mode == "MarkdownV2":
        return re.sub(r"\\(.)", r"\1", text)
    return text


def main(argv: list[str] | None = None) -> None:
    parser = standalone_parser("A fake Telegram Bot API server for tests.")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    serve_forever(FakeTelegram(args.token, host=args.host, port=args.port))


if __name__ == "__main__":
    main()
