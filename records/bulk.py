"""One bulk insert in one transaction, run straight on the database's driver (sqlite3, asyncpg), for
the reading recorder (twin/recorder.py): past SQLAlchemy's pool, BEGIN and COMMIT events and, on SQLite,
aiosqlite's one thread hop per step.

Why: through the write engine one flush was five or six hops between the event loop and aiosqlite's
thread (checkout, BEGIN IMMEDIATE, executemany, COMMIT, reset), and each hop waits for the loop's next
turn. Under live load (bench/ingest.py: 5,000 readings/s to 500 subscribers) a turn can take 20-30 ms,
so a flush of ten readings took 100 ms and more, /ingest answered that late, and the bridge's window
of unanswered batches filled: readings waited in the bridge. Here a flush is one hop (SQLite: the whole
transaction in one call on the writer's own thread) or one awaited call (asyncpg's atomic executemany).

The SQLite connection takes the same settings as the engine's (records.db._sqlite_pragmas) and starts
its transaction IMMEDIATE like every writer, so it queues behind other writers (busy timeout) as they do.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import event

from records.db import Database


class SqliteBulk:
    def __init__(self, path: str) -> None:
        self.path = path
        # One thread owns the connection: flushes run in order, never two at once.
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-insert")
        self.conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            self.conn = conn
        return self.conn

    def _insert(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def insert(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self._insert, sql, rows)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.thread.submit(conn.close).result()
        self.thread.shutdown(wait=False)


class PgBulk:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.lock: asyncio.Lock | None = None

    async def insert(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.lock is None:
            self.close()
            self.loop, self.lock = loop, asyncio.Lock()
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.dsn)
            await self.conn.executemany(sql, rows)  # atomic: all rows or none

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.terminate()


Bulk = SqliteBulk | PgBulk
_bulks: WeakKeyDictionary[Database, Bulk | None] = WeakKeyDictionary()


def bulk(db: Database) -> Bulk | None:
    """The Database's driver-level bulk writer, made on first use; None when SQLAlchemy must run it
    (an in-memory SQLite database has no second connection to it)."""
    if db in _bulks:
        return _bulks[db]
    url = db.write_engine.url
    found: Bulk | None = None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
        found = PgBulk(url.set(drivername="postgresql").render_as_string(hide_password=False))
    elif url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not str(url.database).startswith("file:"):
        found = SqliteBulk(str(url.database))
    _bulks[db] = found
    if found is not None:
        event.listen(db.write_engine.sync_engine, "engine_disposed", lambda _engine: found.close())
    return found
