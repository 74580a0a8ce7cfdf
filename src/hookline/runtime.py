"""What a running Hookline process holds: config, store, the API token and (maybe) a worker.

`hookline run` starts everything in one process; `serve` and `worker` start one role each.
The ASGI lifespan calls `start()` and `stop()`, so SIGTERM (handled by uvicorn) drains
in-flight deliveries before the store closes.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Callable
from datetime import datetime

import structlog

from hookline.auth import WrongTokenLimiter, token_digest
from hookline.config.models import Config
from hookline.deliver.worker import Worker
from hookline.models import utcnow
from hookline.redact import Redactor
from hookline.store.base import Store

log = structlog.get_logger("hookline")

TOKEN_META_KEY = "api_token_sha256"  # noqa: S105 - a key name, not a secret


class Runtime:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        with_worker: bool = True,
        migrate: bool = True,
        create: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.redactor = Redactor(config.secrets())
        self.api_token_digest: bytes | None = None
        self.wrong_tokens = WrongTokenLimiter()  # shared by the API and the dashboard login
        self.worker: Worker | None = None
        self._with_worker = with_worker
        self._migrate = migrate
        self._create = create  # give an empty database the schema (never upgrade one)
        self._worker_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.open(migrate=self._migrate, create=self._create)
        try:
            self.api_token_digest = await self._api_token()
        except BaseException:
            await self.store.aclose()
            raise
        if self._with_worker:
            self.worker = Worker(self.config, self.store, redactor=self.redactor, clock=self.clock)
            self._worker_task = asyncio.create_task(self.worker.run(), name="hookline-worker")

    async def stop(self) -> None:
        try:
            if self.worker is not None and self._worker_task is not None:
                self.worker.stop()
                await self._worker_task
        except Exception:  # a crashed worker must not keep the store open at shutdown
            log.exception("worker.failed")
        finally:
            await self.store.aclose()

    async def _api_token(self) -> bytes:
        """The configured token, or one generated on first start: persisted as a hash and
        printed once to the terminal (never to the log)."""
        if self.config.api.token is not None:
            return token_digest(self.config.api.token.get_secret_value())
        stored = await self.store.get_meta(TOKEN_META_KEY)
        if stored is not None:
            return bytes.fromhex(stored)
        token = secrets.token_urlsafe(32)
        kept = await self.store.set_meta_if_absent(TOKEN_META_KEY, token_digest(token).hex())
        if kept == token_digest(token).hex():
            sys.stderr.write(
                "\nGenerated an API token (shown only this once; keep it, or set api.token):\n"
                f"    {token}\n\n"
            )
            sys.stderr.flush()
        return bytes.fromhex(kept)
