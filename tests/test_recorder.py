"""Readings stored by the recorder's own insert (parameters converted once, not per row by SQLAlchemy)
read back exactly as the ORM wrote them, on SQLite and PostgreSQL, and a replay stores nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite

from records.audit import AuditContext
from records.base import UTCDateTime
from records.db import Database
from records.plant import Room, Sensor
from records.readings import SensorReading
from tests.signing_env import add_tiny_plant
from twin.recorder import Recorder, sqlite_time
from twin.state import Quality, Reading

T0 = datetime(2026, 12, 5, 8, 30, 0, tzinfo=UTC)


def test_sqlite_time_is_what_sqlalchemy_stores() -> None:
    store = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert store is not None
    east = timezone(timedelta(hours=8))
    for value in (T0, T0.replace(microsecond=7), T0.astimezone(east), datetime(999, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
                  datetime(2027, 3, 1, 23, 59, 59, 999_999, tzinfo=east)):
        assert sqlite_time(value) == store(value), value


async def _sensor(db: Database) -> int:
    await add_tiny_plant(db)
    async with db.write(AuditContext("system", reason="test recorder")) as s:
        room = (await s.execute(select(Room).where(Room.code == "R1"))).scalar_one()
        sensor = Sensor(tag="R1-TT-1", name="Temperature", kind="temperature", unit="°C", room_id=room.id,
                        low_limit=None, high_limit=None, nominal=None)
        s.add(sensor)
        await s.flush()
        return sensor.id


async def test_readings_and_replays_stored_once_and_read_back(db: Database) -> None:
    sid = await _sensor(db)
    rec = Recorder(db)
    await rec.load_sensors()
    east = timezone(timedelta(hours=8))
    readings = [Reading("R1-TT-1", 2.0 + i, Quality.GOOD, T0 + timedelta(seconds=i),
                        T0 + timedelta(seconds=i, milliseconds=5)) for i in range(5)]
    readings.append(Reading("R1-TT-1", None, Quality.BAD, (T0 + timedelta(seconds=5)).astimezone(east), T0))
    for r in readings:
        rec.record(r)
    assert await rec.flush() == 6
    for r in readings[:3]:  # a bridge replaying what the core already has
        rec.record(r)
    rec.record(Reading("R1-TT-1", 9.0, Quality.GOOD, (T0 + timedelta(seconds=2)).astimezone(east), T0))  # same instant
    await rec.flush()
    async with db.read() as s:
        rows = (await s.execute(select(SensorReading).where(SensorReading.sensor_id == sid)
                                .order_by(SensorReading.source_time))).scalars().all()
        at = (await s.execute(select(func.count()).select_from(SensorReading).where(
            SensorReading.source_time == T0 + timedelta(seconds=5)))).scalar_one()
    assert [(r.source_time, r.value, r.quality) for r in rows] == \
        [(T0 + timedelta(seconds=i), 2.0 + i, "GOOD") for i in range(5)] + [(T0 + timedelta(seconds=5), None, "BAD")]
    assert rows[0].received_at == T0 + timedelta(milliseconds=5)
    assert at == 1  # the ORM finds by time what the recorder wrote: one format on each store
    assert rec.stored == 10 and rec.committed == rec.recorded  # counted as taken; the replays were skipped


async def test_unknown_tags_are_counted_not_stored(db: Database) -> None:
    await _sensor(db)
    rec = Recorder(db)
    await rec.load_sensors()
    rec.record(Reading("NO-SUCH-TAG", 1.0, Quality.GOOD, T0, T0))
    assert await rec.flush() == 0
    assert rec.unknown_tags == 1 and rec.committed == rec.recorded
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(SensorReading))).scalar_one() == 0


