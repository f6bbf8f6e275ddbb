"""Live subscriptions over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from policies.errors import AppError, ErrorCode
from resolvers import batch_events
from resolvers import live as live_res
from resolvers.context import Context
from resolvers.history import tag_history
from resolvers.live import Reading, StateMessage, hub, plant_state
from schema.enums import BatchEventKind, EquipmentStatus, Quality
from schema.permissions import can


@strawberry.type
class SensorReading:
    tag: str
    value: float | None
    quality: Quality
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
        async for r in live_res.readings(ctx, tags):
            yield sensor_reading(r)


def sensor_reading(r: Reading) -> SensorReading:
    return SensorReading(tag=r.tag, value=r.value, quality=r.quality, source_time=r.source_time,
                         received_at=r.received_at)


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
        points = await tag_history(info.context, tag, since, to, max_points)
        return [SensorPoint(time=p.time, value=p.value, min=p.min, max=p.max, count=p.count) for p in points]


@strawberry.type
class TagState:
    tag: str
    value: float | None
    quality: Quality
    source_time: datetime


@strawberry.type
class EquipmentState:
    code: str
    status: EquipmentStatus


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
        pid, interval = await _plant_state_args(ctx, {"plantId": plant_id, "intervalMs": interval_ms})
        async with aclosing(plant_state(ctx, pid, interval)) as messages:  # unsubscribes as soon as it closes
            async for m in messages:
                yield plant_state_message(m)


async def _plant_state_args(ctx: Context, args: dict[str, Any]) -> tuple[int, float]:
    await ctx.require("plant:sensor", "read")
    try:
        pid = int(args["plantId"])
    except ValueError as exc:
        raise AppError(ErrorCode.VALIDATION_FAILED, "plantId must be numeric") from exc
    ms = args.get("intervalMs")
    return pid, max(0.05, ms / 1000) if ms is not None else ctx.services.plant_state_interval


def plant_state_message(m: StateMessage) -> PlantStateMessage:
    return PlantStateMessage(
        snapshot=m.snapshot, coalesced=m.coalesced,
        sensors=[TagState(tag=r.tag, value=r.value, quality=r.quality, source_time=r.source_time)
                 for r in m.readings],
        equipment=[EquipmentState(code=c, status=EquipmentStatus(s)) for c, s in m.equipment])


async def _plant_state_live(ctx: Context, args: dict[str, Any], render: Callable[[Any], str]
                            ) -> AsyncGenerator[str, None]:
    pid, interval = await _plant_state_args(ctx, args)
    async with aclosing(hub(ctx).stream(ctx, pid, interval, render)) as texts:
        async for text in texts:
            yield text


async def _sensor_updates_live(ctx: Context, args: dict[str, Any], render: Callable[[Any], str]
                               ) -> AsyncGenerator[str, None]:
    await ctx.require("plant:sensor", "read")
    async for r in live_res.readings(ctx, args.get("tags")):
        yield render(r)


async def _sensor_updates_feed(ctx: Context, args: dict[str, Any]) -> Any:
    await ctx.require("plant:sensor", "read")
    return live_res.listen_readings(ctx, args.get("tags"))


# Subscriptions the WebSocket transport may answer by projection (api/engine/live_fast.py): the stream of
# JSON texts, how an event becomes the field's object, and (when it can be pushed) how to listen.
LIVE_FIELDS: dict[str, tuple[Any, ...]] = {
    "plantState": (_plant_state_live, plant_state_message),
    "sensorUpdates": (_sensor_updates_live, sensor_reading, _sensor_updates_feed),
}


@strawberry.type
class BatchEvent:
    batch_number: str
    kind: BatchEventKind
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
