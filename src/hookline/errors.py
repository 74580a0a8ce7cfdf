"""Every error Hookline raises on purpose descends from `HooklineError`.

HooklineError                 docstring = default message
├── ConfigError               file, line, key path   -> `hookline check` exits 2
├── VerificationError         reason (never a secret) -> 401
├── ForbiddenError            caller not in allow_ips -> 403
├── UnknownSourceError                                -> 404
├── PayloadTooLargeError                              -> 413
├── MalformedPayloadError                             -> 400
├── StoreError                driver error as __cause__
│   └── StoreUnavailableError                         -> 503 (the sender retries)
├── TemplateError             template, line          -> check-time error / dead delivery
└── NotFoundError             an id that is not stored -> 404
"""

from __future__ import annotations


class HooklineError(Exception):
    """Something went wrong in Hookline."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(HooklineError):
    """The configuration is invalid."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.problem = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key_path}: " if self.key_path else ""
        return f"{where}{key}{self.problem}"


class ConfigErrors(HooklineError):
    """The configuration has several errors; `errors` lists each one, located."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class VerificationError(HooklineError):
    """The request's signature or credentials could not be verified."""


class ForbiddenError(HooklineError):
    """The caller's address is not allowed to send to this source."""


class UnknownSourceError(HooklineError):
    """No source with this name is configured."""


class PayloadTooLargeError(HooklineError):
    """The request body is larger than the configured limit."""


class MalformedPayloadError(HooklineError):
    """The request body could not be parsed."""


class TooManyAttemptsError(HooklineError):
    """Too many wrong tokens came from this client lately; it must wait."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))  # whole seconds, never 0
        super().__init__(
            f"too many wrong tokens from this address; try again in {self.retry_after} s"
        )


class StoreError(HooklineError):
    """The store failed to perform an operation."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now; try again later."""


class TemplateError(HooklineError):
    """A template or condition could not be compiled or rendered."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None):
        self.template = template
        self.line = line
        super().__init__(message)


class NotFoundError(HooklineError):
    """No such object is stored."""


# One exception -> (HTTP status, error code) table for /hooks and /api alike.
HTTP_ERRORS: dict[type[HooklineError], tuple[int, str]] = {
    VerificationError: (401, "invalid_signature"),
    ForbiddenError: (403, "forbidden"),
    UnknownSourceError: (404, "unknown_source"),
    NotFoundError: (404, "not_found"),
    PayloadTooLargeError: (413, "payload_too_large"),
    TooManyAttemptsError: (429, "too_many_attempts"),
    MalformedPayloadError: (400, "malformed_payload"),
    StoreUnavailableError: (503, "storage_unavailable"),
    StoreError: (503, "storage_error"),
}


def http_error(exc: HooklineError) -> tuple[int, dict[str, dict[str, str]]]:
    """The status and the JSON error envelope `{"error": {"code", "message"}}` for `exc`."""
    for kind in type(exc).__mro__:
        if kind in HTTP_ERRORS:
            status, code = HTTP_ERRORS[kind]
            return status, envelope(code, exc.message)
    return 500, envelope("internal_error", "internal error")


def envelope(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}
