"""Storage of each unit (PL-10, PL-11): its location, the temperature of that cold store over its
storage period, the storage time limit, and whether both were met."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from records.base import utcnow
from records.plant import Room, Sensor
from records.plasma import PlasmaUnit
from records.readings import SensorReading
from resolvers.history import Point, bucket, history

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


async def _sensor(s: AsyncSession, room_code: str) -> Sensor | None:
    return (await s.execute(select(Sensor).join(Room, Room.id == Sensor.room_id).where(
        Room.code == room_code, Sensor.kind == "temperature", Sensor.equipment_id.is_(None))
        .order_by(Sensor.tag).limit(1))).scalar_one_or_none()


async def evaluate(s: AsyncSession, u: PlasmaUnit) -> Storage:
    limit = u.collected_on + STORAGE_LIMIT
    room = room_of(u.storage_location)
    sensor = await _sensor(s, room) if room else None
    reasons: list[str] = []
    excursions = 0
    if u.received_at is None or room is None:
        reasons.append("not in storage yet")
    elif sensor is None:
        reasons.append(f"no temperature sensor is bound to {room}")
    else:
        excursions = len((await s.execute(select(SensorReading.id).where(
            SensorReading.sensor_id == sensor.id, SensorReading.source_time >= u.received_at,
            SensorReading.value > sensor.high_limit))).all()) if sensor.high_limit is not None else 0
        if excursions:
            reasons.append(f"{excursions} readings above {sensor.high_limit} {sensor.unit} while stored")
        holes = await gaps(s, sensor.id, u.received_at, utcnow())
        if holes:
            reasons.append(f"temperature record incomplete: {len(holes)} gaps, the first from "
                           f"{holes[0][0]:%Y-%m-%d %H:%M} to {holes[0][1]:%Y-%m-%d %H:%M} UTC")
    if utcnow().date() > limit:
        reasons.append(f"storage time limit {limit.isoformat()} passed")
    return Storage(u.storage_location, room, sensor.tag if sensor else None, u.received_at, limit,
                   sensor.high_limit if sensor else None, excursions, not reasons, reasons)


async def gaps(s: AsyncSession, sensor_id: int, since: datetime, until: datetime,
               max_gap: timedelta = MAX_GAP) -> list[tuple[datetime, datetime]]:
    """Periods longer than `max_gap` without a reading. Counted in half-gap buckets by the database,
    so months of one-second readings cost one grouped scan, not a row per reading here."""
    if until - since <= max_gap:
        return []
    width = max_gap.total_seconds() / 2
    n = int((until - since).total_seconds() // width)
    b = bucket((await s.connection()).dialect.name, since, width)
    present = sorted({int(x) for x in (await s.execute(select(b).where(
        SensorReading.sensor_id == sensor_id, SensorReading.source_time >= since,
        SensorReading.source_time < since + timedelta(seconds=n * width)).distinct())).scalars()})
    out = []
    prev = -1
    for idx in [*present, n]:
        if idx - prev - 1 >= 2:  # two empty buckets in a row: nothing for longer than max_gap
            out.append((since + timedelta(seconds=(prev + 1) * width), since + timedelta(seconds=idx * width)))
        prev = idx
    return out


async def temperatures(s: AsyncSession, st: Storage, max_points: int) -> list[Point]:
    if st.sensor_tag is None or st.since is None:
        return []
    return await history(s, st.sensor_tag, st.since, max(utcnow(), st.since + timedelta(seconds=1)), max_points)


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
