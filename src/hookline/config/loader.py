"""Load a config file: YAML → `${VAR}` interpolation → pydantic → registries → cross-checks.

Every problem becomes a `ConfigError` naming the file, the line and the key path
(`routes[0].actions[1].telegram.chat_id`), and all problems are reported at once.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hookline.actions import ACTIONS
from hookline.actions.base import ActionConfig
from hookline.config.models import (
    SOURCE_NAME,
    ActionSpec,
    ApiModel,
    Config,
    ConfigModel,
    DeliveryModel,
    RetentionModel,
    Route,
    RouteModel,
    ServerModel,
    Source,
    SourceModel,
)
from hookline.errors import ConfigError, ConfigErrors, TemplateError
from hookline.templating import Condition
from hookline.verify import VERIFIERS
from hookline.verify.base import VerifierConfig

Loc = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def load(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; raise `ConfigErrors` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigErrors([ConfigError(f"cannot read: {exc.strerror}", file=str(path))]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigErrors([ConfigError("not UTF-8 text", file=str(path))]) from exc
    return loads(text, file=str(path), environ=os.environ if environ is None else environ)


def loads(text: str, *, file: str = "<config>", environ: Mapping[str, str]) -> Config:
    lines, data = _parse_yaml(text, file)
    errors: list[ConfigError] = []
    reported: set[Loc] = set()

    def error(loc: Loc, message: str) -> None:
        if loc in reported:  # e.g. a missing ${VAR} then "must not be empty": say it once
            return
        reported.add(loc)
        errors.append(
            ConfigError(message, file=file, line=_line_of(lines, loc), key_path=_path(loc))
        )

    substituted: list[tuple[Loc, str]] = []
    data = _interpolate(data, (), environ, error, substituted)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigErrors(
            [ConfigError("the top level must be a mapping of keys", file=file, line=1)]
        )
    config = _build(data, file, error)
    if errors:
        raise ConfigErrors(sorted(errors, key=lambda e: e.line or 0))
    assert config is not None
    secret_values = tuple(value for loc, value in substituted if _is_secret_place(loc, value))
    return dataclasses.replace(config, env_secrets=secret_values)


_SECRET_KEY = re.compile(r"token|secret|pass|key|auth|credential|signature|cookie|url|dsn", re.I)


def _is_secret_place(loc: Loc, value: str) -> bool:
    """Whether a value filled in from `${VAR}` should be treated as a secret: anything in
    headers, and anything under a key that names a credential or a URL (`?api_key=${KEY}`)."""
    if len(value) < 4:
        return False
    keys = [part for part in loc if isinstance(part, str)]
    return "headers" in keys or any(_SECRET_KEY.search(k) for k in keys[-1:])


def _parse_yaml(text: str, file: str) -> tuple[dict[Loc, int], Any]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigErrors(
            [ConfigError(f"invalid YAML: {exc.problem or exc}", file=file, line=line)]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(f"invalid YAML: {exc}", file=file)]) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        try:
            _index_lines(node, (), lines, frozenset())
        except _ShapeError as exc:
            raise ConfigErrors(
                [
                    ConfigError(
                        exc.message, file=file, line=exc.line, key_path=_path(exc.loc) or None
                    )
                ]
            ) from None
    return lines, data


class _ShapeError(Exception):
    def __init__(self, message: str, line: int, loc: Loc) -> None:
        self.message, self.line, self.loc = message, line, loc


def _index_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: frozenset[int]) -> None:
    """Record the line of every key path; refuse repeated keys and self-containing aliases
    (PyYAML silently keeps the last of two equal keys, which hides mistakes)."""
    line = node.start_mark.line + 1
    if id(node) in path:
        raise _ShapeError("invalid YAML: an alias refers to a node that contains it", line, loc)
    lines[loc] = line
    inner = path | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            child = (*loc, str(key.value))
            if str(key.value) in seen:
                raise _ShapeError("duplicate key", key.start_mark.line + 1, child)
            seen.add(str(key.value))
            _index_lines(value, child, lines, inner)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines, inner)


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _interpolate(
    value: Any, loc: Loc, environ: Mapping[str, str], error: Any, substituted: list[tuple[Loc, str]]
) -> Any:
    """Replace `${VAR}` (or `${VAR:-default}`) in every string; a missing VAR is an error.
    Every value filled in is noted in `substituted`, so secrets among them can be redacted."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match["name"], match["default"]
            if name in environ:
                substituted.append((loc, environ[name]))
                return environ[name]
            if default is not None:
                substituted.append((loc, default))
                return default
            error(loc, f"environment variable {name} is not set")
            return ""

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, dict):
        return {
            k: _interpolate(v, (*loc, str(k)), environ, error, substituted)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _interpolate(v, (*loc, i), environ, error, substituted) for i, v in enumerate(value)
        ]
    return value


def _report(exc: ValidationError, prefix: Loc, error: Any) -> None:
    for item in exc.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not _is_union_tag(p))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        error((*prefix, *loc), message)


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _validate(model: type[BaseModel], data: Any, loc: Loc, error: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _report(exc, loc, error)
        return None


def _build(data: dict[str, Any], file: str, error: Any) -> Config | None:
    """Validate section by section, so one run reports every problem in the file."""
    for key in data:
        if key not in ConfigModel.model_fields:
            error((key,), f"unknown key (known: {', '.join(ConfigModel.model_fields)})")
    sections = {
        key: _validate(ConfigModel.model_fields[key].annotation, data[key], (key,), error)  # type: ignore[arg-type]
        for key in ("server", "delivery", "api", "retention")
        if key in data
    }
    server = sections.get("server") or ServerModel()
    database = data.get("database")
    if database is not None and not isinstance(database, str):
        error(("database",), "expected a database URL or a file path")
    sources = _build_sources(data.get("sources") or {}, server, error)
    routes = _build_routes(data.get("routes") or [], data.get("sources") or {}, error)
    if sources is None or routes is None:
        return None
    return Config(
        path=file,
        database=database if isinstance(database, str) else None,
        server=server,
        sources=sources,
        routes=tuple(routes),
        delivery=sections.get("delivery") or DeliveryModel(),
        api=sections.get("api") or ApiModel(),
        retention=sections.get("retention") or RetentionModel(),
    )


def _build_sources(raw: Any, server: ServerModel, error: Any) -> dict[str, Source] | None:
    if not isinstance(raw, dict):
        error(("sources",), "expected a mapping of source names to sources")
        return None
    sources: dict[str, Source] = {}
    for name, body in raw.items():
        loc: Loc = ("sources", str(name))
        if not SOURCE_NAME.match(str(name)):
            error(loc, f"source name {name!r} must be 1-64 letters, digits, '.', '_' or '-'"
                  " (it becomes the URL path /hooks/<name>)")  # fmt: skip
            continue
        source: SourceModel | None = _validate(SourceModel, body, loc, error)
        if source is None:
            continue
        verify = _build_verifier(source.verify, (*loc, "verify"), error)
        if verify is not None:
            sources[str(name)] = Source(
                name=str(name),
                verify=verify,
                id=source.id,
                type=source.type,
                max_body_size=source.max_body_size or server.max_body_size,
                allow_ips=tuple(source.allow_ips or ()),
            )
    return sources


def _build_routes(raw: Any, sources: Any, error: Any) -> list[Route] | None:
    if not isinstance(raw, list):
        error(("routes",), "expected a list of routes")
        return None
    routes: list[Route] = []
    seen: set[str] = set()
    for index, body in enumerate(raw):
        loc: Loc = ("routes", index)
        route: RouteModel | None = _validate(RouteModel, body, loc, error)
        if route is None:
            continue
        if route.name in seen:
            error((*loc, "name"), f"duplicate route name {route.name!r}")
        seen.add(route.name)
        if not isinstance(sources, dict) or route.source not in sources:
            known = ", ".join(sorted(sources)) if isinstance(sources, dict) else ""
            error((*loc, "source"), f"unknown source {route.source!r} (sources: {known or 'none'})")
        condition = None
        if route.if_ is not None:
            try:
                condition = Condition(route.if_)
            except TemplateError as exc:
                error((*loc, "if"), exc.message)
        actions = [
            _build_action(i, spec, (*loc, "actions", i), error)
            for i, spec in enumerate(route.actions)
        ]
        routes.append(
            Route(route.name, route.source, condition, tuple(a for a in actions if a is not None))
        )
    return routes


def _build_verifier(data: dict[str, Any], loc: Loc, error: Any) -> VerifierConfig | None:
    provider = data.get("provider")
    if provider is None:
        error(
            (*loc, "provider"), f"required key is missing (one of: {', '.join(VERIFIERS.names())})"
        )
        return None
    if not isinstance(provider, str) or provider not in VERIFIERS:
        error(
            (*loc, "provider"),
            f"unknown provider {provider!r}; known: {', '.join(VERIFIERS.names())}",
        )
        return None
    config: VerifierConfig | None = _validate(
        VERIFIERS.get(provider).config_model, data, loc, error
    )
    return config


def _build_action(index: int, spec: dict[str, Any], loc: Loc, error: Any) -> ActionSpec | None:
    if len(spec) != 1:
        error(
            loc,
            f"an action is one key naming it (one of: {', '.join(ACTIONS.names())}), "
            f"got {len(spec)} keys",
        )
        return None
    ((name, body),) = spec.items()
    if name not in ACTIONS:
        error((*loc, name), f"unknown action {name!r}; known: {', '.join(ACTIONS.names())}")
        return None
    config: ActionConfig | None = _validate(
        ACTIONS.get(name).config_model, body or {}, (*loc, name), error
    )
    return None if config is None else ActionSpec(index, name, config)
