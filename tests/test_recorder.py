"""Readings stored by the recorder's own insert (parameters converted once, not per row by SQLAlchemy)
read back exactly as the ORM wrote them, on SQLite and PostgreSQL, and a replay stores nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import sqlite

from records.audit import AuditContext
from records.base import UTCDateTime
from records.bulk import PgBulk, SqliteBulk, bulk
from records.db import Database
from records.plant import Room, Sensor
from records.readings import SensorReading
from tests.signing_env import add_tiny_plant
from twin.recorder import COLUMNS, KEY, Recorder, sqlite_time
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




async def test_a_plant_that_thins_storage_keeps_excursions_quality_changes_and_one_reading_per_interval(
        db: Database) -> None:
    """`readings.storeEverySeconds`: a steady tag costs one row per interval; every reading outside the
    sensor's limits, the first back inside, and every quality change are stored all the same."""
    from records.identity import Setting
    from records.readings import STORE_EVERY_KEY

    await _sensor(db)
    async with db.write(AuditContext("system", reason="test: limits and thinning")) as s:
        sensor = (await s.execute(select(Sensor).where(Sensor.tag == "R1-TT-1"))).scalar_one()
        sensor.low_limit, sensor.high_limit = 2.0, 8.0
        s.add(Setting(key=STORE_EVERY_KEY, value=10))
    rec = Recorder(db)
    await rec.load_sensors()
    values = [5.0] * 25 + [9.0, 9.5, 9.1, 5.0, 5.0] + [5.0] * 10  # 40 s at 1 Hz, an excursion at 25-27 s
    quality = {33: Quality.UNCERTAIN}
    for i, v in enumerate(values):
        rec.record(Reading("R1-TT-1", v, quality.get(i, Quality.GOOD), T0 + timedelta(seconds=i), T0))
    await rec.flush()
    async with db.read() as s:
        kept = [(int((t - T0).total_seconds()), v, q) for t, v, q in (await s.execute(
            select(SensorReading.source_time, SensorReading.value, SensorReading.quality)
            .order_by(SensorReading.source_time))).all()]
    assert [k[0] for k in kept] == [0, 10, 20, 25, 26, 27, 28, 33, 34]
    assert kept[3:6] == [(25, 9.0, "GOOD"), (26, 9.5, "GOOD"), (27, 9.1, "GOOD")]  # the excursion, reading by reading
    assert kept[6] == (28, 5.0, "GOOD") and kept[7] == (33, 5.0, "UNCERTAIN")  # back inside; quality changed
    assert rec.thinned == 40 - len(kept) and rec.committed == rec.recorded


async def test_a_flush_the_database_refuses_writes_nothing_and_keeps_every_reading(db: Database) -> None:
    """The driver's bulk insert is one transaction: a batch with a row the database refuses stores none of
    it, the readings stay pending (ingest keeps waiting for them), and the next flush stores them once."""
    sid = await _sensor(db)
    rec = Recorder(db)
    await rec.load_sensors()
    assert bulk(db) is not None  # a file or server store: the recorder writes on the driver
    rec.record(Reading("R1-TT-1", 1.0, Quality.GOOD, T0, T0))
    poison = (sid, sqlite_time(T0 + timedelta(seconds=1)) if db.is_sqlite else T0 + timedelta(seconds=1),
              sqlite_time(T0) if db.is_sqlite else T0, 2.0, None)  # quality is NOT NULL
    rec.pending.append(poison)
    with pytest.raises(Exception, match=r"(?i)not null|null value"):
        await rec.flush()
    assert len(rec.pending) == 2 and rec.committed < rec.recorded
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(SensorReading))).scalar_one() == 0
    rec.pending.remove(poison)
    assert await rec.flush() == 1  # the connection is usable again: no transaction left open
    assert rec.committed == rec.recorded and await rec.durable()
    async with db.read() as s:
        assert (await s.execute(select(SensorReading.value))).scalars().all() == [1.0]


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_connection_cut_between_flushes_is_replaced_and_nothing_is_lost(db: Database) -> None:
    """PostgreSQL restarted or the connection cut between flushes: the next flush opens a new connection
    and stores the readings (a flush that fails midway keeps them: the test above)."""
    await _sensor(db)
    rec = Recorder(db)
    await rec.load_sensors()
    rec.record(Reading("R1-TT-1", 1.0, Quality.GOOD, T0, T0))
    assert await rec.flush() == 1
    driver = bulk(db)
    assert isinstance(driver, PgBulk) and driver.conn is not None
    cut = driver.conn.get_server_pid()
    async with db.write_engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": cut})
    for _ in range(100):
        if driver.conn.is_closed():
            break
        await asyncio.sleep(0.01)
    rec.record(Reading("R1-TT-1", 2.0, Quality.GOOD, T0 + timedelta(seconds=1), T0))
    assert await rec.flush() == 1
    assert driver.conn.get_server_pid() != cut and rec.committed == rec.recorded
    async with db.read() as s:
        assert (await s.execute(select(SensorReading.value).order_by(SensorReading.source_time))).scalars().all() \
            == [1.0, 2.0]


async def test_the_driver_connection_closes_with_the_database(db: Database) -> None:
    await _sensor(db)
    rec = Recorder(db)
    await rec.load_sensors()
    rec.record(Reading("R1-TT-1", 1.0, Quality.GOOD, T0, T0))
    await rec.flush()
    driver = bulk(db)
    assert driver is not None and driver.conn is not None
    await db.dispose()
    assert driver.conn is None


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("json_each", [True, False], ids=["json_each", "executemany"])
async def test_sqlite_rows_from_either_insert_have_the_orms_types(db: Database, json_each: bool) -> None:
    """SQLite stores what it is given: the JSON array route (one statement for the batch) and the
    executemany route (a SQLite without JSON) must both store the types the ORM stores, or a query by
    time or value would miss the recorder's rows."""
    sid = await _sensor(db)
    async with db.write(AuditContext("system", reason="test: an ORM row")) as s:
        s.add(SensorReading(sensor_id=sid, source_time=T0, received_at=T0, value=2.0, quality="GOOD"))
    driver = bulk(db)
    assert isinstance(driver, SqliteBulk)
    await driver.insert(SensorReading.__tablename__, COLUMNS, KEY, [])  # opens the connection
    driver.json = json_each
    when = T0 + timedelta(seconds=1)
    await driver.insert(SensorReading.__tablename__, COLUMNS, KEY, [
        (sid, sqlite_time(when), sqlite_time(T0), 3.0, "GOOD"), (sid, sqlite_time(when), sqlite_time(T0), 9.0, "BAD"),
        (sid, sqlite_time(when + timedelta(seconds=1)), sqlite_time(T0), None, "BAD")])
    async with db.read() as s:
        types = (await s.execute(text(
            "SELECT typeof(sensor_id), typeof(source_time), typeof(received_at), typeof(value), typeof(quality) "
            "FROM sensor_reading ORDER BY source_time"))).all()
        found = (await s.execute(select(SensorReading.value).where(SensorReading.source_time == when))).scalars().all()
    assert types[0] == types[1] == ("integer", "text", "text", "real", "text")
    assert types[2][3] == "null"
    assert found == [3.0]  # found by the ORM's own time; the second row with the same key was skipped


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_an_insert_cancelled_midway_leaves_no_busy_connection_behind(db: Database) -> None:
    """The recorder stopped while a flush was on its way: the connection's protocol state is unknown, so
    the next insert opens a new one instead of failing with "another operation is in progress". The
    server may still finish the cancelled batch; the recorder keeps it pending and sends it again, and
    the replay stores nothing twice."""
    sid = await _sensor(db)
    driver = bulk(db)
    assert isinstance(driver, PgBulk)
    await driver.insert(SensorReading.__tablename__, COLUMNS, KEY, [(sid, T0, T0, 1.0, "GOOD")])
    assert driver.conn is not None
    first = driver.conn
    async with db.write_engine.connect() as conn:  # hold the row's key so the next insert waits on it
        await conn.execute(text("BEGIN"))
        await conn.execute(text("INSERT INTO sensor_reading (sensor_id, source_time, received_at, value, quality) "
                                "VALUES (:s, :t, :t, 2.0, 'GOOD')"), {"s": sid, "t": T0 + timedelta(seconds=1)})
        task = asyncio.create_task(driver.insert(SensorReading.__tablename__, COLUMNS, KEY,
                                                 [(sid, T0 + timedelta(seconds=1), T0, 3.0, "GOOD")]))
        await asyncio.sleep(0.3)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await conn.execute(text("ROLLBACK"))
    assert driver.conn is None and first.is_closed()
    await driver.insert(SensorReading.__tablename__, COLUMNS, KEY, [
        (sid, T0 + timedelta(seconds=1), T0, 3.0, "GOOD"), (sid, T0 + timedelta(seconds=2), T0, 4.0, "GOOD")])
    async with db.read() as s:
        assert (await s.execute(select(SensorReading.value).order_by(SensorReading.source_time))).scalars().all() \
            == [1.0, 3.0, 4.0]
