"""Live subscriptions over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.history import history
from schema.permissions import can
from twin.state import SENSOR_TOPIC, Reading


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
        wanted = frozenset(tags) if tags else None

        def accept(r: Reading) -> bool:
            return wanted is None or r.tag in wanted

        async with ctx.services.bus.subscribe(SENSOR_TOPIC, accept=accept) as stream:
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
