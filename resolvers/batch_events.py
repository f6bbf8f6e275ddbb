"""batchEvents: what happened to a batch (line clearance, deviation, release), published after commit."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from resolvers.context import Context
from resolvers.plasma import batch as scoped_batch
from subscriptions.codecs import Codec
from subscriptions.topics import BATCH_TOPIC


class BatchEventKind(StrEnum):
    LINE_CLEARANCE = "LINE_CLEARANCE"
    DEVIATION_RAISED = "DEVIATION_RAISED"
    RELEASED = "RELEASED"


@dataclass(frozen=True)
class BatchEvent:
    batch_number: str
    kind: BatchEventKind
    detail: str
    actor: str
    at: datetime


def publish(ctx: Context, batch_number: str, kind: BatchEventKind, detail: str) -> None:
    ctx.services.bus.publish(BATCH_TOPIC, BatchEvent(batch_number, kind, detail, ctx.signed_in().username, utcnow()))


async def events(ctx: Context, batch_number: str) -> AsyncGenerator[BatchEvent, None]:
    async with ctx.db.read() as s:
        if await scoped_batch(s, batch_number, ctx.scope()) is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
    async with ctx.services.bus.subscribe(BATCH_TOPIC, lossless=True,
                                          accept=lambda e: e.batch_number == batch_number) as stream:
        async for e in stream:
            yield e


def _encode(e: BatchEvent) -> list[str]:
    return [e.batch_number, e.kind, e.detail, e.actor, e.at.isoformat()]


def _decode(d: list[str]) -> BatchEvent:
    return BatchEvent(d[0], BatchEventKind(d[1]), d[2], d[3], datetime.fromisoformat(d[4]))


# How a batch event crosses between API nodes (subscriptions.redis_bus).
BATCH_CODEC = Codec(_encode, _decode)
