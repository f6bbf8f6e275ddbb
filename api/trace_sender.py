"""The sender of released batches to the traceability system (QM-03): every few seconds, in one process
of the deployment (api/duty.py), it posts what is due (resolvers/trace_push.py)."""

from __future__ import annotations

import logging

import httpx

from api.duty import Duty
from resolvers import trace_push
from resolvers.context import Services

log = logging.getLogger("plasmatwin.trace")


class TraceSender(Duty):
    def __init__(self, svc: Services, url: str, every: float) -> None:
        super().__init__(svc.db, "trace-push", every, self._round)
        self.svc, self.url = svc, url
        self.client = httpx.AsyncClient(timeout=15)

    async def _round(self) -> None:
        for o in await trace_push.deliver_due(self.svc, self.client, self.url):
            log.info("traceability delivery of %s: %s (%s)", o.batch_number, o.status, o.detail)

    async def stop(self) -> None:
        await super().stop()
        await self.client.aclose()
