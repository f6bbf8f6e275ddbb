"""Deviations: raised with a signature; closed only with an approval independent of the raiser."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import Alarm
from records.base import utcnow
from records.plasma import Batch
from records.quality import Deviation
from records.quality import DeviationStatus as DeviationStatus  # the value list, for the schema
from records.signature import ESignature
from resolvers import batch_events
from resolvers.codes import highest, next_serial
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform


def content(d: Deviation) -> dict[str, object]:
    return {"number": d.number, "title": d.title, "status": d.status, "raisedBy": d.raised_by}


async def opened(s: AsyncSession, title: str, description: str, batch_id: int | None, raised_by: str) -> Deviation:
    """A new OPEN deviation with the next number of the year, in the caller's transaction."""
    now = utcnow()
    serial = await next_serial(s, f"DEV{now:%Y}", start=highest(s, Deviation.number, f"DEV-{now:%Y}-"),
                               what="deviation numbers")
    d = Deviation(number=f"DEV-{now:%Y}-{serial:05d}", title=title, description=description, batch_id=batch_id,
                  raised_by=raised_by, raised_at=now, status=DeviationStatus.OPEN.value)
    s.add(d)
    await s.flush()
    return d


async def raise_deviation(ctx: Context, req: SignedRequest, title: str, description: str,
                          batch_number: str | None, occurred_at: datetime | None = None,
                          emergency_measures: str | None = None) -> Deviation:
    p = ctx.signed_in()

    async def clean() -> None:
        if not title.strip() or len(title) > 200 or not description.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED,
                           "a deviation needs a title (1-200 characters) and a description")
        if occurred_at is not None and (occurred_at.tzinfo is None or occurred_at > utcnow()):
            raise AppError(ErrorCode.VALIDATION_FAILED, "occurredAt: a past time with its zone")
        if emergency_measures is not None and len(emergency_measures) > 4000:
            raise AppError(ErrorCode.VALIDATION_FAILED, "emergencyMeasures: at most 4000 characters")

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> Deviation:
        batch_id = None
        if batch_number:
            batch_id = (await s.execute(select(Batch.id).where(Batch.batch_number == batch_number))
                        ).scalar_one_or_none()
            if batch_id is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no batch {batch_number}")
        d = await opened(s, title.strip(), description.strip(), batch_id, p.username)
        d.occurred_at = occurred_at
        d.emergency_measures = (emergency_measures or "").strip() or None
        await s.flush()
        await signatures.bind(s, "deviation", str(d.id), content(d))
        return d

    def publish(d: Deviation) -> None:
        if batch_number:
            batch_events.publish(ctx, batch_number, batch_events.BatchEventKind.DEVIATION_RAISED,
                                 f"{d.number}: {d.title}")

    return await perform(ctx, req, reason="deviation raised", clean=clean, save=save, publish=publish)


async def approve_closure(ctx: Context, req: SignedRequest, number: str) -> Deviation:
    """QA approves closure; the raiser's approval counts only beside someone else's (duties.csv)."""
    p = ctx.signed_in()

    async def clean() -> Deviation:
        async with ctx.db.read() as s:
            d = (await s.execute(select(Deviation).where(Deviation.number == number))).scalar_one_or_none()
            if d is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no deviation {number}")
            approvers = set((await s.execute(select(ESignature.signer).where(
                ESignature.entity == "deviation", ESignature.entity_id == str(d.id),
                ESignature.meaning == "APPROVED"))).scalars())
        if d.status != "OPEN":
            raise AppError(ErrorCode.CONFLICT, f"deviation {number} is {d.status}")
        if p.username in approvers:
            raise AppError(ErrorCode.CONFLICT, "you already approved this closure")
        others = len(approvers - {d.raised_by})
        await ctx.require_duty("approve_closure", "deviation", str(d.id),
                               "whoever raised a deviation cannot alone approve its closure",
                               raised_by=d.raised_by, other_approvals=others)
        return d

    async def save(s: AsyncSession, d: Deviation, signatures: Signatures[Deviation]) -> Deviation:
        row = await s.get(Deviation, d.id)
        assert row is not None
        if row.status != "OPEN":
            raise AppError(ErrorCode.CONFLICT, f"deviation {number} was closed meanwhile")
        if p.username != row.raised_by:
            row.status, row.closed_at = "CLOSED", utcnow()
        await s.flush()
        await signatures.bind(s, "deviation", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason="deviation closure approved", clean=clean, save=save,
                         meanings=("APPROVED",))


async def from_alarm(ctx: Context, req: SignedRequest, alarm_id: int, emergency_measures: str,
                     title: str | None) -> Deviation:
    """PR-55: an alarm confirmed as a quality deviation, pre-filled from the alarm (its content, when it
    began, its batch) with the emergency measures taken; signed PERFORMED. One deviation per alarm."""
    p = ctx.signed_in()

    async def clean() -> tuple[Alarm, int | None]:
        if not emergency_measures.strip() or len(emergency_measures) > 4000:
            raise AppError(ErrorCode.VALIDATION_FAILED, "emergencyMeasures: what was done at once (1-4000 characters)")
        if title is not None and not 0 < len(title.strip()) <= 200:
            raise AppError(ErrorCode.VALIDATION_FAILED, "title: 1-200 characters")
        async with ctx.db.read() as s:
            alarm = await s.get(Alarm, alarm_id)
            if alarm is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no alarm {alarm_id}")
            taken = (await s.execute(select(Deviation.number).where(Deviation.alarm_id == alarm_id))).scalar()
            batch_id = (await s.execute(select(Batch.id).where(Batch.batch_number == alarm.batch_number))
                        ).scalar_one_or_none() if alarm.batch_number else None
        if taken is not None:
            raise AppError(ErrorCode.CONFLICT, f"alarm {alarm_id} was escalated already: {taken}")
        return alarm, batch_id

    async def save(s: AsyncSession, found: tuple[Alarm, int | None], signatures: Signatures[Any]) -> Deviation:
        alarm, batch_id = found
        where = " ".join(x for x in (alarm.batch_number, alarm.phase_code, alarm.tag) if x)
        detail = (f"{alarm.message} (value {alarm.value:g}, limit {alarm.limit_value:g})"
                  if alarm.value is not None and alarm.limit_value is not None else alarm.message)
        d = await opened(s, (title or f"Alarm {alarm.priority}: {alarm.message}")[:200].strip(),
                         f"Escalated from alarm {alarm.id} ({alarm.source}, {where}): {detail}; began "
                         f"{alarm.began_at.isoformat()}", batch_id, p.username)
        d.occurred_at, d.emergency_measures, d.alarm_id = alarm.began_at, emergency_measures.strip(), alarm.id
        await s.flush()
        await signatures.bind(s, "deviation", str(d.id), {**content(d), "alarm": alarm.id,
                                                          "emergencyMeasures": d.emergency_measures})
        return d

    return await perform(ctx, req, reason=f"alarm {alarm_id} escalated to a deviation", clean=clean, save=save,
                         conflict=f"alarm {alarm_id} was escalated meanwhile")
