"""What production runs where: the running phases of the plant with their batch, equipment and room,
for the control room's map and room panel (one query, in scope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from records.execution import PhaseRun, PhaseStatus
from records.plant import Equipment, Room
from records.plasma import Batch
from resolvers.context import Context
from resolvers.plasma import in_scope


@dataclass(frozen=True)
class Running:
    batch_number: str
    product: str
    phase_code: str
    phase_name: str
    equipment_code: str
    room_code: str
    started_at: datetime
    started_by: str


async def running(ctx: Context, room_code: str | None = None) -> list[Running]:
    stmt = (select(PhaseRun, Batch, Equipment.code, Room.code).join(Batch, Batch.id == PhaseRun.batch_id)
            .join(Equipment, Equipment.id == PhaseRun.equipment_id).join(Room, Room.id == Equipment.room_id)
            .where(PhaseRun.status == PhaseStatus.RUNNING.value, in_scope(ctx.scope()))
            .options(selectinload(Batch.recipe))
            .order_by(Room.code, PhaseRun.started_at))
    if room_code is not None:
        stmt = stmt.where(Room.code == room_code)
    async with ctx.db.read() as s:
        rows = (await s.execute(stmt)).all()
    out = []
    for run, batch, equipment, room in rows:
        names = {p["code"]: p["name"] for p in (batch.recipe.procedure if batch.recipe else [])}
        out.append(Running(batch.batch_number, batch.product, run.phase_code, names.get(run.phase_code, run.phase_code),
                           equipment, room, run.started_at, run.started_by))
    return out
