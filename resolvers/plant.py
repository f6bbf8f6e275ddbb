"""Reads of the plant graph: plants, rooms, equipment, sensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from records.plant import Area, Room
from records.plant import Equipment as Equipment  # the rows the schema converts
from records.plant import Plant as Plant
from resolvers.context import Context


def _plant_graph() -> list[Any]:
    return [
        selectinload(Plant.areas).selectinload(Area.rooms).selectinload(Room.equipment)
        .selectinload(Equipment.sensors),
        selectinload(Plant.areas).selectinload(Area.rooms).selectinload(Room.sensors),
    ]


async def plants(session: AsyncSession, plant_id: int | None = None) -> Sequence[Plant]:
    """Whole plants with their rooms, equipment and sensors in a fixed number of queries."""
    stmt = select(Plant).options(*_plant_graph()).order_by(Plant.id)
    if plant_id is not None:
        stmt = stmt.where(Plant.id == plant_id)
    return (await session.execute(stmt)).scalars().all()


async def equipment(session: AsyncSession, code: str) -> Equipment | None:
    stmt = (select(Equipment).where(Equipment.code == code)
            .options(selectinload(Equipment.sensors), selectinload(Equipment.room)))
    return (await session.execute(stmt)).scalar_one_or_none()


async def read_plants(ctx: Context, plant_id: int | None = None) -> Sequence[Plant]:
    """`plants` in a session of its own, for the plant fields: every relation they show is loaded."""
    async with ctx.db.read() as s:
        return await plants(s, plant_id)


async def read_equipment(ctx: Context, code: str) -> Equipment | None:
    async with ctx.db.read() as s:
        return await equipment(s, code)
