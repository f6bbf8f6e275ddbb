"""One bulk insert in one transaction, run straight on the database's driver (sqlite3, asyncpg), for
the reading recorder (twin/recorder.py): past SQLAlchemy's pool, BEGIN and COMMIT events and, on SQLite,
aiosqlite's one thread hop per step. Rows whose conflict key is already stored are skipped (a replay).

Why: through the write engine one flush was five or six hops between the event loop and aiosqlite's
thread (checkout, BEGIN IMMEDIATE, executemany, COMMIT, reset), and each hop waits for the loop's next
turn. Under live load (bench/ingest.py: 5,000 readings/s to 500 subscribers) a turn can take 20-30 ms,
so a flush of ten readings took 100 ms and more, /ingest answered that late, and the bridge's window
of unanswered batches filled: readings waited in the bridge. Here a flush is one hop (SQLite: the whole
transaction in one call on the writer's own thread) or one awaited call (asyncpg's atomic executemany).

On SQLite the rows go in as one JSON array read by `json_each`: one statement step for the whole batch.
sqlite3's executemany gives the interpreter lock back and takes it again around every row's step, and
while the event loop is busy each taking can wait for the switch interval (5 ms): a flush of a few
hundred rows could be held for as long as the loop stayed busy. A SQLite without JSON uses executemany.

The SQLite connection takes the same settings as the engine's (records.db._sqlite_pragmas) and starts
its transaction IMMEDIATE like every writer, so it queues behind other writers (busy timeout) as they do.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
import orjson

from records.db import Database
from records.reader import per_database


@cache
def values_sql(table: str, columns: tuple[str, ...], key: tuple[str, ...], mark: str) -> str:
    """INSERT of one row's parameters (`?` or `$n`), skipping a row whose key is stored."""
    marks = ", ".join("?" if mark == "?" else f"${i}" for i in range(1, len(columns) + 1))
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "  # noqa: S608 - names from the caller's code
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING")


@cache
def _json_sql(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    """INSERT of every row of one JSON array parameter (SQLite's json_each); `WHERE true` keeps SQLite's
    parser from reading ON CONFLICT as a join's ON."""
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picks} FROM json_each(?) WHERE true "  # noqa: S608
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING")


class SqliteBulk:
    def __init__(self, path: str) -> None:
        self.path = path
        # One thread owns the connection: flushes run in order, never two at once.
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-insert")
        self.conn: sqlite3.Connection | None = None
        self.json = False

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=15000", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            try:
                self.json = conn.execute("SELECT count(*) FROM json_each('[1]')").fetchone()[0] == 1
            except sqlite3.OperationalError:  # built without JSON (before 3.38 it was optional)
                self.json = False
            self.conn = conn
        return self.conn

    def _insert(self, table: str, columns: tuple[str, ...], key: tuple[str, ...],
                rows: Sequence[Sequence[Any]]) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self.json:
                conn.execute(_json_sql(table, columns, key), (orjson.dumps(rows),))
            else:
                conn.executemany(values_sql(table, columns, key, "?"), rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def insert(self, table: str, columns: tuple[str, ...], key: tuple[str, ...],
                     rows: Sequence[Sequence[Any]]) -> None:
        """Store `rows` (values in `columns` order, JSON-encodable) in one transaction; rows whose `key`
        is already stored are skipped."""
        await asyncio.get_running_loop().run_in_executor(self.thread, self._insert, table, columns, key, rows)

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

    async def insert(self, table: str, columns: tuple[str, ...], key: tuple[str, ...],
                     rows: Sequence[Sequence[Any]]) -> None:
        """As SqliteBulk.insert, with asyncpg's types (datetimes for timestamps)."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.lock is None:
            self.close()
            self.loop, self.lock = loop, asyncio.Lock()
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.dsn)
            try:
                await self.conn.executemany(values_sql(table, columns, key, "$"), rows)  # atomic: all or none
            except asyncpg.PostgresError:
                raise  # refused by the server: the connection is fine
            except BaseException:
                self.close()  # lost, or cancelled midway (its protocol state unknown): a new one next time
                raise

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.terminate()


Bulk = SqliteBulk | PgBulk
_bulks: WeakKeyDictionary[Database, Bulk | None] = WeakKeyDictionary()


def bulk(db: Database) -> Bulk | None:
    """The Database's driver-level bulk writer; None when SQLAlchemy must run it."""
    pg: Callable[[str], Bulk] = PgBulk
    return per_database(_bulks, db, db.write_engine, pg, SqliteBulk)
