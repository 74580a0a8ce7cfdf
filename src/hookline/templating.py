"""One template language for conditions and text: Jinja2 in its sandbox.

Templates are compiled when the config is loaded, so a syntax error is a located error at
`hookline check` time. Rendering errors (a missing key, a type error) can only be found at
run time; they become `TemplateError`, which the worker turns into a `dead` delivery.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from hookline.errors import TemplateError

Escape = Literal["none", "html", "markdown"]

_MARKDOWN_V2_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def escape_markdown_v2(value: object) -> str:
    """Escape every character Telegram's MarkdownV2 treats as markup."""
    return _MARKDOWN_V2_SPECIAL.sub(r"\\\1", str(value))


class _StrictSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, but unsafe attribute access is an error even under lenient undefined
    handling (conditions), so `''.__class__` never passes quietly as "false"."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe."
        )


def _make_env(escape: Escape, undefined: type[jinja2.Undefined]) -> ImmutableSandboxedEnvironment:
    env = _StrictSandbox(
        autoescape=escape == "html",
        undefined=undefined,
        finalize=escape_markdown_v2 if escape == "markdown" else None,
        keep_trailing_newline=True,
    )
    return env


_ENVS: dict[tuple[Escape, bool], ImmutableSandboxedEnvironment] = {}


def _env(escape: Escape, strict: bool) -> ImmutableSandboxedEnvironment:
    key = (escape, strict)
    if key not in _ENVS:
        undefined = jinja2.StrictUndefined if strict else jinja2.ChainableUndefined
        _ENVS[key] = _make_env(escape, undefined)
    return _ENVS[key]


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What templates and conditions see: `event`, `payload`, `headers` and `query`."""

    event: Mapping[str, Any]
    payload: Any
    headers: Mapping[str, str]
    query: Mapping[str, str]

    def variables(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "payload": self.payload,
            "headers": self.headers,
            "query": self.query,
        }


def event_variables(
    *, id: str, type: str | None, source: str, received_at: datetime, external_id: str | None
) -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "source": source,
        "received_at": received_at.isoformat(),
        "external_id": external_id,
    }


def _describe(exc: Exception) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"syntax error: {exc.message} (template line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"


class Template:
    """A text template, validated from a YAML string and compiled once per escape mode."""

    __slots__ = ("__dict__", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._compiled("none")  # a syntax error surfaces now, at config load

    @cached_property
    def _by_escape(self) -> dict[Escape, jinja2.Template]:
        return {}

    def _compiled(self, escape: Escape) -> jinja2.Template:
        cache = self._by_escape
        if escape not in cache:
            try:
                cache[escape] = _env(escape, strict=True).from_string(self.source)
            except jinja2.TemplateError as exc:
                raise TemplateError(_describe(exc), template=self.source) from exc
        return cache[escape]

    @property
    def is_constant(self) -> bool:
        return "{" not in self.source

    @cached_property
    def _literal(self) -> bool:
        """Text with no markup renders as itself (Jinja would only turn CR LF into LF), so
        a fixed URL or header costs no sandbox context per delivery."""
        return "{" not in self.source and "\r" not in self.source

    def render(self, ctx: RenderContext, *, escape: Escape = "none") -> str:
        if self._literal:
            return self.source
        try:
            return self._compiled(escape).render(ctx.variables())
        except TemplateError:
            raise
        except Exception as exc:  # any error inside user template code is a template error
            raise TemplateError(
                f"cannot render {self.source!r}: {_describe(exc)}", template=self.source
            ) from exc

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _validate_template,
            core_schema.union_schema(
                [core_schema.is_instance_schema(cls), core_schema.str_schema()],
                custom_error_type="string_type",
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda t: t.source),
        )


def _validate_template(value: Template | str) -> Template:
    if isinstance(value, Template):
        return value
    try:
        return Template(value)
    except TemplateError as exc:
        raise ValueError(exc.message) from None


class Condition:
    """A sandboxed Jinja2 expression deciding whether a route applies to an event.

    A missing key is falsy (ChainableUndefined), so `payload.data.object.status == 'paid'`
    is simply false for events without that path; a real error raises `TemplateError`.
    """

    __slots__ = ("_expression", "_fast", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._expression = _env("none", strict=False).compile_expression(
                source, undefined_to_none=False
            )
        except jinja2.TemplateError as exc:
            raise TemplateError(_describe(exc), template=source) from exc
        self._fast = _fast_event_test(source)

    def matches(self, ctx: RenderContext) -> bool:
        if self._fast is not None:
            return self._fast(ctx.event)
        try:
            result = self._expression(**ctx.variables())
            return bool(result) and not isinstance(result, jinja2.Undefined)
        except Exception as exc:  # any error inside user template code is a template error
            raise TemplateError(
                f"cannot evaluate condition {self.source!r}: {_describe(exc)}",
                template=self.source,
            ) from exc

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            _validate_condition,
            core_schema.union_schema(
                [core_schema.is_instance_schema(cls), core_schema.str_schema()],
                custom_error_type="string_type",
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda c: c.source),
        )


# The most common route condition, `event.type == 'payment_intent.succeeded'`, is evaluated
# on every ingest; in the sandbox it costs ~10 % of the ingest path's CPU. This exact shape
# (an event field compared with a plain string literal) means the same in Python, so it is
# answered directly; anything else goes through the sandbox.
_EVENT_FIELD_TEST = re.compile(
    r"""^\s*event\.(?P<field>type|source|id|external_id)\s*(?P<op>==|!=)\s*"""
    r"""(?P<quote>['"])(?P<value>[^'"\\{}\x00-\x1f\x7f]*)(?P=quote)\s*$"""
)


def _fast_event_test(source: str) -> Callable[[Mapping[str, Any]], bool] | None:
    match = _EVENT_FIELD_TEST.match(source)
    if match is None:
        return None
    field, value = match["field"], match["value"]
    if match["op"] == "==":
        return lambda event: event.get(field) == value
    return lambda event: event.get(field) != value


def _validate_condition(value: Condition | str) -> Condition:
    if isinstance(value, Condition):
        return value
    try:
        return Condition(value)
    except TemplateError as exc:
        raise ValueError(exc.message) from None


_LONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


def compile_structure(value: Any) -> Any:
    """Compile every string inside a JSON-like structure into a `Template`."""
    if isinstance(value, str):
        return Template(value)
    if isinstance(value, dict):
        return {str(k): compile_structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [compile_structure(v) for v in value]
    return value


def render_structure(value: Any, ctx: RenderContext) -> Any:
    """Render a compiled structure. A string that is one lone `{{ expr }}` keeps the
    expression's native type, so `amount: "{{ payload.amount }}"` stays a number."""
    if isinstance(value, Template):
        path = _plain_path(value.source)
        if path is not None:
            found = _follow(path, ctx)
            if found is not _NOT_PLAIN:
                return found
        expression = _lone_expression(value.source)
        if expression is not None:
            return _evaluate(expression, value.source, ctx)
        return value.render(ctx)
    if isinstance(value, dict):
        return {k: render_structure(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [render_structure(v, ctx) for v in value]
    return value


# Action fields are mostly one lone path into the payload (`{{ payload.data.object.id }}`),
# rendered once per delivery; building a sandbox context for it was ~20 % of a worker's CPU.
# Down plain dictionaries, such a path means exactly what the sandbox makes of it: `a.b` on
# a dict with no attribute `b` is the item `b`. Anything else (a missing key, a name that is
# also a dict method, a non-dict on the way) goes to the sandbox, which decides or errors.
_PLAIN_PATH = re.compile(
    r"^\s*\{\{\s*(event|payload|headers|query)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\}\}\s*$"
)
_NOT_PLAIN = object()


@functools.lru_cache(maxsize=4096)
def _plain_path(source: str) -> tuple[str, tuple[str, ...]] | None:
    match = _PLAIN_PATH.match(source)
    if match is None:
        return None
    names = tuple(match[2][1:].split("."))
    if any(name.startswith("_") or hasattr(dict, name) for name in names):
        return None
    return match[1], names


def _follow(path: tuple[str, tuple[str, ...]], ctx: RenderContext) -> Any:
    root, names = path
    value: Any = getattr(ctx, root)
    for name in names:
        if type(value) is not dict or name not in value:
            return _NOT_PLAIN
        value = value[name]
    return value


@functools.lru_cache(maxsize=4096)
def _lone_expression(source: str) -> Any:
    """The compiled expression if `source` is exactly one `{{ expr }}`, else None (cached:
    compiling costs far more than evaluating)."""
    lone = _LONE_EXPRESSION.match(source)
    if not lone or "{{" in lone["expr"] or "}}" in lone["expr"]:
        return None
    try:
        return _env("none", strict=True).compile_expression(lone["expr"], undefined_to_none=False)
    except jinja2.TemplateError as exc:
        raise TemplateError(_describe(exc), template=source) from exc


def _evaluate(expression: Any, source: str, ctx: RenderContext) -> Any:
    try:
        result = expression(**ctx.variables())
        if isinstance(result, jinja2.Undefined):
            str(result)  # StrictUndefined raises here with the missing name
        return result
    except Exception as exc:  # any error inside user template code is a template error
        raise TemplateError(f"cannot render {source!r}: {_describe(exc)}", template=source) from exc
