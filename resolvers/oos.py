"""OOS investigations (QC-25, QC-26, QC-27) and the control chart of an item (OOT, QC-01).

Each step of an OOS is signed: a QC person starts the laboratory investigation (PHASE_1, PERFORMED); QC's
reviewer or QA escalates it to a full investigation with the phase-1 findings (PHASE_2, PERFORMED); QA closes
it with a conclusion (APPROVED): INVALIDATED names the assignable cause, and from PHASE_1 only an invalidation
closes it (no cause found in the laboratory means a full investigation). Whoever produced the result does
not close its OOS (policies/duties.csv close_oos). A step out of order is refused (CONFLICT).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records import trend
from records.base import utcnow
from records.document import ControlledDocument
from records.judgement import SpecItem
from records.oos import OosConclusion as OosConclusion
from records.oos import OosRecord, content
from records.oos import OosStatus as OosStatus
from records.oos import OotAlert as OotAlert  # the row the schema shows
from records.plant import Equipment, Room, Sensor
from records.plasma import Batch, Sample
from records.qc_record import TestRecord, TestResult
from records.qc_watch import series
from records.reagent import ReagentLot, ReagentMovement, ReagentMovementKind
from records.sample_life import SampleEvent, SampleEventKind
from records.specification import Specification
from records.trend import Rule as OotRule
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.history import Point, Window, histories
from resolvers.signed import SignedRequest, transition
from resolvers.specifications import stored_items

__all__ = ["OosConclusion", "OosStatus", "OotRule"]

ENVIRONMENT_SPAN = timedelta(hours=1)  # room readings this long before and after the test
ENVIRONMENT_POINTS = 12
MOST_CHART = 100


async def _get(s: AsyncSession, oos_id: int) -> OosRecord:
    o = await s.get(OosRecord, oos_id)
    if o is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no OOS record {oos_id}")
    return o


async def _step(ctx: Context, req: SignedRequest, oos_id: int, why: str,
                check: Callable[[OosRecord], Awaitable[None]], change: Callable[[OosRecord, str], None],
                meaning: str = "PERFORMED") -> OosRecord:
    """One signed step: `check(o)` refuses before signing, `change(o, signer)` writes."""
    async def write(_: AsyncSession, o: OosRecord, signer: str) -> None:
        change(o, signer)

    return await transition(ctx, req, entity="oos_record", load=lambda s: _get(s, oos_id), check=check, change=write,
                            content=content, reason=why, meaning=meaning,
                            concurrent="the OOS record was changed concurrently; look again",
                            unchanged=lambda before, now: before.status == now.status)


def _expect(o: OosRecord, *states: OosStatus) -> None:
    if o.status not in states:
        raise conflict(f"{o.number} is {o.status}; this step needs {' or '.join(states)}")


async def start(ctx: Context, req: SignedRequest, oos_id: int) -> OosRecord:
    """OPEN -> PHASE_1: the laboratory investigation starts (QC), signed PERFORMED."""
    async def check(o: OosRecord) -> None:
        _expect(o, OosStatus.OPEN)

    def change(o: OosRecord, who: str) -> None:
        o.status, o.phase1_by, o.phase1_at = OosStatus.PHASE_1.value, who, utcnow()

    return await _step(ctx, req, oos_id, "OOS laboratory investigation started", check, change)


async def escalate(ctx: Context, req: SignedRequest, oos_id: int, findings: str) -> OosRecord:
    """PHASE_1 -> PHASE_2 with the laboratory findings (no assignable laboratory cause), signed PERFORMED."""
    async def check(o: OosRecord) -> None:
        text("findings (of the laboratory investigation)", findings, 4000)
        _expect(o, OosStatus.PHASE_1)

    def change(o: OosRecord, who: str) -> None:
        o.status, o.phase1_findings = OosStatus.PHASE_2.value, findings.strip()
        o.phase2_by, o.phase2_at = who, utcnow()

    return await _step(ctx, req, oos_id, "OOS escalated to a full investigation", check, change)


async def close(ctx: Context, req: SignedRequest, oos_id: int, conclusion: str, findings: str,
                assignable_cause: str | None) -> OosRecord:
    """PHASE_1 or PHASE_2 -> CLOSED by QA with its conclusion, signed APPROVED; not by the result's analyst."""
    async def check(o: OosRecord) -> None:
        text("findings", findings, 4000)
        if conclusion not in OosConclusion.__members__:
            raise invalid(f"conclusion: one of {', '.join(OosConclusion)}")
        cause = (assignable_cause or "").strip()
        if conclusion == OosConclusion.INVALIDATED and not cause:
            raise invalid("assignableCause: an invalidated result names its assignable cause")
        if len(cause) > 2000:
            raise invalid("assignableCause: at most 2000 characters")
        _expect(o, OosStatus.PHASE_1, OosStatus.PHASE_2)
        if o.status == OosStatus.PHASE_1 and conclusion != OosConclusion.INVALIDATED:
            raise conflict(f"{o.number}: without an assignable laboratory cause it needs a full investigation "
                           "(escalate it) before it is closed as CONFIRMED")
        await ctx.require_duty("close_oos", "oos_record", str(o.id),
                               "whoever produced the result cannot close its OOS", analyst=o.analyst)

    def change(o: OosRecord, who: str) -> None:
        if o.status == OosStatus.PHASE_1:
            o.phase1_findings = findings.strip()
        else:
            o.phase2_findings = findings.strip()
        o.status, o.conclusion = OosStatus.CLOSED.value, conclusion
        o.assignable_cause = (assignable_cause or "").strip() or None
        o.closed_by, o.closed_at = who, utcnow()

    return await _step(ctx, req, oos_id, f"OOS closed: {conclusion}", check, change, meaning="APPROVED")


# --- reads ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OosView:
    oos: OosRecord
    batch_number: str | None


@dataclass(frozen=True)
class ReagentUse:
    code: str
    name: str
    kind: str
    lot_number: str
    expires_on: Any
    used_at: datetime


@dataclass(frozen=True)
class EnvironmentSeries:
    tag: str
    name: str
    kind: str
    unit: str
    low_limit: float | None
    high_limit: float | None
    points: list[Point]


@dataclass(frozen=True)
class Investigation:
    """Everything linked to an OOS (QC-27), read in one go."""

    batch: Batch | None
    samples: list[Sample]
    test_record: TestRecord | None
    result: TestResult | None
    reagents: list[ReagentUse]
    room_code: str | None
    environment: list[EnvironmentSeries]
    method_document: str | None  # "SOP-QC-101 v3" when controlled documents know the method's code
    alerts: list[OotAlert] = field(default_factory=list)
    tested_samples: list[str] = field(default_factory=list)  # the samples the result was measured on


async def get(ctx: Context, oos_id: int) -> OosView | None:
    async with ctx.db.read() as s:
        row = (await s.execute(select(OosRecord, Batch.batch_number).outerjoin(Batch, Batch.id == OosRecord.batch_id)
                               .where(OosRecord.id == oos_id))).first()
    return OosView(row[0], row[1]) if row else None


async def listed(ctx: Context, status: str | None, batch_number: str | None) -> list[OosView]:
    q = select(OosRecord, Batch.batch_number).outerjoin(Batch, Batch.id == OosRecord.batch_id)
    if status is not None:
        q = q.where(OosRecord.status == status)
    if batch_number is not None:
        q = q.where(Batch.batch_number == batch_number.strip())
    async with ctx.db.read() as s:
        rows = (await s.execute(q.order_by(OosRecord.id.desc()).limit(500))).all()
    return [OosView(o, n) for o, n in rows]


async def _reagents(s: AsyncSession, result_id: int | None) -> list[ReagentUse]:
    """The reagent and kit lots the result used (their USE lines, written when the result was recorded)."""
    if result_id is None:
        return []
    rows = (await s.execute(select(ReagentLot.code, ReagentLot.name, ReagentLot.kind, ReagentLot.lot_number,
                                   ReagentLot.expires_on, ReagentMovement.at)
                            .join(ReagentMovement, ReagentMovement.lot_id == ReagentLot.id)
                            .where(ReagentMovement.kind == ReagentMovementKind.USE,
                                   ReagentMovement.used_for == "test_result",
                                   ReagentMovement.used_for_id == str(result_id)).order_by(ReagentMovement.id))).all()
    return [ReagentUse(*r) for r in rows]


async def _tested_samples(s: AsyncSession, result_id: int | None) -> list[str]:
    """The codes of the samples the result was measured on (their TESTED events)."""
    if result_id is None:
        return []
    return list((await s.execute(select(Sample.code).join(SampleEvent, SampleEvent.sample_id == Sample.id).where(
        SampleEvent.test_result_id == result_id, SampleEvent.kind == SampleEventKind.TESTED)
        .order_by(SampleEvent.id))).scalars())


async def _method_document(s: AsyncSession, method: str, at: datetime) -> str | None:
    """The controlled document version in force at the test time for a method that names a document's code
    ("SOP-QC-101 ELISA"): made effective, effective by then, not yet superseded or withdrawn."""
    codes = [w for w in method.split()[:6] if len(w) <= 32]
    if not codes:
        return None
    d = ControlledDocument
    row = (await s.execute(select(d.code, d.version).where(
        d.code.in_(codes), d.made_effective_by.is_not(None), d.effective_date <= at.date(),
        (d.superseded_at.is_(None)) | (d.superseded_at > at), (d.withdrawn_at.is_(None)) | (d.withdrawn_at > at))
        .order_by(d.version.desc()).limit(1))).first()
    return f"{row[0]} v{row[1]}" if row else None


async def _environment(s: AsyncSession, instrument: str, at: datetime) -> tuple[str | None, list[EnvironmentSeries]]:
    """The readings of every sensor in the instrument's room around the test time (one statement per kind
    of read, whatever the number of sensors)."""
    if not instrument.strip():
        return None, []
    room = (await s.execute(select(Equipment.room_id).where(Equipment.code == instrument.strip()))).scalar()
    if room is None:
        return None, []
    code = (await s.execute(select(Room.code).where(Room.id == room))).scalar_one()
    sensors = list((await s.execute(select(Sensor).where(Sensor.room_id == room).order_by(Sensor.tag))).scalars())
    found = await histories(s, [Window(x.tag, at - ENVIRONMENT_SPAN, at + ENVIRONMENT_SPAN, ENVIRONMENT_POINTS)
                                for x in sensors]) if sensors else []
    return code, [EnvironmentSeries(x.tag, x.name, x.kind, x.unit, x.low_limit, x.high_limit,
                                    h if isinstance(h, list) else []) for x, h in zip(sensors, found, strict=True)]


async def investigation(ctx: Context, o: OosRecord) -> Investigation:
    async with ctx.db.read() as s:
        batch = await s.get(Batch, o.batch_id) if o.batch_id is not None else None
        samples = list((await s.execute(select(Sample).where(Sample.batch_id == o.batch_id).order_by(Sample.id)))
                       .scalars()) if o.batch_id is not None else []
        result = await s.get(TestResult, o.test_result_id) if o.test_result_id is not None else None
        record = await s.get(TestRecord, result.record_id) if result is not None else None
        reagents = await _reagents(s, o.test_result_id)
        room, environment = await _environment(s, o.instrument, o.tested_at)
        document = await _method_document(s, o.method, o.tested_at)
        alerts = list((await s.execute(select(OotAlert).where(OotAlert.test_result_id == o.test_result_id)))
                      .scalars()) if o.test_result_id is not None else []
        tested = await _tested_samples(s, o.test_result_id)
    return Investigation(batch, samples, record, result, reagents, room, environment, document, alerts, tested)


# --- the control chart ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartPoint:
    result_id: int
    batch_number: str
    value: float
    reported: str
    at: datetime
    rules: list[OotRule]


@dataclass(frozen=True)
class ControlChart:
    specification_code: str
    item: str
    unit: str
    mean: float | None
    sigma: float | None
    spec_low: str | None
    spec_high: str | None
    rules_version: str
    points: list[ChartPoint]


def _spec_item(specs: Sequence[Specification], item: str) -> SpecItem | None:
    for spec in specs:
        found = next((i for i in stored_items(spec) if i.name.casefold() == item.strip().casefold()), None)
        if found is not None:
            return found
    return None


async def chart(ctx: Context, specification_code: str, item: str, last: int) -> ControlChart:
    """The last `last` results of an item over every version of its specification, with the centre line,
    sigma and the trend rules each point breaks (records/trend.py); limits from the newest version."""
    text("specificationCode", specification_code, 32)
    text("item", item, 200)
    if not 2 <= last <= MOST_CHART:
        raise invalid(f"last: 2-{MOST_CHART}")
    async with ctx.db.read() as s:
        specs = list((await s.execute(select(Specification).where(Specification.code == specification_code.strip())
                                      .order_by(Specification.version.desc()))).scalars())
        if not specs:
            raise AppError(ErrorCode.NOT_FOUND, f"no specification {specification_code.strip()[:32]}")
        found = _spec_item(specs, item)
        if found is None:
            raise invalid(f"specification {specification_code.strip()} has no item {item.strip()[:60]!r}")
        points = await series(s, specification_code.strip(), found.name, last)
    c = trend.evaluate([p.value for p in points])
    return ControlChart(specification_code.strip(), found.name, found.unit, c.mean, c.sigma, found.low, found.high,
                        trend.RULES_VERSION, [ChartPoint(p.result_id, p.batch_number, p.value, p.reported, p.at, v)
                                              for p, v in zip(points, c.violations, strict=True)])


async def alerts(ctx: Context, specification_code: str | None, last: int) -> list[tuple[OotAlert, str]]:
    """The latest out-of-trend alerts, newest first, with their batch numbers."""
    q = select(OotAlert, Batch.batch_number).join(Batch, Batch.id == OotAlert.batch_id)
    if specification_code is not None:
        q = q.where(OotAlert.specification_code == specification_code.strip())
    async with ctx.db.read() as s:
        return [(a, n) for a, n in (await s.execute(q.order_by(OotAlert.id.desc()).limit(min(max(last, 1), 500))))
                .all()]
