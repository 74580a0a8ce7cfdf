"""Shared pieces of the benchmark: processes, ports, wrk, signed Stripe events, RSS sampling."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

from hookline.verify.stripe import sign

HERE = Path(__file__).resolve().parent
SECRET = "whsec_bench_0123456789abcdef"
TOKEN = "bench-api-token-0123456789abcdef"
PYTHON = sys.executable


def event_body(n: int, *, sent_at: float | None = None) -> bytes:
    """A ~1 KB Stripe payment_intent.succeeded event with a unique id."""
    return orjson.dumps({
        "id": f"evt_bench_{n}", "object": "event", "type": "payment_intent.succeeded",
        "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
        "data": {"object": {
            "id": f"pi_{n}", "object": "payment_intent", "amount": 500000, "currency": "rub",
            "status": "succeeded", "customer": "cus_bench", "description": "x" * 560,
            "metadata": {"order_id": str(n), "client": "Ivan", "sent_at": sent_at or 0},
        }},
    })  # fmt: skip


def signed(body: bytes) -> dict[str, str]:
    return {"Stripe-Signature": sign(body, SECRET, int(time.time())),
            "Content-Type": "application/json"}  # fmt: skip


def hookline_config(path: Path, sink_url: str, database: str, **delivery: object) -> Path:
    extra = "".join(f"  {k}: {v}\n" for k, v in delivery.items())
    path.write_text(f"""
database: "{database}"
sources:
  stripe:
    verify: {{provider: stripe, secret: "{SECRET}", tolerance: 15m}}
routes:
  - name: payments
    source: stripe
    if: "event.type == 'payment_intent.succeeded'"
    actions:
      - http:
          url: "{sink_url}/orders"
          json: {{order: "{{{{ payload.data.object.metadata.order_id }}}}", sent_at: "{{{{ payload.data.object.metadata.sent_at }}}}"}}
delivery:
  allow_private_networks: true
{extra}api: {{token: "{TOKEN}"}}
""")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A server process we start, wait for, sample and stop."""

    def __init__(
        self, argv: list[str], ready_url: str, *, cwd: Path | None = None, log: Path | None = None
    ):
        self.ready_url = ready_url
        out = log.open("ab") if log else subprocess.DEVNULL
        self.popen = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        if log:
            out.close()  # type: ignore[union-attr]

    def wait_ready(self, timeout: float = 30) -> Proc:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.popen.args} exited with {self.popen.returncode}")
            try:
                httpx.get(self.ready_url, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.ready_url} did not come up")

    def rss_mb(self) -> float:
        return rss_mb(self.popen.pid)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match[1]) / 1024 if match else 0.0


@contextmanager
def rss_peak(procs: list[Proc], every: float = 0.25) -> Iterator[dict[str, float]]:
    """Sample the processes' RSS in a thread; yields a dict that ends up holding the peak."""
    result = {"peak_mb": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result["peak_mb"] = max(result["peak_mb"], *(p.rss_mb() for p in procs))
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def uvicorn(app: str, port: int, *, workers: int = 1) -> Proc:
    argv = [PYTHON, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
            "--no-access-log", "--workers", str(workers)]  # fmt: skip
    return Proc(argv, f"http://127.0.0.1:{port}/", cwd=HERE).wait_ready()


def hookline(command: str, config: Path, port: int | None, log: Path, *extra: str) -> Proc:
    argv = [PYTHON, "-m", "hookline", command, "-c", str(config), *extra]
    if port is not None:
        argv += ["--port", str(port)]
    ready = f"http://127.0.0.1:{port}/healthz" if port else ""
    proc = Proc(argv, ready, log=log)
    return proc.wait_ready() if port else proc


# -- wrk -----------------------------------------------------------------------------------------

LUA = """
local lines = {}
local index = 0
local step = 1
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter - 1)
end
function init(args)
  for line in io.lines("REQUESTS") do lines[#lines + 1] = line end
  step = tonumber(args[1] or "1")
  index = offset
end
function request()
  index = index + step
  local line = lines[(index % #lines) + 1]
  local tab = string.find(line, "\\t", 1, true)
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Stripe-Signature"] = string.sub(line, 1, tab - 1)
  return wrk.format("POST", "/hooks/stripe", headers, string.sub(line, tab + 1))
end
function done(summary, latency, requests)
  io.write(string.format("P999_US %d\\n", latency:percentile(99.9)))
end
"""


def write_wrk_script(workdir: Path, count: int, *, start: int = 0) -> Path:
    """Pre-signed unique requests (wrk's Lua cannot compute HMAC), and the script using them."""
    requests = workdir / f"requests-{start}.tsv"
    now = int(time.time())
    with requests.open("wb") as out:
        for n in range(start, start + count):
            body = event_body(n)
            out.write(sign(body, SECRET, now).encode() + b"\t" + body + b"\n")
    script = workdir / f"stripe-{start}.lua"
    script.write_text(LUA.replace("REQUESTS", str(requests)))
    return script


def run_wrk(
    url: str, script: Path, seconds: int, connections: int, threads: int = 1
) -> dict[str, float]:
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         url, "--", str(threads)],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])}  # type: ignore[index]
    for pct, key in (("50", "p50_ms"), ("90", "p90_ms"), ("99", "p99_ms")):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)
        if match:
            result[key] = ms(match[1])
    p999 = re.search(r"P999_US (\d+)", output)
    if p999:
        result["p999_ms"] = int(p999[1]) / 1000
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = float(non2xx[1]) if non2xx else 0.0
    total = re.search(r"(\d+) requests in", output)
    result["requests"] = float(total[1]) if total else 0.0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    result["socket_errors"] = float(sum(int(g) for g in errors.groups())) if errors else 0.0
    return result


def environment() -> dict[str, object]:
    import platform

    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?",
    }
