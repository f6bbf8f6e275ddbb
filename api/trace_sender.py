"""The sender of released batches to the traceability system (QM-03): every few seconds it posts what is
due (resolvers/trace_push.py). On PostgreSQL one process of the deployment sends (an advisory-lock
leadership), so workers and nodes never post the same delivery twice at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from records.leader import Leadership
from resolvers import trace_push
from resolvers.context import Services

log = logging.getLogger("plasmatwin.trace")


class TraceSender:
    def __init__(self, svc: Services, url: str, every: float) -> None:
        self.svc, self.url, self.every = svc, url, every
        self._task: asyncio.Task[None] | None = None
        self._lead: Leadership | None = None

    async def start(self) -> None:
        if self.svc.db.is_sqlite:
            self._run()
        else:
            self._lead = Leadership(self.svc.db, "trace-push", self._gain, self._loss)
            await self._lead.start()

    async def _gain(self) -> None:
        self._run()

    def _loss(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _run(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="trace-sender")

    async def _loop(self) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            while True:
                try:
                    for o in await trace_push.deliver_due(self.svc, client, self.url):
                        log.info("traceability delivery of %s: %s (%s)", o.batch_number, o.status, o.detail)
                except Exception:  # the database away: the next round tries again
                    log.exception("traceability deliveries could not be read or written")
                await asyncio.sleep(self.every)

    async def stop(self) -> None:
        if self._lead is not None:
            await self._lead.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
