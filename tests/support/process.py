"""Run `hookline` as a real process, as a user would, for acceptance and crash tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hookline(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a `hookline` CLI command to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


class _Child:
    """What the tests do to any Hookline process: crash it, stop it, read its log."""

    process: subprocess.Popen[bytes] | None
    log_path: Path

    def kill(self) -> None:
        """`kill -9`: no cleanup, no drain, exactly like a crash (leases left to expire)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class HooklineProcess(_Child):
    """`hookline run` (or `serve`) in its own process, on a free port."""

    def __init__(
        self,
        config: Path,
        *,
        command: str = "run",
        port: int | None = None,
        args: tuple[str, ...] = (),
        name: str = "",
    ) -> None:
        self.config = config
        self.command = command
        self.port = port or free_port()
        self.args = args
        self.log_path = config.parent / f"hookline-{self.port}{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be ready."""
        argv = [sys.executable, "-m", "hookline", self.command, "-c", str(self.config)]
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [*argv, "--port", str(self.port), *self.args], stdout=log, stderr=subprocess.STDOUT
            )
        return self.process

    def start(self, *, timeout: float = 20.0) -> HooklineProcess:
        self.process = self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"hookline exited with {self.process.returncode}:\n{self.logs()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hookline did not become ready:\n{self.logs()}")


class WorkerProcess(_Child):
    """`hookline worker` in its own process, logging JSON so a test can read its worker id."""

    def __init__(self, config: Path, *, name: str, args: tuple[str, ...] = ()) -> None:
        self.config = config
        self.args = args
        self.log_path = config.parent / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.worker_id: str | None = None

    def start(self, *, timeout: float = 20.0) -> WorkerProcess:
        argv = [sys.executable, "-m", "hookline", "worker", "-c", str(self.config), "--json-logs",
                *self.args]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.logs()}")
            for line in self.logs().splitlines():
                if '"worker.started"' in line:
                    self.worker_id = json.loads(line)["worker_id"]
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"worker did not start:\n{self.logs()}")
