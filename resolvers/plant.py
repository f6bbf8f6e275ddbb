"""Reads of the plant graph: plants, rooms, equipment, sensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from records.plant import Area, Equipment, Plant, Room


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
