"""Out-of-specification results (QC-25, QC-26) and out-of-trend alerts (QC-01).

An OOS record is opened by the system, in the transaction that stored a failing result, never typed: a
test record's result judged FAIL (resolvers/qc_records.py), or a reactive well of an imported plate (the
importer calls `open_oos`). It keeps what the result was measured on and against: the subject (sample
name/code), batch, item, value, limits, specification version, analyst, instrument, method and the source
record. It then moves OPEN -> PHASE_1 (laboratory investigation) -> PHASE_2 (full investigation) -> CLOSED,
or PHASE_1 -> CLOSED when the laboratory investigation finds the assignable cause; each step is signed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from records.base import Base, BigId, utcnow
from records.judgement import SpecItem


class OosStatus(StrEnum):
    OPEN = "OPEN"
    PHASE_1 = "PHASE_1"  # laboratory investigation
    PHASE_2 = "PHASE_2"  # full-scale investigation (production, materials, process)
    CLOSED = "CLOSED"


class OosConclusion(StrEnum):
    CONFIRMED = "CONFIRMED"  # the result stands: the material is out of specification
    INVALIDATED = "INVALIDATED"  # an assignable cause (laboratory error) invalidates the result


class OosRecord(Base):
    __tablename__ = "oos_record"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True, default=OosStatus.OPEN.value)
    opened_at: Mapped[datetime]
    # What was tested: PRODUCT / INTERMEDIATE / PLASMA_UNIT / POOL ... and its code; the stage and the
    # sample's own code where the source knows them.
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_code: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    sample_code: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(200))  # the reported value, as judged
    limits: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)  # the judgement's words
    specification_code: Mapped[str | None] = mapped_column(String(32))
    specification_version: Mapped[int | None]
    analyst: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(200))
    tested_at: Mapped[datetime]
    # The record the result came from, "test_result:12" or "instrument_run:4/B7": one OOS per result.
    source: Mapped[str] = mapped_column(String(80), unique=True)
    test_result_id: Mapped[int | None] = mapped_column(ForeignKey("test_result.id"), index=True)
    phase1_by: Mapped[str | None] = mapped_column(String(64))
    phase1_at: Mapped[datetime | None]
    phase1_findings: Mapped[str | None] = mapped_column(Text)
    phase2_by: Mapped[str | None] = mapped_column(String(64))
    phase2_at: Mapped[datetime | None]
    phase2_findings: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(String(12))
    assignable_cause: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]


class OotAlert(Base):
    """A new result that violates a trend rule of its item's control chart (records/trend.py)."""

    __tablename__ = "oot_alert"
    __audited__ = True

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    specification_code: Mapped[str] = mapped_column(String(32), index=True)
    item: Mapped[str] = mapped_column(String(200))
    test_result_id: Mapped[int] = mapped_column(ForeignKey("test_result.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    value: Mapped[str] = mapped_column(String(200))
    rules: Mapped[list[str]] = mapped_column(JSON)  # Rule names violated at this point
    rules_version: Mapped[str] = mapped_column(String(200))
    mean: Mapped[float | None] = mapped_column(Float)
    sigma: Mapped[float | None] = mapped_column(Float)
    points: Mapped[int]  # how many results the chart held
    raised_at: Mapped[datetime]
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarm.id"))


def limits_text(item: SpecItem) -> str:
    """The item's specification limits in words, as the OOS record keeps them."""
    if item.expected is not None:
        return f"reads {item.expected!r}"
    unit = f" {item.unit}" if item.unit else ""
    parts = []
    if item.low is not None:
        parts.append(f"{'≥' if item.low_inclusive else '>'} {item.low}")
    if item.high is not None:
        parts.append(f"{'≤' if item.high_inclusive else '<'} {item.high}")
    return (" and ".join(parts) + unit) if parts else "none"


async def open_oos(s: AsyncSession, *, subject_kind: str, subject_code: str, batch_id: int | None, item: str,
                   value: str, limits: str, analyst: str, instrument: str, method: str, source: str,
                   reason: str = "", specification_code: str | None = None,
                   specification_version: int | None = None, stage: str | None = None,
                   sample_code: str | None = None, tested_at: datetime | None = None,
                   test_result_id: int | None = None) -> OosRecord:
    """Open an OOS record in the caller's transaction (its audit context: the signed write that found the
    result) and return it, flushed. `source` names the record the result came from ("instrument_run:4/B7")
    and is unique: a second call for the same source returns the OOS already open for it.

    subject_kind/subject_code: what was tested (e.g. "PLASMA_UNIT", the donation number); batch_id: the
    batch, or None (a plasma unit); item, value, limits: the test item, the reported value and the limits
    in words; analyst, instrument, method: who measured, on what, by which SOP or method."""
    found = (await s.execute(select(OosRecord).where(OosRecord.source == source))).scalar_one_or_none()
    if found is not None:
        return found
    now = utcnow()
    count = (await s.execute(select(func.count()).select_from(OosRecord))).scalar_one()
    row = OosRecord(number=f"OOS-{now:%Y}-{count + 1:05d}", status=OosStatus.OPEN.value, opened_at=now,
                    subject_kind=subject_kind[:16], subject_code=subject_code[:64], stage=stage,
                    sample_code=sample_code, batch_id=batch_id, item=item[:200], value=value[:200],
                    limits=limits[:300], reason=reason, specification_code=specification_code,
                    specification_version=specification_version, analyst=analyst, instrument=instrument[:64],
                    method=method[:200], tested_at=tested_at or now, source=source[:80],
                    test_result_id=test_result_id)
    s.add(row)
    await s.flush()
    return row


def content(o: OosRecord) -> dict[str, Any]:
    """What a signature on an OOS step is bound to."""
    return {"number": o.number, "status": o.status, "source": o.source, "item": o.item, "value": o.value,
            "limits": o.limits, "analyst": o.analyst, "phase1Findings": o.phase1_findings,
            "phase2Findings": o.phase2_findings, "conclusion": o.conclusion, "assignableCause": o.assignable_cause}
