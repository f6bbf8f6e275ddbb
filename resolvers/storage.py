"""Storage of each unit (PL-10, PL-11): its location, the temperature of that cold store over its
storage period, the storage time limit, and whether both were met."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.plant import Room, Sensor
from records.plasma import PlasmaUnit
from records.readings import SensorReading
from resolvers.history import Window, bucket

STORAGE_LIMIT = timedelta(days=3 * 365)  # frozen source plasma, from collection; the MAH's value
# The temperature record of a cold store is complete when no two readings are further apart than this.
MAX_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Storage:
    location: str | None
    room_code: str | None
    sensor_tag: str | None
    since: datetime | None
    limit: date
    high_limit: float | None
    excursions: int
    conforming: bool
    reasons: list[str]


def room_of(location: str | None) -> str | None:
    """Locations are freezer-rack-position, the freezer being the cold-store room code (CS1-R01-P01)."""
    return location.split("-")[0] if location else None


async def sensors(s: AsyncSession, room_codes: Collection[str]) -> dict[str, Sensor]:
    """The air-temperature sensor of each cold store, by room code (sample storage reads them too, QC-17)."""
    return await _sensors(s, room_codes)


async def _sensor(s: AsyncSession, room_code: str) -> Sensor | None:
    return (await _sensors(s, {room_code})).get(room_code)


async def _sensors(s: AsyncSession, room_codes: Collection[str]) -> dict[str, Sensor]:
    """The air-temperature sensor of each cold store (the first by tag where a room has several)."""
    rows = (await s.execute(select(Room.code, Sensor).join(Room, Room.id == Sensor.room_id).where(
        Room.code.in_(room_codes), Sensor.kind == "temperature", Sensor.equipment_id.is_(None))
        .order_by(Room.code, Sensor.tag))).all() if room_codes else []
    out: dict[str, Sensor] = {}
    for code, sensor in rows:
        out.setdefault(code, sensor)
    return out


async def storage_by_unit_ids(s: AsyncSession, unit_ids: Sequence[int]) -> list[Storage | AppError]:
    """The storage of each unit, in the order of `unit_ids`: four statements however many there are."""
    rows = {u.id: u for u in (await s.execute(select(PlasmaUnit).where(PlasmaUnit.id.in_(set(unit_ids))))).scalars()}
    found = await evaluate_many(s, list(rows.values()))
    return [found[i] if i in found else AppError(ErrorCode.NOT_FOUND, "no such plasma unit") for i in unit_ids]


async def evaluate_many(s: AsyncSession, units: Sequence[PlasmaUnit]) -> dict[int, Storage]:
    """Each unit's storage by id. The record of a cold store is read once for all its units, from the
    first of them to arrive: its readings above the limit and its gaps (on one bucket grid, so a unit
    sees the gaps of that record while it lay there, as pooling_problems does)."""
    now = utcnow()
    sensors = await _sensors(s, {r for u in units if (r := room_of(u.storage_location))})
    since: dict[int, datetime] = {}
    for u in units:
        sensor = sensors.get(room_of(u.storage_location) or "")
        if sensor is not None and u.received_at is not None:
            since[sensor.id] = min(since.get(sensor.id, u.received_at), u.received_at)
    warm = await _warm(s, since)
    holes = await gaps_many(s, since, now)
    return {u.id: _evaluate(u, sensors, warm, holes, now) for u in units}


def _evaluate(u: PlasmaUnit, sensors: dict[str, Sensor], warm: dict[int, list[datetime]],
              holes: dict[int, list[tuple[datetime, datetime]]], now: datetime) -> Storage:
    limit = u.collected_on + STORAGE_LIMIT
    room = room_of(u.storage_location)
    sensor = sensors.get(room) if room else None
    reasons: list[str] = []
    excursions = 0
    if u.received_at is None or room is None:
        reasons.append("not in storage yet")
    elif sensor is None:
        reasons.append(f"no temperature sensor is bound to {room}")
    else:
        times = warm.get(sensor.id, [])
        excursions = len(times) - bisect_left(times, u.received_at)
        if excursions:
            reasons.append(f"{excursions} readings above {sensor.high_limit} {sensor.unit} while stored")
        mine = [(max(a, u.received_at), b) for a, b in holes.get(sensor.id, [])
                if b - max(a, u.received_at) >= MAX_GAP]
        if mine:
            reasons.append(f"temperature record incomplete: {len(mine)} gaps, the first from "
                           f"{mine[0][0]:%Y-%m-%d %H:%M} to {mine[0][1]:%Y-%m-%d %H:%M} UTC")
    if now.date() > limit:
        reasons.append(f"storage time limit {limit.isoformat()} passed")
    return Storage(u.storage_location, room, sensor.tag if sensor else None, u.received_at, limit,
                   sensor.high_limit if sensor else None, excursions, not reasons, reasons)


async def _warm(s: AsyncSession, since: dict[int, datetime]) -> dict[int, list[datetime]]:
    """When each sensor read above its high limit since the given time, in time order."""
    out: dict[int, list[datetime]] = {i: [] for i in since}
    if since:
        for sid, t in (await s.execute(select(SensorReading.sensor_id, SensorReading.source_time)
                                       .join(Sensor, Sensor.id == SensorReading.sensor_id)
                                       .where(or_(*(and_(SensorReading.sensor_id == i, SensorReading.source_time >= t)
                                                    for i, t in since.items())),
                                              SensorReading.value > Sensor.high_limit)
                                       .order_by(SensorReading.sensor_id, SensorReading.source_time))).all():
            out[sid].append(t)
    return out


async def gaps(s: AsyncSession, sensor_id: int, since: datetime, until: datetime,
               max_gap: timedelta = MAX_GAP) -> list[tuple[datetime, datetime]]:
    return (await gaps_many(s, {sensor_id: since}, until, max_gap))[sensor_id]


async def gaps_many(s: AsyncSession, since: dict[int, datetime], until: datetime,
                    max_gap: timedelta = MAX_GAP) -> dict[int, list[tuple[datetime, datetime]]]:
    """Periods longer than `max_gap` without a reading, per sensor from its `since`. Counted in half-gap
    buckets (on a grid starting at each sensor's `since`) by the database, so months of one-second
    readings of any number of sensors cost one grouped scan, not a row per reading here."""
    out: dict[int, list[tuple[datetime, datetime]]] = {i: [] for i in since}
    width = max_gap.total_seconds() / 2
    n = {i: int((until - t).total_seconds() // width) for i, t in since.items() if until - t > max_gap}
    if not n:
        return out
    dialect = (await s.connection()).dialect.name
    b = case(*((SensorReading.sensor_id == i, bucket(dialect, since[i], width)) for i in n)) if len(n) > 1 \
        else bucket(dialect, since[next(iter(n))], width)
    present: dict[int, set[int]] = {i: set() for i in n}
    for sid, idx in (await s.execute(select(SensorReading.sensor_id, b).where(or_(*(and_(
            SensorReading.sensor_id == i, SensorReading.source_time >= since[i],
            SensorReading.source_time < since[i] + timedelta(seconds=k * width)) for i, k in n.items()))).distinct())):
        present[sid].add(int(idx))
    for i, k in n.items():
        prev = -1
        for idx in [*sorted(present[i]), k]:
            if idx - prev - 1 >= 2:  # two empty buckets in a row: nothing for longer than max_gap
                out[i].append((since[i] + timedelta(seconds=(prev + 1) * width),
                               since[i] + timedelta(seconds=idx * width)))
            prev = idx
    return out


def window(st: Storage, max_points: int) -> Window | None:
    """The temperature history of a unit's storage period, until now (resolvers.history)."""
    if st.sensor_tag is None or st.since is None:
        return None
    return Window(st.sensor_tag, st.since, max(utcnow(), st.since + timedelta(seconds=1)), max_points)


async def pooling_problems(s: AsyncSession, units: list[PlasmaUnit]) -> dict[str, str]:
    """PR-32: a unit goes into production only with its storage temperature record complete and in
    range and its storage time within the limit. One grouped query per cold store, not per unit."""
    out: dict[str, str] = {}
    now = utcnow()
    by_room: dict[str | None, list[PlasmaUnit]] = {}
    for u in units:
        by_room.setdefault(room_of(u.storage_location) if u.received_at else None, []).append(u)
    for room, members in by_room.items():
        if room is None:
            out.update({u.donation_number: "not in storage" for u in members})
            continue
        sensor = await _sensor(s, room)
        if sensor is None:
            out.update({u.donation_number: f"no temperature sensor is bound to {room}" for u in members})
            continue
        since = min(u.received_at for u in members if u.received_at is not None)
        holes = await gaps(s, sensor.id, since, now)
        high = (await s.execute(select(SensorReading.source_time).where(
            SensorReading.sensor_id == sensor.id, SensorReading.source_time >= since,
            SensorReading.value > sensor.high_limit).order_by(SensorReading.source_time).limit(100_000))
        ).scalars().all() if sensor.high_limit is not None else []
        for u in members:
            assert u.received_at is not None
            hole = next((h for h in holes if h[1] > u.received_at), None)
            warm = next((t for t in high if t >= u.received_at), None)
            if hole is not None:
                out[u.donation_number] = (f"temperature record of {room} incomplete from "
                                          f"{max(hole[0], u.received_at):%Y-%m-%d %H:%M} to {hole[1]:%Y-%m-%d %H:%M}")
            elif warm is not None:
                out[u.donation_number] = f"{room} above {sensor.high_limit} {sensor.unit} at {warm:%Y-%m-%d %H:%M}"
            elif now.date() > u.collected_on + STORAGE_LIMIT:
                out[u.donation_number] = "storage time limit passed"
    return out
