"""One read-only statement run straight on the database's driver (asyncpg, sqlite3) for the compiled
reads (api/engine/compiled/) and the trace graphs (resolvers/trace_sql.py), past SQLAlchemy's connection
pool, transaction and greenlet bridge.

Measured on this machine, one small statement costs about 0.3-0.45 ms of CPU through an SQLAlchemy
AsyncEngine connection (pre-ping, BEGIN, ROLLBACK, the greenlet hops) against 0.02-0.08 ms on the
driver: more than the statement itself. So each Database gets, on first use, a small asyncpg pool
(autocommit, no reset query on release; asyncpg keeps each connection's prepared statements) or, for
SQLite, one read-only sqlite3 connection per worker thread. They are closed when the Database's engine
is disposed. An in-memory SQLite database has no second connection to it: None, SQLAlchemy runs it.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from records.db import Database

POOL_SIZE = 8  # connections per process for compiled reads, beside SQLAlchemy's own pool


class PgReader:
    """Up to POOL_SIZE asyncpg connections, handed out one per statement.

    Not asyncpg's Pool: its acquire and release (a timeout, a shielded task, the reset hooks) cost about
    70 us of CPU per statement here against 45 us for the statement itself, a quarter of a small
    compiled read's whole cost. Here a free connection is popped from a list and pushed back; a caller
    finding none free opens one up to the limit, then waits in line. A connection that was lost, or
    whose statement was cancelled midway (its protocol state unknown), is closed and not reused."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.loop: asyncio.AbstractEventLoop | None = None
        self.free: list[asyncpg.Connection] = []
        self.opened = 0  # connections open or being opened, free or in use
        self.waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self.generation = 0  # counts close(): a connection from before it is closed when given back

    async def _acquire(self) -> tuple[asyncpg.Connection, int]:
        """A connection and the generation it belongs to (give both back to _release)."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # a new event loop (tests, a restarted app): the old connections are its
            self.close()
            self.loop = loop
        while self.free:
            conn = self.free.pop()
            if not conn.is_closed():
                return conn, self.generation
            self.opened -= 1  # lost while it lay free (the server restarted, an idle timeout): not handed out
        while self.opened >= POOL_SIZE:
            waiter: asyncio.Future[asyncpg.Connection | None] = loop.create_future()
            self.waiting.append(waiter)
            try:
                handed_over = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and (handed := waiter.result()) is not None:
                    self._release(handed, True, self.generation)  # handed over as we were cancelled: pass it on
                elif waiter in self.waiting:
                    self.waiting.remove(waiter)
                raise
            if handed_over is not None:
                return handed_over, self.generation
            # None: a connection was closed, so there is room to open one (unless someone got there first)
        generation = self.generation
        self.opened += 1
        try:
            return await asyncpg.connect(self.dsn), generation
        except BaseException:
            if generation == self.generation:
                self.opened -= 1
                self._wake_one()
            raise

    def _release(self, conn: asyncpg.Connection, reuse: bool, generation: int) -> None:
        if generation != self.generation:  # from before close(): not counted any more
            conn.terminate()
            return
        if not reuse or conn.is_closed():
            self.opened -= 1
            conn.terminate()
            self._wake_one()
            return
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.free.append(conn)

    def _wake_one(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _run(self, method: str, sql: str, params: Sequence[Any]) -> Any:
        conn, generation = await self._acquire()
        reuse = False
        try:
            found = await getattr(conn, method)(sql, *params)
            reuse = True
        except asyncpg.PostgresError:
            reuse = True  # the server refused the statement; the connection is fine
            raise
        finally:
            self._release(conn, reuse, generation)
        return found

    async def value(self, sql: str, params: Sequence[Any]) -> Any:
        """The first column of the first row, or None when there is none."""
        return await self._run("fetchval", sql, params)

    async def row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row, or None when there is none."""
        found = await self._run("fetchrow", sql, params)
        return tuple(found) if found is not None else None

    def close(self) -> None:
        """Close the free connections now and those in use when they are given back."""
        free, self.free = self.free, []
        for conn in free:
            conn.terminate()
        self.generation += 1
        self.opened = 0
        if self.loop is not None and self.loop.is_closed():
            self.waiting.clear()  # their loop is gone, and they with it
        while self.waiting:  # those waiting open new connections
            self._wake_one()


class SqliteReader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []
        self.lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=15000")
            conn.execute("PRAGMA query_only=1")
            self.local.conn = conn
            with self.lock:
                self.opened.append(conn)
        return conn

    def _run(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        found = self._connection().execute(sql, tuple(params)).fetchone()
        return tuple(found) if found is not None else None

    async def value(self, sql: str, params: Sequence[Any]) -> Any:
        found = await self.row(sql, params)
        return found[0] if found is not None else None

    async def row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        return await asyncio.get_running_loop().run_in_executor(None, self._run, sql, params)

    def close(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
            self.local = threading.local()
        for conn in opened:
            conn.close()


Reader = PgReader | SqliteReader


def positional(sql: str, names: Sequence[str], pg: bool) -> str:
    """SQLAlchemy's `:name` parameters of `sql` as the driver's numbered ones ($1 on PostgreSQL, ?1 on
    SQLite, each reusable), numbered in the order of `names`; a `::type` cast is left alone."""
    numbers = {name: i for i, name in enumerate(names, start=1)}
    mark = "$" if pg else "?"
    pattern = re.compile(r"(?<![:\w]):(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: f"{mark}{numbers[m.group(1)]}", sql)


class Closeable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=Closeable)


def per_database(made: WeakKeyDictionary[Database, C | None], db: Database, engine: AsyncEngine,
                 pg: Callable[[str], C], sqlite: Callable[[str], C]) -> C | None:
    """The object holding `db`'s own driver connections past SQLAlchemy, made on first use and kept in
    `made`: `pg(an asyncpg DSN)` or `sqlite(the file's path)`, closed when `engine` is disposed. None for an
    in-memory SQLite database (no second connection reaches it) and any other driver: SQLAlchemy runs it."""
    if db in made:
        return made[db]
    url = engine.url
    found: C | None = None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        found = pg(url.set(drivername="postgresql").render_as_string(hide_password=False))
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not str(url.database).startswith("file:"):
        found = sqlite(str(url.database))
    if found is not None:
        event.listen(engine.sync_engine, "engine_disposed", lambda _engine: found.close())
    made[db] = found
    return found


_readers: WeakKeyDictionary[Database, Reader | None] = WeakKeyDictionary()


def reader(db: Database) -> Reader | None:
    """The Database's driver-level reader; None when SQLAlchemy must run the read."""
    pg: Callable[[str], Reader] = PgReader
    return per_database(_readers, db, db.engine, pg, SqliteReader)
