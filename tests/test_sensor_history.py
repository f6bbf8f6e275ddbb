"""Readings are stored in batches, append-only, and come back as trends with downsampling."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from records.audit import AuditContext
from records.db import Database
from records.plant import Sensor
from tests.conftest import GQL
from twin.recorder import Recorder
from twin.state import PlantState, Quality

Q = "query($t:String!,$f:DateTime!,$to:DateTime!,$n:Int!){sensorHistory(tag:$t,from:$f,to:$to,maxPoints:$n)" \
    "{time value min max count}}"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest_asyncio.fixture
async def stored(env: Any) -> Any:
    gql, _, db = env
    async with db.write(AuditContext("system", reason="test sensor")) as s:
        room_id = (await s.execute(text("SELECT id FROM room WHERE code = 'R1'"))).scalar_one()
        s.add(Sensor(tag="R1-TT-101", name="Room temperature", kind="temperature", unit="°C", room_id=room_id,
                     low_limit=18, high_limit=24, nominal=21))
    rec = Recorder(db)
    await rec.start()
    twin = PlantState(gql.client.app_services.bus)
    twin.store = rec.record
    for i in range(600):  # ten minutes at one reading a second
        twin.ingest("R1-TT-101", 20 + (i % 60) / 10, Quality.GOOD, T0 + timedelta(seconds=i))
    twin.ingest("UNKNOWN-TAG", 1.0)
    await rec.stop()
    assert rec.stored == 600 and rec.unknown_tags == 1
    return gql, db


@pytest.mark.req("PR-01")
async def test_history_raw_and_downsampled(stored: Any) -> None:
    gql, _ = stored
    me = await GQL(gql.client).sign_in("op.one")
    v = {"t": "R1-TT-101", "f": T0.isoformat(), "to": (T0 + timedelta(minutes=10)).isoformat()}
    raw = (await me(Q, {**v, "n": 1000}))["data"]["sensorHistory"]
    assert len(raw) == 600 and raw[0]["count"] == 1 and raw[1]["value"] == pytest.approx(20.1)
    buckets = (await me(Q, {**v, "n": 10}))["data"]["sensorHistory"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == 600
    assert all(b["min"] <= 20.1 and b["max"] >= 25.8 for b in buckets)
    bad = await me(Q, {**v, "n": 1})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    unknown = await me(Q, {**v, "t": "NOPE", "n": 10})
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_readings_are_append_only(stored: Any) -> None:
    _, db = stored
    for stmt in ("UPDATE sensor_reading SET value = 0", "DELETE FROM sensor_reading"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.engine.begin() as conn:
                await conn.execute(text(stmt))


async def test_database_outage_keeps_readings_queued(tmp_path: Any) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    rec = Recorder(db)
    from twin.state import Reading

    rec.sensor_ids = {"T": 1}
    rec.record(Reading("T", 1.0, Quality.GOOD, T0, T0))
    with pytest.raises(Exception):  # noqa: B017 - the database is unreachable
        await rec.flush()
    assert len(rec.pending) == 1 and rec.stored == 0  # kept for the next attempt
    await db.dispose()
    # aiosqlite stops its worker thread after a failed connect without awaiting it; let that thread
    # finish while this loop is alive, or it reports to a closed loop during a later test.
    workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
    await asyncio.gather(*(asyncio.to_thread(t.join, 5) for t in workers))
