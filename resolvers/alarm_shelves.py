"""Shelving (ISA-18.2): an operator takes a nuisance tag's limit alarms off the screen for a while, with a reason
and a time limit, signed and audited; an excursion meanwhile is held back (audited ALARM_SUPPRESSED) and raised
when the shelf ends early or expires with the value still out of its limits (twin/alarm_service.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import AlarmShelf
from records.audit import iso
from records.base import utcnow
from records.plant import Sensor
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

MAX_MINUTES = 12 * 60


def content(r: AlarmShelf) -> dict[str, Any]:
    return {"id": r.id, "tag": r.tag, "reason": r.reason, "until": iso(r.until),
            "endedAt": iso(r.ended_at) if r.ended_at else None}


async def _active(s: AsyncSession, tag: str) -> AlarmShelf | None:
    return (await s.execute(select(AlarmShelf).where(AlarmShelf.tag == tag, AlarmShelf.ended_at.is_(None),
                                                     AlarmShelf.until > utcnow()))).scalars().first()


async def shelve(ctx: Context, req: SignedRequest, tag: str, minutes: int, reason: str) -> AlarmShelf:
    p = ctx.signed_in()
    why = (reason or "").strip()

    async def clean() -> None:
        if not why:
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        if not 1 <= minutes <= MAX_MINUTES:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"shelve for 1 to {MAX_MINUTES} minutes")
        async with ctx.db.read() as s:
            if (await s.execute(select(Sensor.id).where(Sensor.tag == tag))).first() is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no tag {tag}")
            if await _active(s, tag) is not None:
                raise AppError(ErrorCode.CONFLICT, f"{tag} is shelved already")

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> AlarmShelf:
        if await _active(s, tag) is not None:
            raise AppError(ErrorCode.CONFLICT, f"{tag} is shelved already")
        now = utcnow()
        row = AlarmShelf(tag=tag, reason=why, shelved_by=p.username, shelved_at=now,
                         until=now + timedelta(minutes=minutes))
        s.add(row)
        await s.flush()
        await signatures.bind(s, "alarm_shelf", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=why, clean=clean, save=save)


async def unshelve(ctx: Context, req: SignedRequest, tag: str, reason: str) -> AlarmShelf:
    """End a shelf early; an excursion held back meanwhile is raised at the next check (within 5 s)."""
    p = ctx.signed_in()
    why = (reason or "").strip()

    async def clean() -> None:
        if not why:
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required")
        async with ctx.db.read() as s:
            if await _active(s, tag) is None:
                raise AppError(ErrorCode.NOT_FOUND, f"{tag} is not shelved")

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> AlarmShelf:
        row = await _active(s, tag)
        if row is None:
            raise AppError(ErrorCode.NOT_FOUND, f"{tag} is not shelved")
        row.ended_at, row.ended_by = utcnow(), p.username
        await s.flush()
        await signatures.bind(s, "alarm_shelf", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=why, clean=clean, save=save)


async def shelves(ctx: Context, active: bool) -> Sequence[AlarmShelf]:
    ctx.signed_in()
    q = select(AlarmShelf).order_by(AlarmShelf.id.desc())
    if active:
        q = q.where(AlarmShelf.ended_at.is_(None), AlarmShelf.until > utcnow())
    async with ctx.db.read() as s:
        return list((await s.execute(q.limit(500))).scalars())
