"""Engines and units of work.

SQLite (the embedded default) runs in WAL mode; write transactions start with BEGIN IMMEDIATE
so two writers never interleave a read of the audit chain head with another's append.
PostgreSQL serialises audit appends with an advisory lock instead (see records.audit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from records import audit
from records.audit import AuditContext, PendingEvent


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take over transaction control so BEGIN can be IMMEDIATE for writers.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, immediate: bool = False, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

        event.listen(engine.sync_engine, "begin", _begin)
    return engine


class Database:
    """The application's handle on the store: read sessions and audited write sessions."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.write_engine = make_engine(url, immediate=True, echo=echo) if self.is_sqlite else self.engine
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        audit.install()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self, ctx: AuditContext) -> AsyncIterator[AsyncSession]:
        """One transaction: rows and their audit events commit together or not at all."""
        async with self._write() as session:
            session.info["audit"] = ctx
            async with session.begin():
                yield session

    async def record(self, ctx: AuditContext, *events: PendingEvent) -> None:
        """Write stand-alone audit events (sign-in attempts, denials) in their own transaction."""
        async with self.write(ctx) as session:
            await audit.add(session, *events)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
