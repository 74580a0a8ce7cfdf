"""`/metrics` for a `hookline worker`, which serves no other HTTP.

The attempt counters and durations live in the process that made the attempts, so a
worker started on its own must expose them itself to be scraped. It serves the same text as
`serve`'s `/metrics` (the database gauges included, read on each scrape) on its own port,
bound to 127.0.0.1 unless told otherwise, and asks for the API token when
`api.protect_metrics` is on (with the same limit on wrong tokens as the API).
"""

from __future__ import annotations

from aiohttp import web

from hookline import metrics
from hookline.auth import WrongTokenLimiter, bearer, token_digest
from hookline.config.models import Config
from hookline.errors import ConfigError, HooklineError, TooManyAttemptsError, envelope
from hookline.models import utcnow
from hookline.runtime import TOKEN_META_KEY
from hookline.store.base import Store


async def start_metrics_endpoint(
    config: Config, store: Store, *, host: str, port: int
) -> web.AppRunner:
    """Serve `/metrics` until the returned runner is cleaned up."""
    digest = await _required_token(config, store)
    wrong_tokens = WrongTokenLimiter()

    async def scrape(request: web.Request) -> web.Response:
        if digest is not None:
            refused = _refused(request, digest, wrong_tokens)
            if refused is not None:
                return refused
        try:
            text = await metrics.exposition(store, utcnow())
        except HooklineError as exc:
            return web.json_response(envelope("storage_unavailable", exc.message), status=503)
        return web.Response(body=text, headers={"Content-Type": metrics.CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
    return runner


def _refused(
    request: web.Request, digest: bytes, wrong_tokens: WrongTokenLimiter
) -> web.Response | None:
    """401 for a wrong or missing token, 429 once an address has guessed too often."""
    try:
        if wrong_tokens.admit(request.remote, bearer(request.headers), digest):
            return None
    except TooManyAttemptsError as limited:
        body = envelope("too_many_attempts", limited.message)
        headers = {"Retry-After": str(limited.retry_after)}
        return web.json_response(body, status=429, headers=headers)
    return web.json_response(
        envelope("unauthorized", "a valid bearer token is required"), status=401
    )


async def _required_token(config: Config, store: Store) -> bytes | None:
    """The API token's digest when metrics are protected, else None."""
    if not config.api.protect_metrics:
        return None
    if config.api.token is not None:
        return token_digest(config.api.token.get_secret_value())
    stored = await store.get_meta(TOKEN_META_KEY)
    if stored is None:
        raise ConfigError(
            "api.protect_metrics is on but there is no API token yet: set api.token, "
            "or start `hookline serve` once to generate one"
        )
    return bytes.fromhex(stored)
