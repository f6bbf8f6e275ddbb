"""Retained samples (PR-33): a sample of every unit charged into production is kept until one year
after the latest expiry of every product made from that plasma. The date is computed from the
batches and lots that used the unit's pool whenever it is asked, so a later batch using the same
pool extends it; while an expiry is unknown the sample cannot be destroyed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.base import utcnow
from records.genealogy import FinalLot, Intermediate
from records.plasma import Batch, PlasmaUnit, Sample, SampleStatus, batch_pool
from records.sample_life import SampleEvent, SampleEventKind
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
    return (await retention_many(s, [sample]))[sample.id]


async def retention_many(s: AsyncSession, rows: Sequence[Sample]) -> dict[int, Retention]:
    """Each sample's retention by id, in a few statements however many there are. A retained sample of
    plasma follows every batch and lot made from the unit's pool (PR-33); one of a batch, that batch's
    expiry plus one year."""
    kept = [r for r in rows if r.kind == "RETAINED"]
    out = {r.id: Retention(None, "not a retained sample: kept by its own procedure") for r in rows}
    unit_ids = {r.plasma_unit_id for r in kept if r.plasma_unit_id}
    pool_of = dict((await s.execute(select(PlasmaUnit.id, PlasmaUnit.pool_id).where(PlasmaUnit.id.in_(unit_ids)))
                    ).all()) if unit_ids else {}
    pools = {p for p in pool_of.values() if p is not None}
    by_pool: dict[int, tuple[int, int, date | None]] = {}
    lot_max: dict[int, date | None] = {}
    if pools:
        by_pool = {p: (n, missing, latest) for p, n, missing, latest in (await s.execute(
            select(batch_pool.c.pool_id, func.count(), func.count() - func.count(Batch.expiry_date),
                   func.max(Batch.expiry_date)).join(Batch, Batch.id == batch_pool.c.batch_id)
            .where(batch_pool.c.pool_id.in_(pools)).group_by(batch_pool.c.pool_id))).all()}
        lot_max = dict((await s.execute(
            select(batch_pool.c.pool_id, func.max(FinalLot.expiry_date))
            .join(Intermediate, Intermediate.batch_id == batch_pool.c.batch_id)
            .join(FinalLot, FinalLot.intermediate_id == Intermediate.id)
            .where(batch_pool.c.pool_id.in_(pools)).group_by(batch_pool.c.pool_id))).all())
    batch_ids = {r.batch_id for r in kept if r.batch_id and not r.plasma_unit_id}
    batches = {b.id: b for b in (await s.execute(select(Batch).where(Batch.id.in_(batch_ids)))).scalars()
               } if batch_ids else {}
    for r in kept:
        if r.plasma_unit_id:
            out[r.id] = _of_pool(pool_of.get(r.plasma_unit_id), by_pool, lot_max)
        elif r.batch_id in batches:
            b = batches[r.batch_id]
            out[r.id] = (Retention(b.expiry_date + AFTER_EXPIRY, f"batch {b.batch_number} expires "
                                   f"{b.expiry_date.isoformat()}, plus one year") if b.expiry_date
                         else Retention(None, f"batch {b.batch_number} has no expiry date yet"))
        else:
            out[r.id] = Retention(None, "the unit is in no pool yet")
    return out


def _of_pool(pool_id: int | None, by_pool: dict[int, tuple[int, int, date | None]],
             lot_max: dict[int, date | None]) -> Retention:
    if pool_id is None:
        return Retention(None, "the unit is in no pool yet")
    n, missing, batch_max = by_pool.get(pool_id, (0, 0, None))
    if n == 0:
        return Retention(None, "no batch made from this pool yet")
    if missing:
        return Retention(None, f"{missing} of {n} batches from this pool have no expiry date yet")
    latest = max(d for d in (batch_max, lot_max.get(pool_id)) if d is not None)
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
        if sample.status in (SampleStatus.DESTROYED, SampleStatus.DISPOSED):
            raise AppError(ErrorCode.CONFLICT, f"sample {code} was {sample.status.lower()} already")
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
        if row.status in (SampleStatus.DESTROYED, SampleStatus.DISPOSED):
            raise AppError(ErrorCode.CONFLICT, f"sample {code} was {row.status.lower()} meanwhile")
        row.status = SampleStatus.DESTROYED
        s.add(SampleEvent(sample_id=row.id, kind=SampleEventKind.DESTROYED, at=utcnow(), by=signatures.signer,
                          reason=reason.strip()))
        await s.flush()
        await signatures.bind(s, "sample", str(row.id), {"code": code, "status": "DESTROYED"})
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("PERFORMED",))
