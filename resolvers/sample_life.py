"""Test samples through their life in the QC laboratory (Appendix B.10-B.15; QC-14..QC-21, PR-27).

Sampling is recordSample (resolvers/tablet.py), which takes the checks here: a plasma sample's tube must
carry the bag's donation number and the bag must be intact (QC-16), and its label must be complete
(QC-15). Then the lab receives it (B.11), stores it (B.12; in a monitored cold room its temperature record
is read as for plasma storage, resolvers/storage.py), tests it (B.13: recordTestResult names the sample),
disposes of the leftover (B.14) or, for a retained sample (B.15), keeps it until its retention ends
(resolvers/samples.py) and destroys it then. Each step is signed PERFORMED, is an event of the sample with
who and when, and is refused (CONFLICT, nothing written) when the sample is not at the step before it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.audit import PendingEvent
from records.base import utcnow
from records.plant import Equipment, Sensor
from records.plasma import (
    Batch,
    Donor,
    PlasmaShipment,
    PlasmaStation,
    PlasmaUnit,
    Pool,
    Sample,
    SampleKind,
    SampleStatus,
    batch_pool,
)
from records.qc_record import TestRecord, TestResult
from records.readings import SensorReading
from records.sample_life import ALLOWED_FROM, SampleEvent
from records.sample_life import SampleEventKind as SampleEventKind  # the value list, for the schema
from resolvers import labels, samples, storage
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform, refused

MOST_LISTED = 500
PLASMA_SAMPLE = "Source plasma sample"


# --- sampling (B.10): the checks recordSample makes ------------------------------------------------------

@dataclass(frozen=True)
class Sampling:
    """What recordSample takes beyond the code and kind (B.10)."""

    name: str | None = None
    quantity: float | None = None
    unit: str | None = None
    pieces: int | None = None
    sampled_from: str | None = None
    conditions: str | None = None
    tube_code: str | None = None
    bag_intact: bool | None = None


@dataclass(frozen=True)
class PlasmaOrigin:
    """The unit a plasma sample comes from, with what its label needs (QC-15)."""

    unit_id: int
    donation_number: str
    batch_number: str | None  # the pool it went into, else the consignment it came in
    donor_name: str
    card_number: str
    blood_type: str
    collected_on: date
    weight_g: float
    station_name: str


def check_sampling(kind: str, x: Sampling) -> None:
    for what, v, most in (("name", x.name, 120), ("unit", x.unit, 16), ("sampledFrom", x.sampled_from, 120),
                          ("conditions", x.conditions, 120), ("tubeCode", x.tube_code, 32)):
        if v is not None and v.strip():
            text(what, v, most)
    if x.quantity is not None and (not math.isfinite(x.quantity) or x.quantity <= 0):
        raise invalid("quantity: a positive amount")
    if x.quantity is not None and not (x.unit or "").strip():
        raise invalid("unit: the quantity's unit (mL, g, vials)")
    if x.pieces is not None and not 1 <= x.pieces <= 1000:
        raise invalid("pieces: 1-1000")
    if kind == SampleKind.RELEASE and not (x.sampled_from or "").strip():
        raise invalid("sampledFrom: a lot-release sample names the process step or storage location it was taken at")


async def plasma_origin(s: AsyncSession, unit_id: int) -> PlasmaOrigin:
    u, donor, station, pool, shipment = (await s.execute(
        select(PlasmaUnit, Donor.name, PlasmaStation.name, Pool.code, PlasmaShipment.code)
        .join(Donor, Donor.id == PlasmaUnit.donor_id).join(PlasmaStation, PlasmaStation.id == PlasmaUnit.station_id)
        .outerjoin(Pool, Pool.id == PlasmaUnit.pool_id)
        .outerjoin(PlasmaShipment, PlasmaShipment.id == PlasmaUnit.shipment_id)
        .where(PlasmaUnit.id == unit_id))).one()
    card = (await s.execute(select(Donor.card_number).where(Donor.id == u.donor_id))).scalar_one()
    return PlasmaOrigin(u.id, u.donation_number, pool or shipment, donor, card, u.blood_type, u.collected_on,
                        u.weight_g, station)


async def check_plasma(ctx: Context, origin: PlasmaOrigin, x: Sampling) -> None:
    """QC-16: the tube scanned carries the bag's donation number, and the bag is intact; either refusal is
    audited with what was scanned and found."""
    tube = (x.tube_code or "").strip()
    if not tube:
        raise invalid("tubeCode: scan the specimen tube of a plasma sample")
    if x.bag_intact is None:
        raise invalid("bagIntact: record whether the bag is intact")
    found = {"donationNumber": origin.donation_number, "tube": tube, "bagIntact": x.bag_intact,
             "by": ctx.signed_in().username}
    if tube != origin.donation_number:
        raise refused(conflict(f"tube {tube} does not match bag {origin.donation_number}: the sample is refused"),
                      PendingEvent("TUBE_MISMATCH", "plasma_unit", str(origin.unit_id), found))
    if not x.bag_intact:
        raise refused(conflict(f"bag {origin.donation_number} is not intact: no sample is taken from it; "
                               "report it as a deviation"),
                      PendingEvent("BAG_NOT_INTACT", "plasma_unit", str(origin.unit_id), found))


def label_of(code: str, kind: str, source: str, name: str, taken_at: datetime, taken_by: str,
             origin: PlasmaOrigin | None, batch_number: str | None, sampled_from: str | None) -> labels.Label:
    """The sample's label. A plasma sample's must carry every field QC-15 lists, else it is not printed."""
    lines = [("Sample name", name), ("Batch number", batch_number or "")]
    if origin is not None:
        lines[1] = ("Batch number", origin.batch_number or "")
        lines += [("Donor", origin.donor_name.strip()), ("Collected", origin.collected_on.isoformat()),
                  ("Plasma station", origin.station_name.strip())]
    elif sampled_from:
        lines.append(("Taken at", sampled_from))
    if origin is not None:
        missing = [k for k, v in lines if not v.strip()]
        if missing:
            raise invalid(f"the label of a plasma sample lacks {', '.join(missing).lower()}: it is not printed")
    stamp = f"{taken_at:%Y-%m-%d %H:%M} UTC"
    return labels.sample_label(code, kind, source, stamp, taken_by, [(k, v) for k, v in lines if v])


def default_name(kind: str, product: str | None) -> str:
    return f"{product} {kind.lower()} sample" if product else f"{PLASMA_SAMPLE} ({kind.lower()})"


# --- the lab's steps (B.11, B.12, B.14) -------------------------------------------------------------------

async def _sample(s: AsyncSession, code: str) -> Sample:
    row = (await s.execute(select(Sample).where(Sample.code == code.strip()))).scalar_one_or_none()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no sample {code.strip()[:32]}")
    return row


def _may(row: Sample, step: SampleEventKind) -> None:
    if row.status not in ALLOWED_FROM[step]:
        raise conflict(f"sample {row.code} is {row.status}: it cannot be {step.lower()} now")


# A step's change of the row: it updates the sample and returns the step's event.
Change = Callable[[Sample, str], SampleEvent]


async def _step(ctx: Context, req: SignedRequest, code: str, step: SampleEventKind, validate: Callable[[], None],
                change: Change, reason: str, equipment: str | None = None) -> Sample:
    """One signed step of a sample: its input checked, refused unless the sample is where the step starts
    (checked again in the transaction), then `change` updates the row and gives the event."""

    async def clean() -> int:
        validate()
        async with ctx.db.read() as s:
            row = await _sample(s, code)
            await _extra_checks(s, row, step, equipment)
        _may(row, step)
        return row.id

    async def save(s: AsyncSession, sample_id: int, signatures: Signatures[int]) -> Sample:
        row = await s.get_one(Sample, sample_id)
        _may(row, step)
        event = change(row, signatures.signer)
        s.add(event)
        await s.flush()
        await signatures.bind(s, "sample", str(row.id), {"code": row.code, "step": step.value, "status": row.status,
                                                         "event": event.id})
        return row

    return await perform(ctx, req, reason=reason, clean=clean, save=save, meanings=("PERFORMED",))


async def _extra_checks(s: AsyncSession, row: Sample, step: SampleEventKind, equipment: str | None) -> None:
    if step == SampleEventKind.DISPOSED and row.kind == SampleKind.RETAINED:
        raise conflict(f"sample {row.code} is a retained sample: it is kept until its retention ends and then "
                       "destroyed (destroySample), not disposed of as a leftover")
    if equipment and (await s.execute(select(Equipment.id).where(Equipment.code == equipment))).first() is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no equipment {equipment[:32]}")


async def receive(ctx: Context, req: SignedRequest, code: str, quantity: float, unit: str,
                  condition: str) -> Sample:
    """B.11: the lab receives a sample (who, when, how much, its condition on arrival)."""

    def validate() -> None:
        if not math.isfinite(quantity) or quantity <= 0:
            raise invalid("quantity: a positive amount")
        text("unit", unit, 16)
        text("condition", condition, 200)

    def change(row: Sample, by: str) -> SampleEvent:
        row.status = SampleStatus.RECEIVED
        return SampleEvent(sample_id=row.id, kind=SampleEventKind.RECEIVED, at=utcnow(), by=by, quantity=quantity,
                           unit=unit.strip(), conditions=condition.strip())

    return await _step(ctx, req, code, SampleEventKind.RECEIVED, validate, change, f"sample {code.strip()} received")


async def store(ctx: Context, req: SignedRequest, code: str, location: str, conditions: str,
                low: float | None, high: float | None, equipment_code: str | None) -> Sample:
    """B.12: where and how the sample is kept; a retained sample is RETAINED from then on."""
    eq = (equipment_code or "").strip() or None

    def validate() -> None:
        text("location", location, 64)
        text("conditions", conditions, 120)
        for v in (low, high):
            if v is not None and (not math.isfinite(v) or not -200 <= v <= 100):
                raise invalid("temperature range: between -200 and 100 °C")
        if low is not None and high is not None and low >= high:
            raise invalid("temperature range: the low end is below the high end")

    def change(row: Sample, by: str) -> SampleEvent:
        now = utcnow()
        row.status = SampleStatus.RETAINED if row.kind == SampleKind.RETAINED else SampleStatus.STORED
        row.storage_location, row.conditions, row.equipment_code = location.strip(), conditions.strip(), eq
        row.temperature_low, row.temperature_high, row.stored_at = low, high, now
        shown = conditions.strip() + (f"; {_range(low, high)}" if low is not None or high is not None else "")
        return SampleEvent(sample_id=row.id, kind=SampleEventKind.STORED, at=now, by=by, location=location.strip(),
                           conditions=shown[:200])

    return await _step(ctx, req, code, SampleEventKind.STORED, validate, change,
                       f"sample {code.strip()} stored at {location.strip()[:64]}", equipment=eq)


async def dispose(ctx: Context, req: SignedRequest, code: str, method: str, site: str, reason: str,
                  quantity: float | None) -> Sample:
    """B.14: the leftover of a sample that is not retained is disposed of: method, site, time, reason."""

    def validate() -> None:
        text("method", method, 120)
        text("site", site, 120)
        text("reason", reason, 500)
        if quantity is not None and (not math.isfinite(quantity) or quantity < 0):
            raise invalid("quantity: the amount disposed of, zero or more")

    def change(row: Sample, by: str) -> SampleEvent:
        row.status = SampleStatus.DISPOSED
        return SampleEvent(sample_id=row.id, kind=SampleEventKind.DISPOSED, at=utcnow(), by=by, quantity=quantity,
                           unit=row.unit, location=site.strip(), method=method.strip(), reason=reason.strip())

    return await _step(ctx, req, code, SampleEventKind.DISPOSED, validate, change,
                       f"leftover of sample {code.strip()} disposed: {reason.strip()}")


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g} °C"
    return f"at most {high:g} °C" if high is not None else f"at least {low:g} °C"


# --- testing (B.13): recordTestResult names the sample it used --------------------------------------------

async def testable(s: AsyncSession, code: str, batch_id: int) -> Sample:
    """The sample a result is recorded on: received, of that batch, not used up."""
    row = await _sample(s, code)
    _may(row, SampleEventKind.TESTED)
    if row.batch_id is not None and row.batch_id != batch_id:
        raise conflict(f"sample {row.code} is not of this batch")
    return row


async def used_in_test(s: AsyncSession, code: str, batch_id: int, result: TestResult,
                       amount: float | None) -> None:
    row = await testable(s, code, batch_id)
    s.add(SampleEvent(sample_id=row.id, kind=SampleEventKind.TESTED, at=result.entered_at, by=result.analyst,
                      quantity=amount, unit=row.unit if amount is not None else None, test_result_id=result.id))


# --- reading a sample and its history (QC-14, QC-17, QC-21, PR-27) ----------------------------------------

@dataclass(frozen=True)
class TestUse:
    record_id: int
    batch_number: str
    item: str
    method: str
    reported: str
    verdict: str
    specification: str
    reviewed_by: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class EventView:
    event: SampleEvent
    test: TestUse | None


@dataclass(frozen=True)
class SampleStorage:
    location: str | None
    room_code: str | None
    sensor_tag: str | None
    since: datetime | None
    low: float | None
    high: float | None
    excursions: int
    conforming: bool
    reasons: list[str]


@dataclass(frozen=True)
class SampleView:
    sample: Sample
    source_code: str
    batch_number: str | None
    donation_number: str | None
    pool_code: str | None
    product_expiry: date | None
    retention: samples.Retention
    events: list[EventView]
    storage: SampleStorage | None
    remaining: float | None


async def views(s: AsyncSession, rows: Sequence[Sample]) -> list[SampleView]:
    """Samples with their history, retention and storage: a fixed number of statements for any number."""
    ids = [r.id for r in rows]
    units = {u: (d, pool) for u, d, pool in (await s.execute(
        select(PlasmaUnit.id, PlasmaUnit.donation_number, Pool.code).outerjoin(Pool, Pool.id == PlasmaUnit.pool_id)
        .where(PlasmaUnit.id.in_({r.plasma_unit_id for r in rows if r.plasma_unit_id})))).all()}
    batches = {b.id: b for b in (await s.execute(select(Batch).where(
        Batch.id.in_({r.batch_id for r in rows if r.batch_id})))).scalars()}
    events: dict[int, list[EventView]] = {i: [] for i in ids}
    for e, res, rec, number in (await s.execute(
            select(SampleEvent, TestResult, TestRecord, Batch.batch_number)
            .outerjoin(TestResult, TestResult.id == SampleEvent.test_result_id)
            .outerjoin(TestRecord, TestRecord.id == TestResult.record_id)
            .outerjoin(Batch, Batch.id == TestRecord.batch_id)
            .where(SampleEvent.sample_id.in_(ids)).order_by(SampleEvent.at, SampleEvent.id))).all():
        use = TestUse(rec.id, number, res.item, res.method, res.reported, res.verdict,
                      f"{rec.specification_code} v{rec.specification_version}", rec.reviewed_by,
                      rec.reviewed_at) if res is not None and rec is not None else None
        events[e.sample_id].append(EventView(e, use))
    kept = await samples.retention_many(s, rows)
    stored = await _storage(s, rows)
    out = []
    for r in rows:
        donation, pool = units.get(r.plasma_unit_id or -1, (None, None))
        b = batches.get(r.batch_id or -1)
        out.append(SampleView(r, donation or (b.batch_number if b else ""), b.batch_number if b else pool, donation,
                              pool, b.expiry_date if b else None, kept[r.id], events[r.id], stored.get(r.id),
                              _remaining(r, events[r.id])))
    return out


def _remaining(r: Sample, events: list[EventView]) -> float | None:
    got = next((e.event.quantity for e in reversed(events) if e.event.kind == SampleEventKind.RECEIVED), None)
    start = got if got is not None else r.quantity
    if start is None:
        return None
    used = sum(e.event.quantity or 0 for e in events if e.event.kind in (SampleEventKind.TESTED,
                                                                        SampleEventKind.DISPOSED))
    return max(start - used, 0.0)


async def _storage(s: AsyncSession, rows: Sequence[Sample]) -> dict[int, SampleStorage]:
    """QC-17: a sample stored in a monitored cold room is read against that room's temperature record, as
    plasma storage is (resolvers/storage.py): readings outside its range since it was stored, and gaps."""
    placed = [r for r in rows if r.stored_at is not None and r.status in (SampleStatus.STORED, SampleStatus.RETAINED)]
    sensors = await storage.sensors(s, {c for r in placed if (c := storage.room_of(r.storage_location))})
    since: dict[int, datetime] = {}
    for r in placed:
        sensor = sensors.get(storage.room_of(r.storage_location) or "")
        if sensor is not None and r.stored_at is not None:
            since[sensor.id] = min(since.get(sensor.id, r.stored_at), r.stored_at)
    outside = await _outside(s, since, placed, sensors)
    holes = await storage.gaps_many(s, since, utcnow())
    out = {}
    for r in placed:
        room = storage.room_of(r.storage_location)
        sensor = sensors.get(room or "")
        low = r.temperature_low if r.temperature_low is not None else (sensor.low_limit if sensor else None)
        high = r.temperature_high if r.temperature_high is not None else (sensor.high_limit if sensor else None)
        reasons: list[str] = []
        n = 0
        if sensor is None:
            reasons.append(f"no temperature sensor is bound to {room}")
        else:
            assert r.stored_at is not None
            n = sum(1 for t, v in outside.get(sensor.id, []) if t >= r.stored_at and (
                (high is not None and v > high) or (low is not None and v < low)))
            if n:
                reasons.append(f"{n} readings outside {_range(low, high)} while stored")
            mine = [h for h in holes.get(sensor.id, []) if h[1] - max(h[0], r.stored_at) >= storage.MAX_GAP]
            if mine:
                reasons.append(f"temperature record incomplete: {len(mine)} gaps")
        out[r.id] = SampleStorage(r.storage_location, room, sensor.tag if sensor else None, r.stored_at, low, high,
                                  n, not reasons, reasons)
    return out


async def _outside(s: AsyncSession, since: dict[int, datetime], placed: Sequence[Sample],
                   sensors: dict[str, Sensor]) -> dict[int, list[tuple[datetime, float]]]:
    """Readings of each sensor that any sample there would find out of its range, in one statement."""
    bounds: dict[int, tuple[float | None, float | None]] = {}
    for r in placed:
        sensor = sensors.get(storage.room_of(r.storage_location) or "")
        if sensor is None:
            continue
        low = r.temperature_low if r.temperature_low is not None else sensor.low_limit
        high = r.temperature_high if r.temperature_high is not None else sensor.high_limit
        lo, hi = bounds.get(sensor.id, (low, high))
        bounds[sensor.id] = (max(x for x in (lo, low) if x is not None) if lo is not None or low is not None else None,
                             min(x for x in (hi, high) if x is not None) if hi is not None or high is not None
                             else None)
    conds = []
    for i, t in since.items():
        lo, hi = bounds.get(i, (None, None))
        edge = [c for c in ((SensorReading.value > hi) if hi is not None else None,
                            (SensorReading.value < lo) if lo is not None else None) if c is not None]
        if edge:
            conds.append(and_(SensorReading.sensor_id == i, SensorReading.source_time >= t, or_(*edge)))
    out: dict[int, list[tuple[datetime, float]]] = {i: [] for i in since}
    if conds:
        for sid, t, v in (await s.execute(select(SensorReading.sensor_id, SensorReading.source_time,
                                                 SensorReading.value).where(or_(*conds))
                                          .order_by(SensorReading.sensor_id, SensorReading.source_time)
                                          .limit(100_000))).all():
            if v is not None:
                out[sid].append((t, v))
    return out


async def find(ctx: Context, code: str) -> SampleView | None:
    async with ctx.db.read() as s:
        row = (await s.execute(select(Sample).where(Sample.code == code.strip()))).scalar_one_or_none()
        return (await views(s, [row]))[0] if row is not None else None


async def search(ctx: Context, donation_number: str | None, pool_code: str | None, batch_number: str | None,
                 kind: str | None) -> list[SampleView]:
    """QC-14: the samples of a donation, of a pool's units, or of a batch (its own samples and those of the
    plasma it was made from); PR-27: with kind RELEASE, a batch's lot-release samples."""
    if not any((donation_number, pool_code, batch_number)):
        raise invalid("name a donation number, a pool code or a batch number")
    q = select(Sample)
    units = select(PlasmaUnit.id)
    if donation_number:
        q = q.where(Sample.plasma_unit_id.in_(units.where(PlasmaUnit.donation_number == donation_number.strip())))
    if pool_code:
        q = q.where(Sample.plasma_unit_id.in_(units.join(Pool, Pool.id == PlasmaUnit.pool_id)
                                              .where(Pool.code == pool_code.strip())))
    if batch_number:
        batch = select(Batch.id).where(Batch.batch_number == batch_number.strip()).scalar_subquery()
        pools = select(batch_pool.c.pool_id).where(batch_pool.c.batch_id == batch)
        q = q.where(or_(Sample.batch_id == batch,
                        Sample.plasma_unit_id.in_(units.where(PlasmaUnit.pool_id.in_(pools)))))
    if kind:
        q = q.where(Sample.kind == kind)
    async with ctx.db.read() as s:
        rows = list((await s.execute(q.order_by(Sample.taken_at, Sample.id).limit(MOST_LISTED + 1))).scalars())
        if len(rows) > MOST_LISTED:
            raise invalid(f"more than {MOST_LISTED} samples: narrow the query (a kind, a donation)")
        return await views(s, rows)


@dataclass(frozen=True)
class RetainedDue:
    view: SampleView
    days_left: int


async def retained_due(ctx: Context, within_days: int) -> list[RetainedDue]:
    """QC-21: retained samples still kept whose retention ends within `within_days` (or has ended), soonest
    first: the reminder to destroy them when their time comes."""
    if not 0 <= within_days <= 3650:
        raise invalid("withinDays: 0-3650")
    today = utcnow().date()
    async with ctx.db.read() as s:
        rows = list((await s.execute(select(Sample).where(
            Sample.kind == SampleKind.RETAINED,
            Sample.status.notin_((SampleStatus.DESTROYED, SampleStatus.DISPOSED))).order_by(Sample.id))).scalars())
        kept = await samples.retention_many(s, rows)
        due = [r for r in rows if (u := kept[r.id].retain_until) is not None and u <= today + timedelta(within_days)]
        found = await views(s, due)
    out = [RetainedDue(v, (v.retention.retain_until - today).days) for v in found if v.retention.retain_until]
    return sorted(out, key=lambda d: (d.days_left, d.view.sample.code))


async def label(ctx: Context, code: str) -> labels.Label:
    """QC-15: the sample's label to (re)print; a plasma sample's with a field missing is refused."""
    async with ctx.db.read() as s:
        row = await _sample(s, code)
        origin = await plasma_origin(s, row.plasma_unit_id) if row.plasma_unit_id else None
        b = await s.get(Batch, row.batch_id) if row.batch_id else None
    source = origin.donation_number if origin else (b.batch_number if b else "")
    return label_of(row.code, row.kind, source, row.name or default_name(row.kind, b.product if b else None),
                    row.taken_at, row.taken_by, origin, b.batch_number if b else None, row.sampled_from)
