"""Several `hookline serve` processes can share one port (SO_REUSEPORT), no proxy needed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_config, stripe_event, stripe_headers, wait_until
from tests.support.fake_telegram import FakeTelegram
from tests.support.process import HooklineProcess, hookline

pytestmark = pytest.mark.slow


async def test_two_serve_processes_share_a_port(tmp_path: Path, telegram: FakeTelegram):
    """With --reuse-port a second serve binds the same port and serves once the first dies."""
    config = tmp_path / "hookline.yaml"
    config.write_text(gateway_config(telegram.url))
    assert hookline("migrate", "-c", str(config)).returncode == 0
    first = HooklineProcess(config, command="serve", args=("--reuse-port",), name="-a").start()
    second = HooklineProcess(
        config, command="serve", port=first.port, args=("--reuse-port",), name="-b"
    )
    second.spawn()
    try:
        # Both listen on the port at once (what SO_REUSEPORT allows), before the first dies.
        await wait_until(lambda: listens(second, first.port), timeout=30)
        assert listens(first, first.port)
        first.kill()
        assert second.process is not None and second.process.poll() is None, second.logs()
        body = stripe_event("evt_shared")

        async def accepted() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    r = await client.post(f"{second.url}/hooks/stripe", content=body,
                                          headers=stripe_headers(body))  # fmt: skip
                return r.status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(accepted)
    finally:
        second.terminate()


def listens(server: HooklineProcess, port: int) -> bool:
    """Whether the process holds a listening TCP socket on `port` (read from /proc)."""
    assert server.process is not None
    pid = server.process.pid
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                return True
    return False


def test_without_reuse_port_the_second_process_cannot_bind(tmp_path: Path):
    """Without the flag, a second serve on a taken port fails instead of sharing it."""
    config = tmp_path / "hookline.yaml"
    config.write_text(gateway_config("http://127.0.0.1:9"))
    assert hookline("migrate", "-c", str(config)).returncode == 0
    first = HooklineProcess(config, command="serve", name="-a").start()
    try:
        second = HooklineProcess(config, command="serve", port=first.port, name="-b").spawn()
        assert second.wait(timeout=30) != 0
    finally:
        first.terminate()
