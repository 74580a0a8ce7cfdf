"""The dashboard's frame: session login, CSRF checks, page rendering and security headers.

Pages are rendered on the server from Jinja2 templates in a normal autoescaping
environment (the sandbox of `templating.py` is for users' templates, not ours). The only
script is `static/app.js`: polling of fragments, copy buttons and confirmations; the
Content-Security-Policy allows nothing else (no inline script or style, no other origin).

Logging in exchanges the API token for a session cookie (HttpOnly, SameSite=Strict, and
Secure when the dashboard is reached over https; plain http works for localhost). Every
state-changing form carries a CSRF token bound to the session, and its Origin, when the
browser sends one, must be this server's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hookline import __version__
from hookline.auth import SESSION_COOKIE, SESSION_SECONDS, Session, Sessions
from hookline.bulk import BulkReplays
from hookline.errors import HooklineError, TooManyAttemptsError, http_error
from hookline.runtime import Runtime
from hookline.store.base import QueueHealth
from hookline.ui import filters

R = TypeVar("R", bound=Response)
Handler = Callable[[Request], Awaitable[Response]]
STATIC = Path(__file__).parent / "static"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Forbidden(Exception):
    """A state-changing request without a valid CSRF token or from another origin."""


class Dashboard:
    """Shared by every page: the runtime, the jobs, the template environment, sessions."""

    def __init__(self, runtime: Runtime, jobs: BulkReplays) -> None:
        self.runtime = runtime
        self.jobs = jobs
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("hookline.ui", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        filters.install(self.env)
        self._sessions: tuple[bytes, Sessions] | None = None

    # -- sessions --------------------------------------------------------------------------

    def sessions(self) -> Sessions | None:
        digest = self.runtime.api_token_digest
        if digest is None:  # not started yet
            return None
        if self._sessions is None or self._sessions[0] != digest:
            self._sessions = (digest, Sessions(digest))
        return self._sessions[1]

    def session(self, request: Request) -> Session | None:
        sessions = self.sessions()
        return None if sessions is None else sessions.check(request.cookies.get(SESSION_COOKIE))

    def csrf(self, session: Session) -> str:
        sessions = self.sessions()
        assert sessions is not None
        return sessions.csrf_token(session)

    async def check_post(self, request: Request, session: Session) -> dict[str, str]:
        """The submitted form, once its origin and CSRF token are checked."""
        _same_origin(request)
        form = await read_form(request)
        sessions = self.sessions()
        if sessions is None or not sessions.csrf_ok(session, form.get("csrf")):
            raise Forbidden("the form has expired or did not come from this dashboard; reload it")
        return form

    # -- rendering -------------------------------------------------------------------------

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    async def page(
        self, request: Request, session: Session | None, name: str, *, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        now = self.runtime.clock()
        health = await self._health(now) if session is not None else None
        context = {
            "request": request,
            "path": request.url.path,
            "csrf": self.csrf(session) if session is not None else "",
            "health": health,
            "now": now,
            "version": __version__,
            **ctx,
        }
        html = self.render(name, **context)
        return secure(HTMLResponse(html, status_code=status))

    async def health_fragment(self, request: Request) -> Response:
        now = self.runtime.clock()
        health = await self._health(now)
        return secure(HTMLResponse(self.render("_health.html", health=health, now=now)))

    async def _health(self, now: datetime) -> QueueHealth:
        """The queue's health, its last error scrubbed of every secret this config knows
        (it was stored by whichever worker failed, which may have known fewer)."""
        health = await self.runtime.store.queue_health(now)
        last = health.last_error
        if last is None:
            return health
        error = self.runtime.redactor.text(last.error)
        return dataclasses.replace(health, last_error=dataclasses.replace(last, error=error))


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form (our forms hold a few short fields; nothing else is read)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Forbidden("the form is too large")
    if not request.headers.get("content-type", "").startswith(FORM_TYPE):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def secure(response: R) -> R:
    response.headers.update(SECURITY_HEADERS)
    return response


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None:  # not every browser sends it on same-origin posts; CSRF still applies
        return
    # The host alone: behind a TLS proxy that sends no X-Forwarded-Proto we see http while
    # the browser says https, and the same host on another scheme is no other site.
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("cross-origin form submissions are refused")


def guarded(dashboard: Dashboard, handler: Handler, *, fragment: bool = False) -> Handler:
    """Only with a valid session; POSTs also need the CSRF token (checked by the handler
    through `check_post`). Without a session: pages go to the login form, fragments get 401."""

    async def endpoint(request: Request) -> Response:
        session = dashboard.session(request)
        if session is None:
            if fragment:
                return secure(Response("log in again", status_code=401))
            query = urlencode({"next": _local(request.url.path + _query(request))})
            return RedirectResponse(f"/ui/login?{query}", status_code=303)
        request.state.session = session
        try:
            return await handler(request)
        except Forbidden as exc:
            return await dashboard.page(
                request, session, "error.html", status=403, title="Refused", message=str(exc)
            )

    return endpoint


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _local(target: str | None) -> str:
    """Only dashboard paths are followed after login (no open redirect)."""
    if target and target.startswith("/ui/") and not target.startswith("/ui//"):
        return target
    return "/ui/events"


def login_routes(dashboard: Dashboard) -> list[Route]:
    async def login_form(request: Request) -> Response:
        if dashboard.session(request) is not None:
            return RedirectResponse(_local(request.query_params.get("next")), status_code=303)
        return await dashboard.page(
            request, None, "login.html", next=_local(request.query_params.get("next")), error=None
        )

    async def login(request: Request) -> Response:
        try:
            _same_origin(request)
            form = await read_form(request)
        except Forbidden as exc:
            return await dashboard.page(
                request, None, "error.html", status=403, title="Refused", message=str(exc)
            )
        target = _local(form.get("next"))
        sessions = dashboard.sessions()
        limiter = dashboard.runtime.wrong_tokens
        client = request.client.host if request.client else None
        try:
            right = limiter.admit(client, form.get("token"), dashboard.runtime.api_token_digest)
        except TooManyAttemptsError as refused:
            page = await dashboard.page(
                request, None, "login.html", status=429, next=target, error=refused.message
            )
            page.headers["Retry-After"] = str(refused.retry_after)
            return page
        if sessions is None or not right:
            return await dashboard.page(
                request, None, "login.html", status=401, next=target, error="Wrong token."
            )
        limiter.succeeded(client)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.issue(),
            max_age=SESSION_SECONDS,
            path="/ui",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return secure(response)

    async def logout(request: Request) -> Response:
        session: Session = request.state.session
        await dashboard.check_post(request, session)
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/ui")
        return secure(response)

    return [
        Route("/ui/login", login_form, methods=["GET"]),
        Route("/ui/login", login, methods=["POST"]),
        Route("/ui/logout", guarded(dashboard, logout), methods=["POST"]),
    ]


def create_ui(runtime: Runtime, jobs: BulkReplays) -> Starlette:
    from hookline.ui import manage, pages

    dashboard = Dashboard(runtime, jobs)

    async def home(_request: Request) -> Response:
        return RedirectResponse("/ui/events", status_code=303)

    routes: list[Any] = [
        Route("/ui", home),
        Route("/ui/", home),
        Mount("/ui/static", StaticFiles(directory=STATIC), name="static"),
        *login_routes(dashboard),
        Route("/ui/health", guarded(dashboard, dashboard.health_fragment, fragment=True)),
        *pages.routes(dashboard),
        *manage.routes(dashboard),
    ]
    app = Starlette(routes=routes)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return await dashboard.page(
            request,
            dashboard.session(request),
            "error.html",
            status=404,
            title="Not found",
            message="There is nothing at this address.",
        )

    async def unavailable(request: Request, exc: Exception) -> Response:
        status, body = http_error(exc) if isinstance(exc, HooklineError) else (500, {})
        message = body.get("error", {}).get("message", "Something went wrong.")
        title = "Storage unavailable" if status == 503 else "Error"
        html = dashboard.render("error.html", request=request, path=request.url.path, csrf="",
                                health=None, now=runtime.clock(), version=__version__,
                                title=title, message=message)  # fmt: skip
        return secure(HTMLResponse(html, status_code=status))

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(HooklineError, unavailable)
    return app
