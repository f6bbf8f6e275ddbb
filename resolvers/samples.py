"""Retained samples (PR-33): a sample of every unit charged into production is kept until one year
after the latest expiry of every product made from that plasma. The date is computed from the
batches and lots that used the unit's pool whenever it is asked, so a later batch using the same
pool extends it; while an expiry is unknown the sample cannot be destroyed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.base import utcnow
from records.genealogy import FinalLot, Intermediate
from records.plasma import Batch, PlasmaUnit, Sample, SampleStatus, batch_pool
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

AFTER_EXPIRY = timedelta(days=365)


@dataclass(frozen=True)
class Retention:
    retain_until: date | None
    basis: str

    def allows_destruction(self, today: date) -> bool:
        return self.retain_until is not None and today > self.retain_until


async def retention(s: AsyncSession, sample: Sample) -> Retention:
    if sample.kind != "RETAINED":
        return Retention(None, "not a retained sample: kept by its own procedure")
    pool_id = (await s.execute(select(PlasmaUnit.pool_id).where(PlasmaUnit.id == sample.plasma_unit_id))
               ).scalar_one_or_none() if sample.plasma_unit_id else None
    if pool_id is None:
        return Retention(None, "the unit is in no pool yet")
    batches = select(batch_pool.c.batch_id).where(batch_pool.c.pool_id == pool_id).scalar_subquery()
    n, missing, batch_max = (await s.execute(select(
        func.count(), func.count() - func.count(Batch.expiry_date), func.max(Batch.expiry_date))
        .where(Batch.id.in_(batches)))).one()
    lots = select(FinalLot.expiry_date).join(Intermediate, Intermediate.id == FinalLot.intermediate_id).where(
        Intermediate.batch_id.in_(batches))
    lot_max = (await s.execute(select(func.max(lots.subquery().c.expiry_date)))).scalar_one()
    if n == 0:
        return Retention(None, "no batch made from this pool yet")
    if missing:
        return Retention(None, f"{missing} of {n} batches from this pool have no expiry date yet")
    latest = max(d for d in (batch_max, lot_max) if d is not None)
    return Retention(latest + AFTER_EXPIRY, f"latest expiry {latest.isoformat()} of {n} batches, plus one year")


async def destroy(ctx: Context, req: SignedRequest, code: str, reason: str) -> Sample:
    async def clean() -> int:
        if not reason.strip():
            raise AppError(ErrorCode.VALIDATION_FAILED, "a reason is required to destroy a sample")
        async with ctx.db.read() as s:
            sample = (await s.execute(select(Sample).where(Sample.code == code))).scalar_one_or_none()
            if sample is None:
                raise AppError(ErrorCode.NOT_FOUND, f"no sample {code}")
            kept = await retention(s, sample)
        if sample.status == SampleStatus.DESTROYED:
            raise AppError(ErrorCode.CONFLICT, f"sample {code} was destroyed already")
        if sample.kind == "RETAINED" and not kept.allows_destruction(utcnow().date()):
            await ctx.db.record(ctx.audit_context(reason.strip()), PendingEvent(
                "DESTRUCTION_REFUSED", "sample", str(sample.id),
                {"code": code, "retainUntil": kept.retain_until.isoformat() if kept.retain_until else None}))
            until = kept.retain_until.isoformat() if kept.retain_until else "a date not yet known"
            refused = AppError(ErrorCode.CONFLICT, f"retained sample {code} must be kept until {until} ({kept.basis})")
            refused.audited = True  # as DESTRUCTION_REFUSED, just above
            raise refused
        return sample.id

    async def save(s: AsyncSession, sample_id: int, signatures: Signatures[int]) -> Sample:
        row = await s.get_one(Sample, sample_id)
        row.status = SampleStatus.DESTROYED
        await s.flush()
        await signatures.bind(s, "sample", str(row.id), {"code": code, "status": "DESTROYED"})
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("PERFORMED",))
