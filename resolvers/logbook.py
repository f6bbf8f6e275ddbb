"""The equipment logbook (B.2): what happened to each item, in order. The system writes its lines as
the events happen (a phase using it, a status change, a cleaning, sterilisation or calibration, an
alarm on one of its tags); a person adds maintenance and notes by hand, signed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.plant import Equipment, EquipmentLog, log_line
from records.plant import LogKind as LogKind  # the value list, for the schema
from records.plasma import Batch
from resolvers.checks import invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

BY_HAND = (LogKind.MAINTENANCE, LogKind.NOTE, LogKind.USE)  # the others have their own signed records
MAX_LINES = 500


@dataclass(frozen=True)
class Line:
    entry: EquipmentLog
    equipment_code: str
    batch_number: str | None


@dataclass(frozen=True)
class Target:
    equipment_id: int
    batch_id: int | None


async def add(ctx: Context, req: SignedRequest, code: str, kind: LogKind, words: str,
              batch_number: str | None) -> Line:
    """A line written by hand; signed PERFORMED."""
    async def clean() -> Target:
        if kind not in BY_HAND:
            raise invalid(f"by hand the logbook takes {', '.join(BY_HAND)}; {kind} lines come from their own records")
        text("text", words, 2000)
        async with ctx.db.read() as s:
            eq = (await s.execute(select(Equipment.id).where(Equipment.code == code))).scalar_one_or_none()
            batch = (await s.execute(select(Batch.id).where(Batch.batch_number == batch_number))
                     ).scalar_one_or_none() if batch_number else None
        if eq is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
        if batch_number and batch is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
        return Target(eq, batch)

    async def save(s: AsyncSession, t: Target, signatures: Signatures[Target]) -> Line:
        row = log_line(t.equipment_id, kind, words.strip(), signatures.signer, manual=True, batch_id=t.batch_id)
        s.add(row)
        await s.flush()
        sig = await signatures.bind(s, "equipment_log", str(row.id), {
            "equipment": code, "kind": kind.value, "text": row.text, "batch": batch_number, "at": row.at.isoformat()})
        row.reference = f"signature:{sig.id}"
        return Line(row, code, batch_number)

    return await perform(ctx, req, reason=f"{kind.value.lower()} entry in the logbook of {code}", clean=clean,
                         save=save)


async def lines(ctx: Context, code: str, since: datetime | None, until: datetime | None,
                first: int) -> list[Line]:
    """An item's logbook, newest first."""
    if not 1 <= first <= MAX_LINES:
        raise invalid(f"first: 1-{MAX_LINES}")
    async with ctx.db.read() as s:
        eq = (await s.execute(select(Equipment.id).where(Equipment.code == code))).scalar_one_or_none()
        if eq is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no equipment {code}")
        q = (select(EquipmentLog, Batch.batch_number).outerjoin(Batch, Batch.id == EquipmentLog.batch_id)
             .where(EquipmentLog.equipment_id == eq))
        if since is not None:
            q = q.where(EquipmentLog.at >= since)
        if until is not None:
            q = q.where(EquipmentLog.at <= until)
        rows = (await s.execute(q.order_by(EquipmentLog.at.desc(), EquipmentLog.id.desc()).limit(first))).all()
    return [Line(e, code, b) for e, b in rows]
