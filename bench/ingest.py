"""Ingest benchmark: group commit vs one commit per event, and HTTP vs a bare ASGI baseline.

Starts its own servers on 127.0.0.1, sends a bounded load, stops everything, and prints a
Markdown table (also written as JSON under bench/results/). Compare ratios, not absolute
numbers: they drift 20-30 % between runs on the same machine.

    python bench/ingest.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from hookline.models import NewDelivery, NewEvent, new_id, utcnow
from hookline.store.sqlite import SqliteStore
from hookline.verify.stripe import sign

HERE = Path(__file__).resolve().parent
SECRET = "whsec_bench_0123456789abcdef"
TOKEN = "bench-api-token-0123456789abcdef"


def event_body(n: int) -> bytes:
    """A ~1 KB Stripe payment_intent.succeeded event with a unique id."""
    return orjson.dumps({
        "id": f"evt_bench_{n}", "object": "event", "type": "payment_intent.succeeded",
        "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
        "data": {"object": {
            "id": f"pi_{n}", "object": "payment_intent", "amount": 500000, "currency": "rub",
            "status": "succeeded", "customer": "cus_bench", "description": "x" * 600,
            "metadata": {"order_id": str(n), "client": "Ivan"},
        }},
    })  # fmt: skip


# -- 1. the store alone -------------------------------------------------------------------------


async def store_rate(path: Path, events: int, concurrency: int) -> dict[str, float]:
    store = SqliteStore(path)
    await store.open(migrate=True)
    body = event_body(0)
    queue = iter(range(events))

    async def one_stream() -> None:
        for n in queue:
            event = NewEvent(new_id("evt"), "stripe", f"e{n}", "t", utcnow(), "application/json",
                             {}, {}, body)  # fmt: skip
            await store.ingest(event, [NewDelivery(new_id("dlv"), "r", 0, "http")])

    started = time.perf_counter()
    await asyncio.gather(*(one_stream() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    batches = store.batches
    await store.aclose()
    return {"events_per_s": events / elapsed, "commits": batches, "events": events}


# -- 2. over HTTP with wrk ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def write_requests(path: Path, count: int) -> None:
    """Pre-signed requests, one per line: signature TAB body (wrk's Lua cannot do HMAC)."""
    now = int(time.time())
    with path.open("wb") as out:
        for n in range(count):
            body = event_body(n)
            out.write(sign(body, SECRET, now).encode() + b"\t" + body + b"\n")


LUA = """
local lines = {}
local index = 0
local step, offset = 1, 0
function setup(thread)
  thread:set("offset", _G.thread_count or 0)
  _G.thread_count = (_G.thread_count or 0) + 1
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
"""


def run_wrk(
    url: str, script: Path, seconds: int, connections: int, threads: int
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
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)
        if match:
            result[f"p{pct}_ms"] = ms(match[1])
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = float(non2xx[1]) if non2xx else 0.0
    total = re.search(r"(\d+) requests in", output)
    result["requests"] = float(total[1]) if total else 0.0
    errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = errors[1] if errors else "none"  # type: ignore[assignment]
    return result


def hookline_config(sink_url: str) -> str:
    return os.environ.get("BENCH_IF", "event.type == 'payment_intent.succeeded'").join(
        f"""
server: {{max_body_size: 5MiB}}
sources:
  stripe:
    verify: {{provider: stripe, secret: "{SECRET}", tolerance: 10m}}
routes:
  - name: payments
    source: stripe
    if: "IFCOND"
    actions:
      - http: {{url: "{sink_url}/orders", json: {{order: "{{{{ payload.data.object.metadata.order_id }}}}"}}}}
delivery: {{allow_private_networks: true}}
api: {{token: "{TOKEN}"}}
""".split("IFCOND")
    )


def http_bench(seconds: int, connections: int, workdir: Path) -> dict[str, object]:
    requests = workdir / "requests.tsv"
    write_requests(requests, 400_000)
    script = workdir / "stripe.lua"
    script.write_text(LUA.replace("REQUESTS", str(requests)))
    results: dict[str, object] = {}
    python = sys.executable

    port = free_port()
    base = subprocess.Popen([python, "-m", "uvicorn", "baseline_app:app", "--port", str(port),
                             "--log-level", "warning", "--no-access-log"], cwd=HERE)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/", base)
        results["baseline"] = run_wrk(f"http://127.0.0.1:{port}", script, seconds, connections, 1)
    finally:
        base.send_signal(signal.SIGTERM)
        base.wait()

    sink_port = free_port()
    sink = subprocess.Popen([python, "-m", "uvicorn", "baseline_app:app", "--port", str(sink_port),
                             "--log-level", "warning", "--no-access-log"], cwd=HERE)  # fmt: skip
    config = workdir / "hookline.yaml"
    config.write_text(hookline_config(f"http://127.0.0.1:{sink_port}"))
    port = free_port()
    log = (workdir / "hookline.log").open("wb")
    gateway = subprocess.Popen([python, "-m", "hookline", "run", "-c", str(config), "--port",
                                str(port)], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{sink_port}/", sink)
        wait_ready(f"http://127.0.0.1:{port}/healthz", gateway)
        ingest = run_wrk(f"http://127.0.0.1:{port}", script, seconds, connections, 1)
        stored = count_events(f"http://127.0.0.1:{port}")
        ingest["events_stored"] = stored
        results["hookline"] = ingest
    finally:
        gateway.send_signal(signal.SIGTERM)
        sink.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
        sink.wait()
        log.close()
    return results


def count_events(url: str) -> int:
    """Count stored events through the API (paging), to check every 2xx has its row."""
    total, before = 0, None
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        while True:
            params = {"limit": 500, **({"before": before} if before else {})}
            page = client.get(f"{url}/api/events", params=params).json()
            total += len(page["events"])
            before = page["next_before"]
            if not before:
                return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()

    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        report["store_sequential"] = asyncio.run(
            store_rate(workdir / "seq.db", args.events // 4, 1)
        )
        report["store_grouped"] = asyncio.run(store_rate(workdir / "grp.db", args.events, 64))
        if shutil.which("wrk"):
            report["http"] = http_bench(args.seconds, args.connections, workdir)
        else:
            print("wrk not found (apt-get install wrk): skipping the HTTP part", file=sys.stderr)
    print_report(report, args.connections)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(report, indent=2, default=str))


def print_report(report: dict[str, object], connections: int) -> None:
    seq, grp = report["store_sequential"], report["store_grouped"]
    assert isinstance(seq, dict) and isinstance(grp, dict)
    print(
        f"\n## Ingest benchmark, {report['date']}, {report['cores']} cores, Python {report['python']}\n"
    )
    print(
        "| store.ingest (event + 1 delivery), SQLite WAL, synchronous=FULL | events/s | commits |"
    )
    print("| --- | ---: | ---: |")
    print(f"| one at a time (1 commit each) | {seq['events_per_s']:,.0f} | {seq['commits']:,} |")
    print(f"| 64 concurrent (group commit) | {grp['events_per_s']:,.0f} | {grp['commits']:,} |")
    print(f"\ngroup commit speed-up: {grp['events_per_s'] / seq['events_per_s']:.1f}x\n")
    http = report.get("http")
    if isinstance(http, dict):
        base, hook = http["baseline"], http["hookline"]
        print(
            f"| HTTP, {connections} connections, wrk | req/s | p50 ms | p90 ms | p99 ms | non-2xx | ratio |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, row in (
            ("bare raw ASGI app (uvicorn)", base),
            ("hookline run: verify + route + commit", hook),
        ):
            print(f"| {name} | {row['rps']:,.0f} | {row.get('p50_ms', 0):.2f} | {row.get('p90_ms', 0):.2f} | "
                  f"{row.get('p99_ms', 0):.2f} | {row['non_2xx']:.0f} | {row['rps'] / base['rps']:.2f} |")  # fmt: skip
        print(
            f"\nevents stored: {hook['events_stored']:,} for {hook['requests'] - hook['non_2xx']:,.0f} answered 2xx"
        )


if __name__ == "__main__":
    main()
