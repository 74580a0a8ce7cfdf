"""The `http` action: call any URL (forward a webhook, create a lead in a CRM).

The answer is judged by `classify_http` alone: 2xx succeeds, 408/425/429/5xx retry
(obeying `Retry-After`), any other status gives up, and redirects are never followed because
a redirect to an internal address would bypass the outbound guard's intent.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

import orjson
from pydantic import Field, field_validator, model_validator

from hookline import __version__
from hookline.actions.base import (
    ActionConfig,
    ActionContext,
    GiveUp,
    HttpAnswer,
    Outcome,
    classify_http,
    send_http,
)
from hookline.errors import TemplateError
from hookline.templating import Template, compile_structure, render_structure

USER_AGENT = f"Hookline/{__version__}"


class HttpConfig(ActionConfig):
    """`http:` in a route. `url`, header values, `json` strings and `body` are templates."""

    url: Template
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, Template] = Field(default_factory=dict)
    # `json` would shadow BaseModel.json(); the YAML key stays `json`.
    json_: Any | None = Field(default=None, alias="json")
    body: Template | None = None

    @field_validator("json_")
    @classmethod
    def _compile_json(cls, value: Any) -> Any:
        """Every string in the structure becomes a template; a syntax error fails now."""
        try:
            return compile_structure(value)
        except TemplateError as exc:
            raise ValueError(exc.message) from None

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, Template]) -> dict[str, Template]:
        for name in value:
            if not name or any(c in name for c in " \t\r\n:"):
                raise ValueError(f"invalid header name {name!r}")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        if self.json_ is not None and self.body is not None:
            raise ValueError("`json` and `body` are mutually exclusive; use one of them")
        return self


class HttpAction:
    name: ClassVar[str] = "http"
    config_model: ClassVar[type[HttpConfig]] = HttpConfig

    async def perform(self, config: HttpConfig, ctx: ActionContext) -> Outcome:
        url = config.url.render(ctx.render).strip()
        if not url.lower().startswith(("http://", "https://")):
            return GiveUp(f"url must start with http:// or https://, got {url[:200]!r}")
        headers = {"User-Agent": USER_AGENT}
        for name, value in config.headers.items():
            rendered = value.render(ctx.render)
            if "\r" in rendered or "\n" in rendered:
                return GiveUp(f"header {name} rendered with a line break; refusing to send it")
            _set_header(headers, name, rendered)
        data: bytes | None = None
        if config.json_ is not None:
            payload = render_structure(config.json_, ctx.render)
            data = orjson.dumps(payload, default=str)
            _set_header(headers, "Content-Type", "application/json", replace=False)
        elif config.body is not None:
            data = config.body.render(ctx.render).encode()
            _set_header(headers, "Content-Type", "text/plain; charset=utf-8", replace=False)
        answer = await send_http(ctx, config.method, url, headers=headers, data=data)
        if not isinstance(answer, HttpAnswer):
            return answer
        return classify_http(answer.status, answer.headers, answer.body)


def _set_header(headers: dict[str, str], name: str, value: str, *, replace: bool = True) -> None:
    """Header names are case-insensitive: a user's `user-agent` replaces our `User-Agent`."""
    existing = next((key for key in headers if key.lower() == name.lower()), None)
    if existing is not None:
        if not replace:
            return
        del headers[existing]
    headers[name] = value
