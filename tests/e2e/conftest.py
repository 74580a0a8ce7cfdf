"""A live Hookline (uvicorn, in this event loop) and headless Chromium from Debian's package."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from hookline.app import create_app
from hookline.config.loader import loads
from hookline.runtime import Runtime
from hookline.store.sqlite import SqliteStore
from tests.conftest import wait_until
from tests.support.process import free_port

CHROMIUM = (
    "/usr/bin/chromium"  # Debian's package (`apt-get install chromium`), installed by .ci/run
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000  # the longest any expectation waits for its condition (polls run every 3 s)
expect.set_options(timeout=WAIT_MS)
SCREENSHOTS = os.environ.get("HOOKLINE_SCREENSHOTS")  # a folder: save each page there as PNG


@dataclass
class LiveServer:
    url: str
    runtime: Runtime


@asynccontextmanager
async def live_server(tmp_path: Path, config_text: str) -> AsyncIterator[LiveServer]:
    """Serve Hookline (HTTP and worker) on a free local port until the test ends."""
    runtime = Runtime(loads(config_text, file="hookline.yaml", environ={}),
                      SqliteStore(tmp_path / "hookline.db"))  # fmt: skip
    port = free_port()
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, lifespan="on",
                            log_config=None, log_level="warning", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done())
    assert server.started, "the server did not start"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():  # a newcomer's `make test` without it; CI must have it
        if os.environ.get("HOOKLINE_TEST_BROWSER_REQUIRED") == "1":
            pytest.fail(f"{CHROMIUM} is missing and the browser tests are required")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop-sized page that fails the test on any script error, CSP violation, or request
    to anywhere but this machine."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    opened = await context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    opened.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    opened.on("request", lambda request: None if _local(request.url)
              else problems.append(f"request to {request.url}"))  # fmt: skip
    opened.set_default_timeout(WAIT_MS)
    yield opened
    await context.close()
    assert problems == []


def _local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", None) or url.startswith(("data:", "about:"))


async def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for the docs when HOOKLINE_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
