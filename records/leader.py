"""One holder at a time among the API processes sharing a PostgreSQL database: a session-level advisory
lock held on a connection of its own. Several workers on one host (`plasmatwin serve --workers N`) or
several hosts run a duty that must happen once per deployment (the alarm rules) in whichever process
holds it.

PostgreSQL rather than Redis because the duty writes there anyway: while the database answers, the
holder keeps the duty whatever Redis does. The lock goes with the holder's session, so when the holder
stops, dies or loses its connection, another process takes over at its next attempt (every second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from records.db import Database

log = logging.getLogger("plasmatwin.leader")


def lock_key(name: str) -> int:
    """A stable advisory-lock key per duty (apart from records.audit's PG_AUDIT_LOCK)."""
    return 0x504C0000_00000000 + zlib.crc32(f"plasmatwin:{name}".encode())


class Leadership:
    def __init__(self, db: Database, name: str, on_gain: Callable[[], Awaitable[None]], on_loss: Callable[[], None],
                 every: float = 1.0) -> None:
        self.db = db
        self.name = name
        self.key = lock_key(name)
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.every = every
        self.held = False
        self._conn: Any = None  # the session holding the lock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.attempt()  # the first process up leads before it answers requests
        self._task = asyncio.create_task(self._loop(), name=f"leader-{self.name}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.attempt()

    async def attempt(self) -> None:
        try:
            if self.held:
                await self._ask("SELECT 1")  # the session, and with it the lock, still there
                return
            if self._conn is None:
                self._conn = await self.db.engine.connect()
            if not await self._ask("SELECT pg_try_advisory_lock(:k)"):
                return
        except Exception as e:  # the database is away: the lock went with the session
            log.warning("%s: the lock's connection failed: %r", self.name, e)
            await self._drop()
            if self.held:
                self._step_down()
            return
        try:
            await self.on_gain()
        except Exception:  # not ready to lead: give the lock back, try again later
            log.exception("taking over %s failed", self.name)
            await self._drop()
            return
        self.held = True
        log.info("this process now runs %s", self.name)

    async def _ask(self, sql: str) -> Any:
        answer = (await self._conn.execute(text(sql), {"k": self.key})).scalar()
        await self._conn.commit()  # never idle in a transaction (the lock is the session's, not the transaction's)
        return answer

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()  # closed, not returned to the pool with the lock on it

    def _step_down(self) -> None:
        self.held = False
        self.on_loss()
        log.warning("this process no longer runs %s", self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.held:
            self.held = False
            self.on_loss()
        await self._drop()  # the session ends: the next process takes over at its next attempt
