"""Deliveries of released batches to the blood products traceability system (QM-03)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import trace_push as res
from resolvers.context import Context
from schema.enums import TracePushStatus
from schema.permissions import can


@strawberry.type(description="A released batch as posted to the traceability system, with its delivery state.")
class TracePush:
    id: int
    batch_number: str
    status: TracePushStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    response_status: int | None
    last_error: str | None
    payload_sha256: str = strawberry.field(description="SHA-256 of the posted bytes (the Digest header)")
    payload: JSON = strawberry.field(description="What is posted: batch, lots and their packaging codes")
    alarm_id: int | None = strawberry.field(description="The INTERFACE alarm its first failure raised")


def _push(r: res.TracePush) -> TracePush:
    return TracePush(id=r.id, batch_number=r.batch_number, status=TracePushStatus(r.status), attempts=r.attempts,
                     created_at=r.created_at, next_attempt_at=r.next_attempt_at, sent_at=r.sent_at,
                     response_status=r.response_status, last_error=r.last_error, payload_sha256=r.payload_sha256,
                     payload=cast(JSON, r.payload), alarm_id=r.alarm_id)


@strawberry.type
class TracePushQuery:
    @strawberry.field(description="Deliveries to the traceability system, newest first (at most 500)",
                      extensions=can("quality:trace_push", "read"))
    async def trace_pushes(self, info: Info[Context, None], status: TracePushStatus | None = None,
                           batch_number: str | None = None) -> list[TracePush]:
        rows = await res.listing(info.context, status.value if status else None, batch_number)
        return [_push(r) for r in rows]


@strawberry.type
class TracePushMutation:
    @strawberry.mutation(description="Send a failed delivery in the sender's next round (after the receiver is "
                                     "fixed); audited", extensions=can("quality:trace_push", "write"))
    async def retry_trace_push(self, info: Info[Context, None], id: int) -> TracePush:
        return _push(await res.retry_now(info.context, id))
