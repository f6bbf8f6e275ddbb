"""Work done on tablets in clean areas: sampling with a printable label, cold-room checks, the
task list (cold rooms due for a check, alarms waiting for acknowledgement), and a sample's retention."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.alarms import UNCLEARED, Alarm
from records.base import utcnow
from records.plant import Room, Sensor
from records.plasma import Batch, PlasmaUnit, Pool, Sample
from records.plasma import SampleKind as SampleKind  # the value lists, for the schema
from records.plasma import SampleStatus as SampleStatus
from records.quality import ColdRoomCheck
from records.sample_life import SampleEvent, SampleEventKind
from resolvers import sample_life, samples
from resolvers.codes import next_serial
from resolvers.context import Context
from resolvers.labels import Label
from resolvers.signed import Signatures, SignedRequest, perform

SAMPLE_KINDS = tuple(SampleKind)
CHECK_EVERY = timedelta(hours=4)
# A room is a cold room when its own air-temperature limit is at or below this (°C).
COLD_LIMIT = 8.0


@dataclass(frozen=True)
class SampleRecord:
    sample: Sample
    source_code: str
    label: Label


async def _sample_code(s: AsyncSession, on: datetime) -> str:
    pre = f"SP{on:%y%m%d}"
    return f"{pre}{await next_serial(s, pre, limit=9_999, what='sample codes'):04d}"


async def record_sample(ctx: Context, req: SignedRequest, source_code: str, kind: str,
                        storage_location: str | None, note: str | None,
                        more: sample_life.Sampling = sample_life.Sampling()) -> SampleRecord:
    """B.10. A plasma sample needs its tube scanned against the bag and the bag found intact (QC-16), and
    a complete label (QC-15); a lot-release sample names its step or location (PR-27)."""
    p = ctx.signed_in()
    code = source_code.strip()

    async def clean() -> None:
        if kind not in SAMPLE_KINDS:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"kind must be one of {', '.join(SAMPLE_KINDS)}")
        if not code or len(code) > 64:
            raise AppError(ErrorCode.VALIDATION_FAILED, "scan or type the code of the unit or batch sampled")
        sample_life.check_sampling(kind, more)
        async with ctx.db.read() as s:
            unit_id = await _unit_id(s, code)
            origin = await sample_life.plasma_origin(s, unit_id) if unit_id is not None else None
        if origin is not None:
            await sample_life.check_plasma(ctx, origin, more)
            name = (more.name or "").strip() or sample_life.default_name(kind, None)
            sample_life.label_of("-", kind, code, name, utcnow(), p.username, origin, None, None)

    async def save(s: AsyncSession, _: None, signatures: Signatures[None]) -> SampleRecord:
        unit_id = await _unit_id(s, code)
        pool_id = None if unit_id else (await s.execute(select(Pool.id).where(Pool.code == code))).scalar_one_or_none()
        batch = None if unit_id or pool_id else (await s.execute(select(Batch).where(Batch.batch_number == code))
                                                 ).scalar_one_or_none()
        if unit_id is None and pool_id is None and batch is None:
            raise AppError(ErrorCode.NOT_FOUND, f"no plasma unit, pool or batch {code}")
        origin = await sample_life.plasma_origin(s, unit_id) if unit_id is not None else None
        now = utcnow()
        name = (more.name or "").strip() or sample_life.default_name(kind, batch.product if batch else None)
        row = Sample(code=await _sample_code(s, now), kind=kind, plasma_unit_id=unit_id, pool_id=pool_id,
                     batch_id=batch.id if batch else None, taken_at=now, taken_by=p.username,
                     storage_location=(storage_location or "").strip() or None, status=SampleStatus.TAKEN,
                     name=name, quantity=more.quantity, unit=(more.unit or "").strip() or None, pieces=more.pieces,
                     sampled_from=(more.sampled_from or "").strip() or None,
                     conditions=(more.conditions or "").strip() or None,
                     tube_code=(more.tube_code or "").strip() or None if origin else None,
                     bag_intact=more.bag_intact if origin else None)
        s.add(row)
        await s.flush()
        s.add(SampleEvent(sample_id=row.id, kind=SampleEventKind.TAKEN, at=now, by=p.username,
                          quantity=row.quantity, unit=row.unit, location=row.sampled_from,
                          conditions=row.conditions, reason=(note or "").strip() or None))
        await signatures.bind(s, "sample", str(row.id), {
            "code": row.code, "kind": kind, "source": code, "name": name, "quantity": row.quantity,
            "unit": row.unit, "sampledFrom": row.sampled_from, "tube": row.tube_code, "bagIntact": row.bag_intact})
        label = sample_life.label_of(row.code, kind, code, name, row.taken_at, p.username, origin,
                                     batch.batch_number if batch else None, row.sampled_from)
        return SampleRecord(row, code, label)

    reason = f"{kind.lower()} sample of {code}" + (f": {note.strip()}" if note and note.strip() else "")
    return await perform(ctx, req, reason=reason, clean=clean, save=save, meanings=("PERFORMED",))


async def _unit_id(s: AsyncSession, code: str) -> int | None:
    return (await s.execute(select(PlasmaUnit.id).where(or_(
        PlasmaUnit.donation_number == code, PlasmaUnit.material_code == code)))).scalar_one_or_none()


async def _room_sensor(s: AsyncSession, room_code: str) -> tuple[Room, Sensor | None]:
    room = (await s.execute(select(Room).where(Room.code == room_code))).scalar_one_or_none()
    if room is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no room {room_code}")
    sensor = (await s.execute(select(Sensor).where(
        Sensor.room_id == room.id, Sensor.kind == "temperature", Sensor.equipment_id.is_(None))
        .order_by(Sensor.tag).limit(1))).scalar_one_or_none()
    return room, sensor


async def record_cold_room_check(ctx: Context, req: SignedRequest, room_code: str, temperature: float,
                                 door_closed: bool, note: str | None) -> ColdRoomCheck:
    p = ctx.signed_in()

    async def clean() -> tuple[Room, Sensor, bool]:
        if not math.isfinite(temperature) or not -90 <= temperature <= 60:
            raise AppError(ErrorCode.VALIDATION_FAILED, "the temperature must be between -90 and 60 °C")
        async with ctx.db.read() as s:
            room, sensor = await _room_sensor(s, room_code)
        if sensor is None or sensor.high_limit is None or sensor.high_limit > COLD_LIMIT:
            raise AppError(ErrorCode.VALIDATION_FAILED, f"{room_code} is not a monitored cold room")
        in_range = temperature <= sensor.high_limit and (sensor.low_limit is None or temperature >= sensor.low_limit)
        return room, sensor, in_range

    async def save(s: AsyncSession, monitored: tuple[Room, Sensor, bool],
                   signatures: Signatures[tuple[Room, Sensor, bool]]) -> ColdRoomCheck:
        room, sensor, in_range = monitored
        last = ctx.services.twin.last(sensor.tag)
        active = (await s.execute(select(func.count()).select_from(Alarm).where(
            Alarm.room_id == room.id, Alarm.state.in_(UNCLEARED)))).scalar_one()
        row = ColdRoomCheck(room_code=room_code, checked_at=utcnow(), checked_by=p.username, temperature=temperature,
                            sensor_tag=sensor.tag, sensor_value=last.value if last else None, door_closed=door_closed,
                            active_alarms=active, conforming=in_range and door_closed and active == 0,
                            note=(note or "").strip() or None)
        s.add(row)
        await s.flush()
        await signatures.bind(s, "cold_room_check", str(row.id), {
            "room": room_code, "temperature": temperature, "doorClosed": door_closed})
        return row

    return await perform(ctx, req, reason=f"cold-room check of {room_code}", clean=clean, save=save,
                         meanings=("PERFORMED",))


async def check_page(ctx: Context, room_code: str | None, limit: int,
                     before_id: int | None) -> tuple[list[ColdRoomCheck], bool]:
    q = select(ColdRoomCheck)
    if room_code:
        q = q.where(ColdRoomCheck.room_code == room_code)
    if before_id is not None:
        q = q.where(ColdRoomCheck.id < before_id)
    async with ctx.db.read() as s:
        rows = list((await s.execute(q.order_by(ColdRoomCheck.id.desc()).limit(limit + 1))).scalars())
    return rows[:limit], len(rows) > limit


class TaskKind(StrEnum):
    COLD_ROOM_CHECK = "COLD_ROOM_CHECK"
    ALARM_ACK = "ALARM_ACK"


@dataclass(frozen=True)
class Task:
    kind: TaskKind
    title: str
    room_code: str | None
    due_at: datetime
    alarm_id: int | None = None


# How soon an alarm is to be acknowledged, by priority (ISA-18.2: the allowed response time).
ACK_WITHIN = {"HIGH": timedelta(minutes=10), "MEDIUM": timedelta(minutes=30), "LOW": timedelta(hours=1)}


def slot_end(at: datetime) -> datetime:
    """The end of the check slot `at` falls in: slots of CHECK_EVERY from midnight UTC, so a due time stays put."""
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + CHECK_EVERY * ((at - midnight) // CHECK_EVERY + 1)


async def tasks(ctx: Context) -> list[Task]:
    """The tasks the caller can sign: cold-room checks and alarm acknowledgements, each by the roles that sign
    it (policies/signing.csv)."""
    roles = set(ctx.signed_in().roles)
    signs = ctx.services.meanings
    kinds = {kind for kind, operation in ((TaskKind.COLD_ROOM_CHECK, "recordColdRoomCheck"),
                                          (TaskKind.ALARM_ACK, "acknowledgeAlarm"))
             if roles & set().union(*signs.get(operation, {}).values())}
    async with ctx.db.read() as s:
        return [t for t in await _tasks(s) if t.kind in kinds]


async def _tasks(s: AsyncSession) -> list[Task]:
    """A cold room is due once per slot: by the end of the slot after the one of its last check, and by the end
    of the current slot when never checked (so the due time does not move as time passes). An alarm is due
    within its priority's response time from when it was raised."""
    now = utcnow()
    cold = (await s.execute(select(Room.code).join(Sensor, Sensor.room_id == Room.id).where(
        Sensor.kind == "temperature", Sensor.equipment_id.is_(None), Sensor.high_limit <= COLD_LIMIT)
        .distinct())).scalars().all()
    last = dict((await s.execute(select(ColdRoomCheck.room_code, func.max(ColdRoomCheck.checked_at))
                                 .group_by(ColdRoomCheck.room_code))).all())
    out = []
    for code in sorted(cold):
        due = slot_end(last[code]) + CHECK_EVERY if code in last else slot_end(now)
        if due <= now + timedelta(hours=1) or code not in last:
            out.append(Task(TaskKind.COLD_ROOM_CHECK, f"Check cold room {code}", code, due))
    rooms = dict((await s.execute(select(Room.id, Room.code))).all())
    for a in (await s.execute(select(Alarm).where(Alarm.state.in_(("ACTIVE", "CLEARED"))).order_by(Alarm.id))
              ).scalars():
        due = a.raised_at + ACK_WITHIN.get(a.priority, ACK_WITHIN["LOW"])
        out.append(Task(TaskKind.ALARM_ACK, f"Acknowledge: {a.message}", rooms.get(a.room_id or -1), due, a.id))
    return sorted(out, key=lambda t: t.due_at)


@dataclass(frozen=True)
class KeptSample:
    """A sample with how long it must be kept (PR-33)."""

    sample: Sample
    retention: samples.Retention


async def sample(ctx: Context, code: str) -> KeptSample | None:
    async with ctx.db.read() as s:
        row = (await s.execute(select(Sample).where(Sample.code == code))).scalar_one_or_none()
        if row is None:
            return None
        return KeptSample(row, await samples.retention(s, row))


async def destroy_sample(ctx: Context, req: SignedRequest, code: str, reason: str) -> KeptSample:
    """Record a sample's destruction (refused while it is under retention); the sample as it is left."""
    row = await samples.destroy(ctx, req, code, reason)
    async with ctx.db.read() as s:
        return KeptSample(row, await samples.retention(s, row))
