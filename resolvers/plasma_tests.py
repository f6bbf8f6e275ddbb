"""Plasma testing as work to be done (QC-13): every received single donation needs the retest items, and every
production-pool sample received in the laboratory needs the pool's items, within a due time; a test is done
when its result is kept with the unit (retest results, by hand or imported) or with the pool (pool results
of an instrument run). Open tasks past their due time are OVERDUE.

The tasks are derived from the records each time they are asked for, so nothing can drift out of step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select

from records.base import utcnow
from records.instrument_run import PoolTestResult
from records.plasma import PlasmaUnit, Pool, RetestResult, Sample
from records.sample_life import SampleEvent, SampleEventKind
from resolvers.context import Context
from resolvers.retest import REQUIRED

POOL_ITEMS = ("HBSAG", "ANTI_HCV", "ANTI_HIV", "NAT")  # a production pool's items (ChP, human plasma for fractionation)
DUE = timedelta(hours=72)
OPEN_UNIT_STATUSES = ("RECEIVED", "QUARANTINED", "BLOCKED")
MOST = 2000


@dataclass(frozen=True)
class Task:
    subject_kind: str  # UNIT or POOL
    subject: str  # donation number or pool code
    sample_code: str | None
    test: str
    received_at: datetime
    due_at: datetime
    done_at: datetime | None
    result: str | None

    def status(self, at: datetime) -> str:
        if self.done_at is not None:
            return "DONE"
        return "OVERDUE" if at > self.due_at else "OPEN"


async def tasks(ctx: Context, at: datetime | None = None, open_only: bool = True) -> list[Task]:
    """The plasma test tasks, judged as of `at` (now by default), oldest due first."""
    at = at or utcnow()
    out: list[Task] = []
    async with ctx.db.read() as s:
        units = (await s.execute(select(PlasmaUnit.id, PlasmaUnit.donation_number, PlasmaUnit.received_at).where(
            PlasmaUnit.received_at.is_not(None), PlasmaUnit.status.in_(OPEN_UNIT_STATUSES))
            .order_by(PlasmaUnit.received_at).limit(MOST))).all()
        done: dict[tuple[int, str], tuple[datetime | None, str | None]] = {}
        for unit_id, test, tested_at, result in (await s.execute(
                select(RetestResult.unit_id, RetestResult.test, RetestResult.tested_at, RetestResult.result)
                .where(RetestResult.unit_id.in_([u[0] for u in units])))).all():
            done.setdefault((unit_id, test), (tested_at, result))
        for unit_id, number, received in units:
            assert received is not None  # selected so
            out += [Task("UNIT", number, None, t, received, received + DUE, *done.get((unit_id, t), (None, None)))
                    for t in REQUIRED]
        samples = (await s.execute(
            select(Sample.code, Sample.pool_id, Pool.code, SampleEvent.at)
            .join(Pool, Pool.id == Sample.pool_id)
            .join(SampleEvent, and_(SampleEvent.sample_id == Sample.id,
                                    SampleEvent.kind == SampleEventKind.RECEIVED))
            .order_by(SampleEvent.at).limit(MOST))).all()
        pool_done: dict[tuple[int | None, str], tuple[datetime | None, str | None]] = {}
        for pool_id, test, tested_at, result in (await s.execute(
                select(PoolTestResult.pool_id, PoolTestResult.test, PoolTestResult.tested_at, PoolTestResult.result)
                .where(PoolTestResult.pool_id.in_([x[1] for x in samples])))).all():
            pool_done.setdefault((pool_id, test), (tested_at, result))
        for code, pool_id, pool_code, received in samples:
            out += [Task("POOL", pool_code, code, t, received, received + DUE,
                         *pool_done.get((pool_id, t), (None, None))) for t in POOL_ITEMS]
    picked = [t for t in out if not open_only or t.done_at is None]
    return sorted(picked, key=lambda t: (t.due_at, t.subject, t.test))
