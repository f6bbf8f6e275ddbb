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
from resolvers.history import Point, history

STORAGE_LIMIT = timedelta(days=3 * 365)  # frozen source plasma, from collection; the MAH's value


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
    if utcnow().date() > limit:
        reasons.append(f"storage time limit {limit.isoformat()} passed")
    return Storage(u.storage_location, room, sensor.tag if sensor else None, u.received_at, limit,
                   sensor.high_limit if sensor else None, excursions, not reasons, reasons)


async def temperatures(s: AsyncSession, st: Storage, max_points: int) -> list[Point]:
    if st.sensor_tag is None or st.since is None:
        return []
    return await history(s, st.sensor_tag, st.since, max(utcnow(), st.since + timedelta(seconds=1)), max_points)
