"""PostgreSQL ingest: group commit vs one transaction per event, on a scratch database.

Creates `hookline_bench_<pid>` on the server of URL (default: the local test server), runs
the store alone (event + 1 delivery per ingest), drops the database, prints a table.

    python bench/postgres_ingest.py [--url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hookline.models import NewDelivery, NewEvent, new_id, utcnow
from hookline.store.postgres import PostgresStore

BODY = b'{"id": "evt", "type": "payment_intent.succeeded", "data": {"object": {}}}' + b" " * 900


def event(n: int) -> NewEvent:
    return NewEvent(new_id("evt"), "stripe", f"e{n}-{os.getpid()}", "t", utcnow(),
                    "application/json", {"content-type": "application/json"}, {}, BODY)  # fmt: skip


async def run(store: PostgresStore, events: int, concurrency: int, *, grouped: bool) -> float:
    numbers = iter(range(events))

    async def one_stream() -> None:
        for n in numbers:
            deliveries = [NewDelivery(new_id("dlv"), "r", 0, "http")]
            if grouped:
                await store.ingest(event(n), deliveries)
            else:  # what a naive store does: each request its own statement and commit
                item = type("Item", (), {"event": event(n), "deliveries": deliveries})
                await store._batcher._write([item])  # type: ignore[list-item]

    started = time.perf_counter()
    await asyncio.gather(*(one_stream() for _ in range(concurrency)))
    return events / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    name = f"hookline_bench_{os.getpid()}"
    admin = await asyncpg.connect(args.url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        store = PostgresStore(urlunsplit(urlsplit(args.url)._replace(path=f"/{name}")))
        await store.open(migrate=True)
        rows = []
        for label, events, concurrency, grouped in (
            ("one at a time (1 commit each)", args.events // 4, 1, False),
            ("64 concurrent, 1 transaction each (pool of 10)", args.events, 64, False),
            ("64 concurrent, group commit", args.events, 64, True),
        ):
            before = store.commits
            rate = await run(store, events, concurrency, grouped=grouped)
            commits = store.commits - before if grouped else events
            rows.append((label, rate, commits, events))
        await store.aclose()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    print("| store.ingest (event + 1 delivery), PostgreSQL | events/s | commits | events |")
    print("| --- | ---: | ---: | ---: |")
    for label, rate, commits, events in rows:
        print(f"| {label} | {rate:,.0f} | {commits:,} | {events:,} |")


if __name__ == "__main__":
    asyncio.run(main())
