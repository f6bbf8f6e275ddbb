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
from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import event

from records.db import Database

POOL_SIZE = 8  # connections per process for compiled reads, beside SQLAlchemy's own pool


class PgReader:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self.pool is None or self.loop is not loop:
            self.close()
            self.loop = loop
            self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=POOL_SIZE, reset=_no_reset)
        return self.pool

    async def value(self, sql: str, params: Sequence[Any]) -> Any:
        """The first column of the first row, or None when there is none."""
        async with (await self._pool()).acquire() as conn:
            return await conn.fetchval(sql, *params)

    async def row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row, or None when there is none."""
        async with (await self._pool()).acquire() as conn:
            found = await conn.fetchrow(sql, *params)
        return tuple(found) if found is not None else None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Nothing to reset: a compiled read runs one statement in autocommit and sets nothing."""


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
_readers: WeakKeyDictionary[Database, Reader | None] = WeakKeyDictionary()


def reader(db: Database) -> Reader | None:
    """The Database's driver-level reader, made on first use; None when SQLAlchemy must run the read."""
    if db in _readers:
        return _readers[db]
    url = db.engine.url
    found: Reader | None = None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        found = PgReader(url.set(drivername="postgresql").render_as_string(hide_password=False))
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not str(url.database).startswith("file:"):
        found = SqliteReader(str(url.database))
    _readers[db] = found
    if found is not None:
        event.listen(db.engine.sync_engine, "engine_disposed", lambda _engine: found.close())
    return found
