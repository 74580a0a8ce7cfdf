"""One writer thread for SQLite with group commit.

SQLite has one writer at a time, and each commit costs an fsync (~6,600/s on our machines)
while a transaction of 100 rows costs about the same as one. So every write operation —
ingest, claim, attempt record — is a function queued to this thread; the thread takes all
that are waiting (up to `max_batch`), runs each inside its own SAVEPOINT in one transaction,
commits once, and only then resolves each caller's future. A caller's 2xx therefore always
follows a durable commit, and one failing operation rolls back alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hookline.errors import StoreError, StoreUnavailableError

T = TypeVar("T")
A = TypeVar("A")
Operation = Callable[[sqlite3.Connection], Any]
_STOP = object()


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves), WAL, durable commits."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteWriter:
    """Runs write operations on one connection in one thread, committing in groups."""

    def __init__(self, path: Path, *, max_batch: int = 256) -> None:
        self._path = path
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._closing = False
        self.batches = 0  # commits made, for tests and benchmarks
        self.operations = 0

    def start(self) -> None:
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name="hookline-sqlite-writer", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise StoreUnavailableError(f"cannot open {self._path}: {self._startup_error}")

    def stop(self) -> None:
        if self._thread is not None:
            self._closing = True  # from now on, new operations are refused at once
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        self._fail_queued()

    def _fail_queued(self) -> None:
        """Operations that arrived as the writer stopped are answered, never left waiting."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not _STOP:
                _operation, future, loop = item
                closed = StoreUnavailableError("the store is closed")
                _dispatch(loop, [(future, False, closed)])

    async def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Queue `operation`; return its result once its transaction has committed."""
        result: T = await self._submit(operation)
        return result

    async def run_bulk(self, bulk: Callable[[sqlite3.Connection, list[A]], list[T]], item: A) -> T:
        """Queue `item` for `bulk`, which handles every such item of a batch in one call (a
        few statements for the whole batch instead of several per item). If the bulk call
        fails, each item is retried alone so one bad item cannot fail its batch-mates."""
        result: T = await self._submit(_Bulk(bulk, item))
        return result

    async def _submit(self, operation: Any) -> Any:
        if self._thread is None or self._closing:
            raise StoreUnavailableError("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((operation, future, loop))
        return await future

    def _run(self) -> None:
        try:
            conn = connect(self._path)
        except sqlite3.Error as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                batch = [self._queue.get()]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(item is _STOP for item in batch)
                work = [item for item in batch if item is not _STOP]
                if work:
                    self._commit(conn, work)
                if stop:
                    break
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, work: list[Any]) -> None:
        results: list[tuple[bool, Any]] = [(False, None)] * len(work)
        try:
            conn.execute("BEGIN IMMEDIATE")
            bulks: dict[Any, list[int]] = {}
            for index, (operation, _future, _loop) in enumerate(work):
                if isinstance(operation, _Bulk):
                    bulks.setdefault(operation.handler, []).append(index)
                else:
                    results[index] = self._one(conn, operation)
            for handler, indexes in bulks.items():
                self._bulk(conn, handler, [work[i][0].item for i in indexes], indexes, results)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StoreUnavailableError(f"SQLite commit failed: {exc}")
            failure.__cause__ = exc
            results = [(False, failure)] * len(work)
        self.batches += 1
        self.operations += len(work)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (ok, value), (_operation, future, loop) in zip(results, work, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():  # one wake-up per loop, not one per operation
            _dispatch(loop, settled)

    def _bulk(
        self,
        conn: sqlite3.Connection,
        handler: Callable[[sqlite3.Connection, list[Any]], list[Any]],
        items: list[Any],
        indexes: list[int],
        results: list[tuple[bool, Any]],
    ) -> None:
        outcome = self._one(conn, lambda c: handler(c, items))
        if outcome[0]:
            for index, value in zip(indexes, outcome[1], strict=True):
                results[index] = (True, value)
            return
        for index, item in zip(indexes, items, strict=True):  # find the bad one
            one = self._one(conn, functools.partial(_single, handler, item))
            results[index] = (True, one[1][0]) if one[0] else one

    @staticmethod
    def _one(conn: sqlite3.Connection, operation: Operation) -> tuple[bool, Any]:
        conn.execute("SAVEPOINT operation")
        try:
            value = operation(conn)
        except Exception as exc:  # one operation failing must not fail its batch-mates
            conn.execute("ROLLBACK TO operation")
            conn.execute("RELEASE operation")
            if isinstance(exc, sqlite3.Error):
                wrapped = StoreError(f"SQLite error: {exc}")
                wrapped.__cause__ = exc
                return False, wrapped
            return False, exc
        conn.execute("RELEASE operation")
        return True, value


def _single(handler: Callable[[sqlite3.Connection, list[Any]], list[Any]], item: Any,
            conn: sqlite3.Connection) -> list[Any]:  # fmt: skip
    return handler(conn, [item])


class _Bulk:
    __slots__ = ("handler", "item")

    def __init__(self, handler: Callable[[sqlite3.Connection, list[Any]], list[Any]], item: Any):
        self.handler = handler
        self.item = item


def _dispatch(
    loop: asyncio.AbstractEventLoop, settled: list[tuple[asyncio.Future[Any], bool, Any]]
) -> None:
    """Hand results to their event loop; a loop already closed has nobody left to answer."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
