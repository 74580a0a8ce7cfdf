"""The management API on FastAPI: not the hot path, so we take its OpenAPI and validation.

Every route needs `Authorization: Bearer <token>`; the token is compared as a SHA-256
digest in constant time. Every error, whatever raised it (our code, routing, validation,
a bug), is answered in one envelope, `{"error": {"code", "message"}}`, as on `/hooks`.
The interactive docs at `/api/docs` load Swagger UI from files shipped by the
`fastapi-offline` package, served here: nothing comes from the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookline import __version__
from hookline.api.deliveries import ConflictError, deliveries_router
from hookline.api.events import events_router
from hookline.api.schemas import ErrorEnvelope
from hookline.api.system import system_router
from hookline.bulk import BulkReplays
from hookline.errors import HooklineError, TooManyAttemptsError, envelope, http_error
from hookline.runtime import Runtime

log = structlog.get_logger("hookline.api")

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorEnvelope,
        "description": "a malformed request (e.g. a body that is not JSON)",
    },
    401: {"model": ErrorEnvelope, "description": "missing or wrong bearer token"},
    429: {"model": ErrorEnvelope, "description": "too many wrong tokens from this address"},
    404: {"model": ErrorEnvelope, "description": "no such object"},
    422: {"model": ErrorEnvelope, "description": "invalid parameters"},
    503: {"model": ErrorEnvelope, "description": "the database is unavailable"},
}


class AuthError(HooklineError):
    """A valid bearer token is required."""


def create_api(runtime: Runtime, jobs: BulkReplays | None = None) -> FastAPI:
    jobs = jobs or BulkReplays(runtime.store)
    api = FastAPI(
        title="Hookline management API",
        version=__version__,
        description="Events, deliveries, attempts, replay, dry runs, configuration and stats. "
        'Every error is `{"error": {"code", "message"}}`.',
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    scheme = HTTPBearer(auto_error=False, description="the API token")

    async def require_token(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(scheme),  # noqa: B008
    ) -> None:
        client = request.client.host if request.client else None
        token = credentials.credentials if credentials is not None else None
        if not runtime.wrong_tokens.admit(client, token, runtime.api_token_digest):
            raise AuthError()

    auth = [Depends(require_token)]
    for router in (
        events_router(runtime),
        deliveries_router(runtime, jobs),
        system_router(runtime),
    ):
        api.include_router(router, prefix="/api", dependencies=auth, responses=ERRORS)
    _error_handlers(api)
    _docs(api)
    return api


def _error_handlers(api: FastAPI) -> None:
    @api.exception_handler(HooklineError)
    async def _hookline_error(_request: Request, exc: HooklineError) -> JSONResponse:
        if isinstance(exc, AuthError):
            return JSONResponse(
                envelope("unauthorized", exc.message),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if isinstance(exc, ConflictError):
            return JSONResponse(envelope("conflict", exc.message), status_code=409)
        if isinstance(exc, TooManyAttemptsError):
            return JSONResponse(
                envelope("too_many_attempts", exc.message),
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        status, body = http_error(exc)
        if status == 500:
            status, body = 400, envelope("bad_request", exc.message)
        return JSONResponse(body, status_code=status)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        return JSONResponse(
            envelope(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(envelope("invalid_request", problems), status_code=422)

    @api.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("api.crashed")
        return JSONResponse(envelope("internal_error", "internal error"), status_code=500)


def _docs(api: FastAPI) -> None:
    api.mount("/api/docs/assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @api.get("/api/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Hookline API",
            swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/assets/swagger-ui.css",
            swagger_favicon_url="/api/docs/assets/favicon.png",
        )
