"""Hookline's benchmark: ingest, delivery, end-to-end latency and memory, each against a bare
baseline in the same run. Starts and stops its own servers on 127.0.0.1; bounded in time.

    python bench/run.py [--quick] [--soak SECONDS] [--postgres URL]

Writes bench/results/latest.json and latest.md and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench folder is not a package
    HERE,
    PYTHON,
    environment,
    event_body,
    free_port,
    hookline,
    hookline_config,
    rss_peak,
    run_wrk,
    signed,
    uvicorn,
    write_wrk_script,
)
from peers import node_red_available, node_red_version, start_node_red

from hookline.models import NewDelivery, NewEvent, new_id, utcnow
from hookline.store.sqlite import SqliteStore


class Bench:
    def __init__(self, workdir: Path, *, seconds: int, postgres: str | None) -> None:
        self.workdir = workdir
        self.seconds = seconds
        self.postgres_url = postgres
        self.report: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            **environment(),
        }
        self.script = write_wrk_script(workdir, 600_000)
        sink_port = free_port()
        self.sink_url = f"http://127.0.0.1:{sink_port}"
        self.sink = uvicorn("sink:app", sink_port)

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    # -- ingest ------------------------------------------------------------------------------

    def ingest(self, connections: list[int]) -> None:
        results: dict[str, dict[str, object]] = {}
        port = free_port()
        base = uvicorn("baseline_app:app", port)
        try:
            for c in connections:
                results.setdefault(str(c), {})["baseline"] = run_wrk(
                    base_url(port), self.script, self.seconds, c
                )
        finally:
            base.stop()
        for role in ("run", "serve"):
            for c in connections:
                db = self.workdir / f"ingest-{role}-{c}.db"
                config = hookline_config(
                    self.workdir / f"ingest-{role}-{c}.yaml", self.sink_url, str(db)
                )
                migrate(config)  # `serve` never creates a schema; `run` does on a new database
                port = free_port()
                proc = hookline(role, config, port, self.log(f"ingest-{role}-{c}"))
                try:
                    with rss_peak([proc]) as rss:
                        row = run_wrk(base_url(port), self.script, self.seconds, c)
                    row["peak_rss_mb"] = rss["peak_mb"]
                    row["stored"] = count_rows(db, "events")
                    results[str(c)][f"hookline {role} (SQLite)"] = row
                finally:
                    proc.stop()
        self.report["ingest"] = results

    # -- delivery ----------------------------------------------------------------------------

    def delivery(self, backlog: int) -> None:
        db = self.workdir / "delivery.db"
        config = hookline_config(
            self.workdir / "delivery.yaml", self.sink_url, str(db), concurrency=128
        )
        asyncio.run(fill_backlog(db, backlog))
        self.report["delivery"] = self.drain(config, 1, lambda: count_owed(db), backlog)

    def drain(
        self, config: Path, workers: int, owed: Callable[[], int], backlog: int
    ) -> dict[str, object]:
        """Start `workers` worker processes on a filled backlog; time them until nothing is owed."""
        httpx.post(f"{self.sink_url}/reset")
        started = time.perf_counter()
        procs = [hookline("worker", config, None, self.log(f"worker-{i}")) for i in range(workers)]
        with rss_peak(procs) as rss:
            while owed() > 0:
                time.sleep(0.1)
        drained = time.perf_counter() - started
        for proc in procs:
            proc.stop()
        stats = httpx.get(f"{self.sink_url}/stats").json()
        active = (stats["last"] - stats["first"]) if stats["count"] > 1 else drained
        return {
            "backlog": backlog,
            "workers": workers,
            "drain_seconds": round(drained, 2),
            "deliveries_per_s": round(stats["count"] / active),
            "received": stats["count"],
            "peak_rss_mb": rss["peak_mb"],
        }

    # -- end to end --------------------------------------------------------------------------

    def end_to_end(self, rates: list[int]) -> None:
        results = {}
        for rate in rates:
            db = self.workdir / f"e2e-{rate}.db"
            config = hookline_config(self.workdir / f"e2e-{rate}.yaml", self.sink_url, str(db))
            port = free_port()
            proc = hookline("run", config, port, self.log(f"e2e-{rate}"))
            httpx.post(f"{self.sink_url}/reset")
            try:
                with rss_peak([proc]) as rss:
                    sent = asyncio.run(steady_sender(base_url(port), rate, self.seconds))
                    deadline = time.monotonic() + 30
                    while httpx.get(f"{self.sink_url}/stats").json()["count"] < sent["ok"]:
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                stats = httpx.get(f"{self.sink_url}/stats").json()
                results[str(rate)] = {**sent, "delivered": stats["count"], "p50_ms": stats["p50_ms"],
                                      "p99_ms": stats["p99_ms"], "p999_ms": stats["p999_ms"],
                                      "peak_rss_mb": rss["peak_mb"]}  # fmt: skip
            finally:
                proc.stop()
        self.report["end_to_end"] = results

    # -- PostgreSQL: 2 serve processes on one port, 2 workers ---------------------------------

    def postgres(self, connections: list[int], backlog: int) -> None:
        assert self.postgres_url is not None
        url = asyncio.run(fresh_database(self.postgres_url))
        config = hookline_config(self.workdir / "pg.yaml", self.sink_url, url, concurrency=128)
        migrate(config)
        results: dict[str, dict[str, object]] = {}
        port = free_port()
        base = uvicorn("baseline_app:app", port, workers=2)
        try:
            for c in connections:
                row = run_wrk(base_url(port), self.script, self.seconds, c)
                results.setdefault(str(c), {})["baseline, 2 processes"] = row
        finally:
            base.stop()
        port = free_port()
        serves = [hookline("serve", config, port, self.log(f"pg-serve-{i}"), "--reuse-port")
                  for i in range(2)]  # fmt: skip
        try:
            for c in connections:
                # Every run starts empty: the script replays the same event ids from the
                # start, and ids stored by the previous run would come back as cheap
                # duplicates and inflate the figure.
                asyncio.run(truncate(url))
                with rss_peak(serves) as rss:
                    row = run_wrk(base_url(port), self.script, self.seconds, c)
                row["peak_rss_mb"] = rss["peak_mb"]
                row["stored"] = asyncio.run(count_postgres(url, "SELECT count(*) FROM events"))
                results[str(c)]["hookline serve x2 (PostgreSQL)"] = row
        finally:
            for proc in serves:
                proc.stop()
        self.report["ingest_postgres"] = results
        asyncio.run(truncate(url))
        asyncio.run(fill_backlog_postgres(url, backlog))
        owed_query = "SELECT count(*) FROM deliveries WHERE due_at IS NOT NULL"
        owed = lambda: asyncio.run(count_postgres(url, owed_query))  # noqa: E731
        self.report["delivery_postgres"] = self.drain(config, 2, owed, backlog)

    # -- peers -------------------------------------------------------------------------------

    def peers(self, connections: int = 64) -> None:
        """Node-RED with the equivalent flow, under the same wrk load as Hookline's ingest."""
        missing = node_red_available()
        if missing is not None:
            self.report["peers"] = {"skipped": missing}
            return
        httpx.post(f"{self.sink_url}/reset")
        port = free_port()
        proc = start_node_red(self.workdir, port, self.sink_url, self.log("node-red"))
        try:
            with rss_peak([proc]) as rss:
                row = run_wrk(base_url(port), self.script, self.seconds, connections)
            row["peak_rss_mb"] = rss["peak_mb"]
            row["forwarded"] = settled_sink_count(self.sink_url)
        finally:
            proc.stop()
        self.report["peers"] = {"node_red": {"version": node_red_version(),
                                             "connections": connections, **row}}  # fmt: skip

    # -- memory soak -------------------------------------------------------------------------

    def soak(self, seconds: int, rate: int = 200) -> None:
        db = self.workdir / "soak.db"
        config = hookline_config(self.workdir / "soak.yaml", self.sink_url, str(db))
        port = free_port()
        proc = hookline("run", config, port, self.log("soak"))
        samples: list[tuple[float, float]] = []

        async def sample() -> None:
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                samples.append((round(time.monotonic() - start, 1), proc.rss_mb()))
                await asyncio.sleep(max(1.0, seconds / 60))

        async def both() -> dict[str, int]:
            sampler = asyncio.create_task(sample())
            sent = await steady_sender(base_url(port), rate, seconds, start_id=10_000_000)
            await sampler
            return sent

        try:
            sent = asyncio.run(both())
        finally:
            proc.stop()
        first_minute = [mb for t, mb in samples if t <= min(60, seconds / 4)] or [0.0]
        last = [mb for t, mb in samples[-max(1, len(samples) // 10) :]]
        self.report["soak"] = {
            "seconds": seconds, "rate": rate, "sent": sent["ok"],
            "rss_start_mb": round(max(first_minute), 1), "rss_end_mb": round(max(last), 1),
            "rss_peak_mb": round(max(mb for _, mb in samples), 1),
        }  # fmt: skip

    def close(self) -> None:
        self.sink.stop()


def migrate(config: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "hookline", "migrate", "-c", str(config)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"hookline migrate failed: {done.stderr}")


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def count_rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def count_owed(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return int(
            conn.execute("SELECT count(*) FROM deliveries WHERE due_at IS NOT NULL").fetchone()[0]
        )


async def fill_backlog(db: Path, count: int) -> None:
    """Owe `count` deliveries without a worker running (the store's own ingest path)."""
    store = SqliteStore(db)
    await store.open(migrate=True)
    numbers = iter(range(count))

    async def stream() -> None:
        for n in numbers:
            body = event_body(n)
            event = NewEvent(new_id("evt"), "stripe", f"evt_bench_{n}", "payment_intent.succeeded",
                             utcnow(), "application/json", {}, {}, body)  # fmt: skip
            await store.ingest(event, [NewDelivery(new_id("dlv"), "payments", 0, "http")])

    await asyncio.gather(*(stream() for _ in range(64)))
    await store.aclose()


def settled_sink_count(sink_url: str, quiet: float = 1.0, limit: float = 30.0) -> int:
    """The sink's count once it has stopped growing for `quiet` seconds (forwards in flight
    land after the load generator stops)."""
    deadline = time.monotonic() + limit
    count = -1
    while time.monotonic() < deadline:
        now = int(httpx.get(f"{sink_url}/stats").json()["count"])
        if now == count:
            return now
        count = now
        time.sleep(quiet)
    return count


async def fresh_database(admin_url: str, name: str = "hookline_bench") -> str:
    """Drop and create the benchmark's own database; return its URL."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE attempts, deliveries, events, dedup_keys")
    finally:
        await conn.close()


async def count_postgres(url: str, query: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


async def fill_backlog_postgres(url: str, count: int) -> None:
    from hookline.store.postgres import PostgresStore

    store = PostgresStore(url)
    await store.open(migrate=False)
    numbers = iter(range(count))

    async def stream() -> None:
        for n in numbers:
            body = event_body(n)
            event = NewEvent(new_id("evt"), "stripe", f"evt_pg_{n}", "payment_intent.succeeded",
                             utcnow(), "application/json", {}, {}, body)  # fmt: skip
            await store.ingest(event, [NewDelivery(new_id("dlv"), "payments", 0, "http")])

    await asyncio.gather(*(stream() for _ in range(64)))
    await store.aclose()


async def steady_sender(
    url: str, rate: int, seconds: int, *, start_id: int = 1_000_000
) -> dict[str, int]:
    """Open-loop sender: one signed event every 1/rate s, not waiting for answers."""
    counts = {"ok": 0, "failed": 0}
    total = rate * seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one(n: int) -> None:
            body = event_body(start_id + n, sent_at=time.time())
            try:
                async with session.post(
                    f"{url}/hooks/stripe", data=body, headers=signed(body)
                ) as r:
                    await r.read()
                    counts["ok" if r.status == 200 else "failed"] += 1
            except aiohttp.ClientError:
                counts["failed"] += 1

        tasks = []
        start = time.perf_counter()
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return counts


INGEST_HEADER = [
    "| connections | server | req/s | ratio to bare | p50 ms | p99 ms | p99.9 ms | non-2xx | stored | peak RSS MB |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
DELIVERY_HEADER = [
    "| backlog | workers | drained in | deliveries/s | peak RSS MB (per process) |",
    "| ---: | ---: | ---: | ---: | ---: |",
]


def _mb(value: object) -> str:
    return f"{value:.0f}" if isinstance(value, int | float) else "-"


def ingest_table(
    title: str, results: dict[str, dict[str, dict[str, float]]], baseline: str
) -> list[str]:
    lines = [title, "", *INGEST_HEADER]
    for conns, rows in results.items():
        base = rows[baseline]["rps"]
        for name, row in rows.items():
            label = "bare raw ASGI (uvicorn)" if name == "baseline" else name
            lines.append(
                f"| {conns} | {label} | {row['rps']:,.0f} | {row['rps'] / base:.2f} | {row.get('p50_ms', 0):.1f} | "
                f"{row.get('p99_ms', 0):.1f} | {row.get('p999_ms', 0):.1f} | {row['non_2xx'] + row['socket_errors']:.0f} | "
                f"{row.get('stored', '-')} | {_mb(row.get('peak_rss_mb'))} |"
            )
    return [*lines, ""]


def delivery_table(title: str, d: dict[str, object]) -> list[str]:
    row = (f"| {d['backlog']:,} | {d.get('workers', 1)} | {d['drain_seconds']} s | {d['deliveries_per_s']:,} | "
           f"{d['peak_rss_mb']:.0f} |")  # fmt: skip
    return [title, "", *DELIVERY_HEADER, row, ""]


def peers_table(report: dict[str, Any]) -> list[str]:
    peers = report["peers"]
    if "skipped" in peers:
        return [f"**Peers**: not run ({peers['skipped']}).", ""]
    nr = peers["node_red"]
    conns = str(nr["connections"])
    ingest = report.get("ingest", {}).get(conns, {})
    base = ingest.get("baseline", {}).get("rps")
    lines = [
        f"**Peers** (the same wrk load at {conns} connections; the bare app and Hookline are "
        "the ingest rows above)",
        "",
        "| server | checks the signature | stores the event first | req/s | ratio to bare | "
        "p50 ms | p99 ms | non-2xx | forwarded to the sink | peak RSS MB |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [(f"Node-RED {nr['version']} (http in → 200, http request → sink)", "no", "no", nr)]
    if "hookline run (SQLite)" in ingest:
        rows.append(("hookline run (SQLite)", "yes", "yes", ingest["hookline run (SQLite)"]))
    for name, verifies, stores, row in rows:
        ratio = f"{row['rps'] / base:.2f}" if base else "-"
        forwarded = f"{row['forwarded']:,}" if "forwarded" in row else "-"
        lines.append(
            f"| {name} | {verifies} | {stores} | {row['rps']:,.0f} | {ratio} | "
            f"{row.get('p50_ms', 0):.1f} | {row.get('p99_ms', 0):.1f} | "
            f"{row['non_2xx'] + row['socket_errors']:.0f} | {forwarded} | {_mb(row.get('peak_rss_mb'))} |"
        )
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Measured {report['date']} on {report['cores']} cores, Python {report['python']}, {report['wrk']}.",
        "",
    ]
    if "ingest" in report:
        title = ("**Ingest** (unique Stripe-signed ~1 KB events; signature verified, route evaluated, "
                 "event + 1 delivery committed before the 2xx; wrk, 1 thread)")  # fmt: skip
        lines += ingest_table(title, report["ingest"], "baseline")
    if "delivery" in report:
        lines += delivery_table(
            "**Delivery** (`hookline worker` → local sink, SQLite)", report["delivery"]
        )
    if "end_to_end" in report:
        lines += [
            "**End to end** (`hookline run`, steady open-loop rate; sender's request → sink receives the delivery)",
            "",
            "| events/s | sent | delivered | p50 ms | p99 ms | p99.9 ms | peak RSS MB |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for rate, row in report["end_to_end"].items():
            lines.append(
                f"| {rate} | {row['ok']:,} | {row['delivered']:,} | {row['p50_ms'] or 0:.1f} | {row['p99_ms'] or 0:.1f} | "
                f"{row['p999_ms'] or 0:.1f} | {row['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    if "ingest_postgres" in report:
        title = "**Ingest on PostgreSQL** (2 `hookline serve --reuse-port` processes vs the bare app with 2 uvicorn workers)"
        lines += ingest_table(title, report["ingest_postgres"], "baseline, 2 processes")
    if "delivery_postgres" in report:
        lines += delivery_table("**Delivery on PostgreSQL** (`hookline worker` processes → local sink)",
                                report["delivery_postgres"])  # fmt: skip
    if "peers" in report:
        lines += peers_table(report)
    if "soak" in report:
        soak = report["soak"]
        lines += [
            f"**Memory soak** ({soak['seconds']} s at {soak['rate']} events/s, {soak['sent']:,} events): RSS {soak['rss_start_mb']} MB "
            f"after warm-up → {soak['rss_end_mb']} MB at the end (peak {soak['rss_peak_mb']} MB).",
            "",
        ]
    return "\n".join(lines)


SCENARIOS = ("ingest", "delivery", "e2e", "peers", "soak", "postgres")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, to check the harness")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load run")
    parser.add_argument(
        "--soak", type=int, default=120, help="memory soak duration (600 for the full soak)"
    )
    parser.add_argument("--backlog", type=int, default=50_000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    seconds = 3 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), seconds=seconds, postgres=args.postgres)
        try:
            only = set(args.only.split(",")) if args.only else set(SCENARIOS)
            if "ingest" in only:
                bench.ingest([64] if args.quick else [16, 64, 256])
            if "delivery" in only:
                bench.delivery(5_000 if args.quick else args.backlog)
            if "e2e" in only:
                bench.end_to_end([200] if args.quick else [200, 1000])
            if "peers" in only:
                bench.peers()
            if "soak" in only:
                bench.soak(10 if args.quick else args.soak)
            if "postgres" in only and args.postgres:
                connections = [64] if args.quick else [16, 64, 256]
                bench.postgres(connections, 5_000 if args.quick else args.backlog)
        finally:
            bench.close()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    table = markdown(bench.report)
    name = "latest" if not args.only else "latest-" + args.only.replace(",", "-")
    (out / f"{name}.json").write_text(json.dumps(bench.report, indent=2))
    (out / f"{name}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
