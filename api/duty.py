"""Work a deployment does on a schedule, in one process: on PostgreSQL the holder of an advisory-lock
leadership (records/leader.py) runs it, so workers and nodes never do it twice at once; on SQLite (one
process) it simply runs. A round that fails is logged and the next round tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from records.db import Database
from records.leader import Leadership

log = logging.getLogger("plasmatwin.duty")


class Duty:
    def __init__(self, db: Database, name: str, every: float, work: Callable[[], Awaitable[None]]) -> None:
        self.db, self.name, self.every, self.work = db, name, every, work
        self._task: asyncio.Task[None] | None = None
        self._lead: Leadership | None = None

    async def start(self) -> None:
        if self.db.is_sqlite:
            self._run()
        else:
            self._lead = Leadership(self.db, self.name, self._gain, self._loss)
            await self._lead.start()

    async def _gain(self) -> None:
        self._run()

    def _loss(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _run(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while True:
            try:
                await self.work()
            except Exception:  # the database or a receiver away: the next round tries again
                log.exception("%s: this round failed", self.name)
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        if self._lead is not None:
            await self._lead.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
