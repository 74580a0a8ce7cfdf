"""A worker started on its own serves `/metrics`: its attempts can be scraped."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hookline.models import NewDelivery, NewEvent, new_id, utcnow
from hookline.store.sqlite import SqliteStore
from tests.conftest import API_TOKEN, wait_until
from tests.support.http_sink import HttpSink
from tests.support.process import WorkerProcess, free_port

pytestmark = pytest.mark.slow


def worker_config(tmp_path: Path, sink_url: str, *, protect: bool) -> Path:
    config = tmp_path / "hookline.yaml"
    config.write_text(f"""
database: "{tmp_path / "hookline.db"}"
sources:
  orders:
    verify: {{provider: none}}
routes:
  - name: to-sink
    source: orders
    actions:
      - http: {{url: "{sink_url}/deliver", json: {{id: "{{{{ payload.id }}}}"}}}}
delivery: {{allow_private_networks: true}}
api: {{token: "{API_TOKEN}", protect_metrics: {str(protect).lower()}}}
""")
    return config


async def one_owed_delivery(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hookline.db")
    await store.open(migrate=True)
    event = NewEvent(new_id("evt"), "orders", "o-1", None, utcnow(), "application/json",
                     {}, {}, b'{"id": "o-1"}')  # fmt: skip
    await store.ingest(event, [NewDelivery(new_id("dlv"), "to-sink", 0, "http")])
    await store.aclose()


async def scrape(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.text()


@contextlib.asynccontextmanager
async def metrics_worker(tmp_path: Path, *, protect: bool) -> AsyncIterator[tuple[HttpSink, str]]:
    """A `hookline worker --metrics-port` owing one delivery to a local sink; yields the sink
    and the worker's metrics URL."""
    async with HttpSink() as sink:
        config = worker_config(tmp_path, sink.url, protect=protect)
        await one_owed_delivery(tmp_path)
        port = free_port()
        worker = WorkerProcess(config, name="0", args=("--metrics-port", str(port)))
        worker.start()
        try:
            yield sink, f"http://127.0.0.1:{port}/metrics"
        finally:
            assert worker.terminate() == 0


class TestWorkerMetrics:
    async def test_attempts_and_queue_gauges_are_served(self, tmp_path):
        """After delivering an event, the worker's /metrics counts the attempt and the queue."""
        attempts = 'hookline_attempt_duration_seconds_count{action="http",outcome="succeeded"}'
        async with metrics_worker(tmp_path, protect=False) as (sink, url):

            async def recorded() -> bool:  # the sink sees the request before it is recorded
                return f"{attempts} 1.0" in (await scrape(url))[1].splitlines()

            await wait_until(recorded)
            status, text = await scrape(url)
        assert status == 200 and len(sink.requests) == 1
        lines = text.splitlines()
        assert 'hookline_deliveries{status="succeeded"} 1.0' in lines
        assert "hookline_queue_depth 0.0" in lines

    async def test_protected_metrics_need_the_token(self, tmp_path):
        """With `api.protect_metrics`, a scrape without the API token is refused, and an
        address that keeps guessing is made to wait."""
        async with metrics_worker(tmp_path, protect=True) as (_, url):
            refused, body = await scrape(url)
            allowed, _ = await scrape(url, API_TOKEN)
            guesses = [(await scrape(url, "not-the-token"))[0] for _ in range(11)]
            limited, _ = await scrape(url, API_TOKEN)
        assert (refused, allowed, limited) == (401, 200, 429)
        assert guesses == [401] * 10 + [429]
        assert '"unauthorized"' in body and API_TOKEN not in body

    async def test_a_busy_port_is_a_clear_error(self, tmp_path):
        """A metrics port already taken stops the worker at start with the address in the error."""
        import socket
        import subprocess
        import sys

        config = worker_config(tmp_path, "http://127.0.0.1:9", protect=False)
        await one_owed_delivery(tmp_path)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = subprocess.run(
                [sys.executable, "-m", "hookline", "worker", "-c", str(config),
                 "--metrics-port", str(port)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        assert result.returncode != 0
        assert f"cannot serve metrics on 127.0.0.1:{port}" in result.stderr
