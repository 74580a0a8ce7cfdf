"""Structured logs on stderr, with every configured secret scrubbed from every event."""

from __future__ import annotations

import logging
import sys

import structlog

from hookline.redact import Redactor


def configure(
    *, verbose: bool = False, json: bool = False, redactor: Redactor | None = None
) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    processors.append(structlog.processors.format_exc_info)
    if redactor is not None:  # after the traceback is text, so it is scrubbed too
        processors.append(redactor.structlog_processor)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
