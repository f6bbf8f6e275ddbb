"""What a new test result starts, in the transaction that stores it: an OOS record when it is judged FAIL
(QC-25) and an out-of-trend alert, with an alarm, when its item's control chart breaks a trend rule (OOT,
records/trend.py). Called by resolvers/qc_records.py for a recorded and for a corrected result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from records import trend
from records.alarms import Alarm, AlarmSource, AlarmState
from records.judgement import SpecItem, Verdict
from records.oos import OotAlert, limits_text, open_oos
from records.plant import Equipment
from records.plasma import Batch
from records.qc_record import TestRecord, TestResult


@dataclass(frozen=True)
class SeriesPoint:
    result_id: int
    batch_number: str
    value: float
    reported: str
    at: datetime


def number(reported: str) -> float | None:
    try:
        d = Decimal(reported.strip())
    except (InvalidOperation, ValueError):
        return None
    return float(d) if d.is_finite() else None


async def series(s: AsyncSession, specification_code: str, item: str, last: int) -> list[SeriesPoint]:
    """The last `last` current numeric results of an item over every version of its specification, oldest
    first (one statement)."""
    rows = (await s.execute(
        select(TestResult.id, Batch.batch_number, TestResult.reported, TestResult.entered_at)
        .join(TestRecord, TestRecord.id == TestResult.record_id).join(Batch, Batch.id == TestRecord.batch_id)
        .where(TestRecord.specification_code == specification_code, TestResult.item == item,
               TestResult.current_key.is_not(None))
        .order_by(TestResult.id.desc()).limit(last))).all()
    points = [SeriesPoint(i, b, v, r, at) for i, b, r, at in rows if (v := number(r)) is not None]
    return points[::-1]


async def after_result(s: AsyncSession, record: TestRecord, row: TestResult, item: SpecItem) -> list[Alarm]:
    """Open the OOS of a failing result and judge the item's trend; the alarms raised, to publish after
    commit."""
    batch = await s.get_one(Batch, record.batch_id)
    if row.verdict == Verdict.FAIL:
        await open_oos(s, subject_kind=record.subject_kind, subject_code=record.subject_code, batch_id=batch.id,
                       item=row.item, value=row.reported, limits=limits_text(item), analyst=row.analyst,
                       instrument=row.instrument_id, method=row.method, source=f"test_result:{row.id}",
                       reason=row.reason, specification_code=record.specification_code,
                       specification_version=record.specification_version, stage=record.stage,
                       tested_at=row.entered_at, test_result_id=row.id)
    if item.textual or number(row.reported) is None:
        return []
    points = await series(s, record.specification_code, row.item, trend.WINDOW)
    chart = trend.evaluate([p.value for p in points])
    if not points or points[-1].result_id != row.id or not chart.violations[-1]:
        return []
    rules = chart.violations[-1]
    equipment = (await s.execute(select(Equipment.id, Equipment.room_id).where(
        Equipment.code == row.instrument_id))).first() if row.instrument_id else None
    alarm = Alarm(source=AlarmSource.PROCESS.value, condition="OUT_OF_TREND", priority="MEDIUM",
                  state=AlarmState.CLEARED.value, room_id=equipment.room_id if equipment else None,
                  equipment_id=equipment.id if equipment else None,
                  message=f"{batch.batch_number} {row.item} {row.reported} out of trend "
                          f"({record.specification_code}): " + "; ".join(r.text for r in rules),
                  value=points[-1].value, began_at=row.entered_at, raised_at=row.entered_at,
                  cleared_at=row.entered_at, batch_number=batch.batch_number)
    s.add(alarm)
    await s.flush()
    s.add(OotAlert(specification_code=record.specification_code, item=row.item, test_result_id=row.id,
                   batch_id=batch.id, value=row.reported, rules=[r.value for r in rules],
                   rules_version=trend.RULES_VERSION, mean=chart.mean, sigma=chart.sigma, points=len(points),
                   raised_at=row.entered_at, alarm_id=alarm.id))
    await s.flush()
    return [alarm]
