"""The plantState stream: a snapshot of every tag and equipment state of a plant, then only what
changed, at most one message per interval (state streams coalesce: the newest value wins)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from policies.errors import AppError, ErrorCode
from records.plant import Area, Equipment, Plant, Room, Sensor
from resolvers.context import Context
from resolvers.equipment import EQUIPMENT_TOPIC
from twin.state import SENSOR_TOPIC, Reading


@dataclass(frozen=True)
class StateMessage:
    snapshot: bool
    readings: list[Reading]
    # (equipment code, status)
    equipment: list[tuple[str, str]]
    # Changes replaced by newer ones before they were sent (this subscriber's coalescing).
    coalesced: int


async def _plant(ctx: Context, plant_id: int) -> tuple[frozenset[str], dict[str, str]]:
    async with ctx.db.read() as s:
        if await s.get(Plant, plant_id) is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no plant {plant_id}")
        rooms = select(Room.id).join(Area, Area.id == Room.area_id).where(Area.plant_id == plant_id)
        tags = frozenset((await s.execute(select(Sensor.tag).where(Sensor.room_id.in_(rooms)))).scalars())
        eq = dict((await s.execute(select(Equipment.code, Equipment.status).where(
            Equipment.room_id.in_(rooms)))).all())
    return tags, eq


async def plant_state(ctx: Context, plant_id: int, interval: float) -> AsyncGenerator[StateMessage, None]:
    tags, equipment = await _plant(ctx, plant_id)
    bus, twin = ctx.services.bus, ctx.services.twin
    changed: dict[str, Reading] = {}
    changed_eq: dict[str, str] = {}
    coalesced = 0
    wake = asyncio.Event()

    def on_reading(r: Reading) -> None:
        nonlocal coalesced
        if r.tag in changed:
            coalesced += 1
        changed[r.tag] = r
        wake.set()

    def on_equipment(e: dict[str, Any]) -> None:
        changed_eq[e["code"]] = e["status"]
        wake.set()

    # Collecting in the publisher's turn keeps this subscriber's memory bounded by the plant's size,
    # however slowly it reads: newer values replace older ones.
    with bus.listen(SENSOR_TOPIC, on_reading, lambda r: r.tag in tags), \
            bus.listen(EQUIPMENT_TOPIC, on_equipment, lambda e: e["code"] in equipment):
        current = [r for t in sorted(tags) if (r := twin.last(t)) is not None]
        yield StateMessage(True, current, sorted(equipment.items()), 0)
        while True:
            await wake.wait()
            wake.clear()
            readings, eq, dropped = list(changed.values()), sorted(changed_eq.items()), coalesced
            changed.clear()
            changed_eq.clear()
            coalesced = 0
            yield StateMessage(False, readings, eq, dropped)
            await asyncio.sleep(interval)
