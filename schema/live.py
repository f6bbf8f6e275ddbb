"""Live subscriptions over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from resolvers import batch_events
from resolvers.context import Context
from resolvers.history import history
from resolvers.live import plant_state
from schema.permissions import can
from twin.state import SENSOR_TOPIC


@strawberry.type
class SensorReading:
    tag: str
    value: float | None
    quality: str
    source_time: datetime
    received_at: datetime


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(description="Sensor readings as they arrive; all tags unless some are named.")
    async def sensor_updates(
        self, info: Info[Context, None], tags: list[str] | None = None
    ) -> AsyncGenerator[SensorReading, None]:
        ctx = info.context
        # Subscriptions check in the generator, so the refusal reaches the client as a coded error.
        await ctx.require("plant:sensor", "read")
        # Keyed by tag: a reading costs the bus only the subscribers of that tag.
        async with ctx.services.bus.subscribe(SENSOR_TOPIC, keys=frozenset(tags) if tags else None) as stream:
            async for r in stream:
                yield SensorReading(tag=r.tag, value=r.value, quality=r.quality.value,
                                    source_time=r.source_time, received_at=r.received_at)


@strawberry.type
class SensorPoint:
    time: datetime
    value: float | None = strawberry.field(description="The reading, or the bucket's average")
    min: float | None
    max: float | None
    count: int


@strawberry.type
class HistoryQuery:
    @strawberry.field(description="Stored readings of a tag for trends, downsampled to at most maxPoints buckets.",
                      extensions=can("plant:sensor", "read"))
    async def sensor_history(self, info: Info[Context, None], tag: str,
                             since: Annotated[datetime, strawberry.argument(name="from")], to: datetime,
                             max_points: int = 500) -> list[SensorPoint]:
        async with info.context.db.read() as s:
            points = await history(s, tag, since, to, max_points)
        return [SensorPoint(time=p.time, value=p.value, min=p.min, max=p.max, count=p.count) for p in points]


@strawberry.type
class TagState:
    tag: str
    value: float | None
    quality: str
    source_time: datetime


@strawberry.type
class EquipmentState:
    code: str
    status: str


@strawberry.type(name="PlantState", description="The first message holds every tag and equipment state of the "
                 "plant; later ones only what changed since the previous message.")
class PlantStateMessage:
    snapshot: bool
    sensors: list[TagState]
    equipment: list[EquipmentState]
    coalesced: int = strawberry.field(description="Tag values replaced by newer ones before this message was sent")


@strawberry.type
class PlantStateSubscription:
    @strawberry.subscription(description="A snapshot of the plant's tags and equipment, then deltas at most once "
                             "per intervalMs (default from the server's settings, at least 50 ms).")
    async def plant_state(self, info: Info[Context, None], plant_id: strawberry.ID,
                          interval_ms: int | None = None) -> AsyncGenerator[PlantStateMessage, None]:
        ctx = info.context
        await ctx.require("plant:sensor", "read")
        try:
            pid = int(plant_id)
        except ValueError as exc:
            raise AppError(ErrorCode.VALIDATION_FAILED, "plantId must be numeric") from exc
        interval = max(0.05, interval_ms / 1000) if interval_ms is not None else ctx.services.plant_state_interval
        async with aclosing(plant_state(ctx, pid, interval)) as messages:  # unsubscribes as soon as it closes
            async for m in messages:
                yield PlantStateMessage(
                    snapshot=m.snapshot, coalesced=m.coalesced,
                    sensors=[TagState(tag=r.tag, value=r.value, quality=r.quality.value, source_time=r.source_time)
                             for r in m.readings],
                    equipment=[EquipmentState(code=c, status=s) for c, s in m.equipment])


@strawberry.type
class BatchEvent:
    batch_number: str
    kind: str = strawberry.field(description="LINE_CLEARANCE, DEVIATION_RAISED or RELEASED")
    detail: str
    actor: str
    at: datetime


@strawberry.type
class BatchEventSubscription:
    @strawberry.subscription(description="Events of one batch as they are committed; never coalesced.")
    async def batch_events(self, info: Info[Context, None], batch_number: str) -> AsyncGenerator[BatchEvent, None]:
        ctx = info.context
        await ctx.require("batch:record", "read")
        async with aclosing(batch_events.events(ctx, batch_number)) as stream:
            async for e in stream:
                yield BatchEvent(batch_number=e.batch_number, kind=e.kind, detail=e.detail, actor=e.actor, at=e.at)
