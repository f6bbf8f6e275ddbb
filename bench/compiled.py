"""Reads compiled to SQL against the normal path (issue 12): server CPU per request and requests per
second for the plant graph, `equipment(code)` and `batch(batchNumber)` with its pools (the queries of
`make bench-peer`), the plant graph with live values from the twin, a plasma unit with its station,
a material lot, the lot list, a sample, a page of 50 of the `batches`, `alarms` and `auditTrail`
connections (the second page, after a cursor), and the browser app's own documents: the control room's
standing alarms (a fragment), the tablet's cold-room screen (two root fields: alarms and the last
`coldRoomChecks`), the cameras with their key posts, the phases running now, and alarms between two
times, in-process on the demo plant and population.

Requests go straight to the ASGI app (no HTTP client in the measured CPU), one at a time, with a bearer
token. CPU is this process's (the app, SQLite's work in its thread, the driver); PostgreSQL's own
backend CPU is not counted. Rounds alternate normal and compiled; medians of BENCH_COMPILED_ROUNDS
rounds (5) of BENCH_COMPILED_REQUESTS requests (200; the plant graph a fifth of that) are reported.
The machine is shared: the numbers are indicative, the ratio between the two paths is the point.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.app import InProcess, in_process

PLANT = ("{ plants { code name rooms { code name grade equipment { code name kind status "
         "sensors { tag name unit lowLimit highLimit } } } } }")
PLANT_LIVE = ("{ plants { id name rooms { id name equipment { code name status "
              "sensors { tag unit value quality } } } } }")


PAGE = "pageInfo { hasNextPage endCursor } totalCount"
ALARM_FIELDS = """fragment AlarmFields on Alarm { id source condition priority state tag roomCode equipmentCode
  cameraCode message value limitValue peak beganAt raisedAt clearedAt acknowledgedAt acknowledgedBy handling }"""
LOTS = 200
ALARMS = 500


def queries(equipment: str, batch: str, unit: str, cursors: dict[str, str], room: str) -> dict[str, str]:
    return {
        "plant": PLANT,
        "plant+live": PLANT_LIVE,
        "equipment": f'{{ equipment(code: "{equipment}") {{ code name kind status }} }}',
        "batch": f'{{ batch(batchNumber: "{batch}") {{ batchNumber product status poolCodes }} }}',
        "plasmaUnit": f'{{ plasmaUnit(donationNumber: "{unit}") {{ donationNumber bloodType collectedOn weightG '
                      "status poolCode donorCardNumber station { code name } } }",
        "materialLot": '{ materialLot(code: "ML-00007") { code materialCode name lotNumber status expiresOn '
                       "remaining unit } }",
        "materialLots": '{ materialLots(status: RELEASED) { code materialCode lotNumber status remaining } }',
        "sample": '{ sample(code: "S-00003") { code kind status takenAt takenBy storageLocation } }',
        "batches": f'{{ batches(first: 5, after: "{cursors["batch"]}") {{ edges {{ cursor node {{ batchNumber '
                   f"product status poolCodes }} }} {PAGE} }} }}",
        "alarms": f'{{ alarms(first: 50, after: "{cursors["alarm"]}") {{ edges {{ cursor node {{ id priority state '
                  f"roomCode message value raisedAt acknowledgedBy }} }} {PAGE} }} }}",
        "auditTrail": f'{{ auditTrail(first: 50, after: "{cursors["audit"]}") {{ edges {{ cursor node {{ id '
                      f"occurredAt actor action entity entityId }} }} {PAGE} }} }}",
        # frontend/src/control/alarms.ts StandingAlarms and tablet/coldRoom.ts ColdRoom, as the app sends them.
        "standingAlarms": "query StandingAlarms { alarms(active: true, first: 500) { totalCount edges { node { "
                          f"...AlarmFields }} }} }} }} {ALARM_FIELDS}",
        "coldRoom": f'query ColdRoom {{ alarms(active: true, filter: {{ roomCode: "{room}" }}, first: 50) '
                    "{ totalCount edges { node { ...AlarmFields } } } coldRoomChecks(roomCode: "
                    f'"{room}", first: 3) {{ edges {{ node {{ id roomCode temperature sensorTag sensorValue doorClosed '
                    f"activeAlarms conforming checkedBy checkedAt note }} }} }} }} {ALARM_FIELDS}",
        "cameras": "query Cameras { cameras { code name roomCode x y deviceType directionDeg fieldOfViewDeg "
                   "equipmentCode streamUri active keyPosts { code name } } }",
        "running": "query Running { runningPhases { batchNumber product phaseCode phaseName equipmentCode roomCode "
                   "startedAt startedBy } }",
        "alarms+times": '{ alarms(first: 50, filter: {from: "2026-03-01T02:00:00Z", to: "2026-03-01T06:00:00Z"}) '
                        "{ edges { cursor node { id priority state roomCode message value raisedAt } } "
                        f"{PAGE} }} }}",
    }


async def _prepare(db: Any) -> None:
    from demo import population
    from demo.cameras import seed_demo_cameras
    from demo.plant import DEMO_PLANT
    from demo.seed import seed_plant, seed_stations

    await seed_plant(db, DEMO_PLANT)
    await seed_stations(db)
    await population.generate(db, population.Population(donors=200, units=800, pools=8, lots_per_batch=1,
                                                        cases_per_lot=1, cartons_per_case=1, units_per_carton=1))
    await seed_demo_cameras(db)
    await _records(db)


async def _records(db: Any) -> None:
    """Material lots, samples and alarms, which the demo population does not make."""
    from datetime import date, timedelta

    from sqlalchemy import insert, select

    from records.alarms import Alarm
    from records.audit import AuditContext
    from records.execution import PhaseRun
    from records.materials import MaterialLot
    from records.plant import Equipment, Room
    from records.plasma import Batch, PlasmaUnit, Sample
    from records.quality import ColdRoomCheck

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    async with db.write(AuditContext("system", reason="bench records")) as s:
        rooms = list((await s.execute(select(Room.id))).scalars())
        units = list((await s.execute(select(PlasmaUnit.id).limit(50))).scalars())
        await s.execute(insert(MaterialLot), [dict(
            code=f"ML-{i:05}", kind="RAW_MATERIAL", material_code=f"M-{i % 9}", name=f"Material {i % 9}",
            lot_number=f"L{i}", supplier="Supplier", quantity=25.0, remaining=12.5, unit="kg",
            expires_on=date(2028, 1, 1), received_at=t0 + timedelta(hours=i), received_by="log.one",
            status=("QUARANTINE", "RELEASED", "REJECTED")[i % 3]) for i in range(LOTS)])
        await s.execute(insert(Sample), [dict(
            code=f"S-{i:05}", kind="RETAINED", plasma_unit_id=u, taken_at=t0, taken_by="op.one", status="RETAINED")
            for i, u in enumerate(units)])
        await s.execute(insert(Alarm), [dict(
            source="LIMIT", condition="HIGH", priority=("LOW", "HIGH")[i % 2], state=("ACTIVE", "CLOSED")[i % 2],
            tag=f"T-{i}", room_id=rooms[i % len(rooms)], message=f"alarm {i}", value=8.5 + i / 10, limit_value=8.0,
            began_at=t0 + timedelta(minutes=i), raised_at=t0 + timedelta(minutes=i, seconds=30))
            for i in range(ALARMS)])
        codes = list((await s.execute(select(Room.code).where(Room.id.in_(rooms[:2])))).scalars())
        await s.execute(insert(ColdRoomCheck), [dict(
            room_code=codes[i % 2], checked_at=t0 + timedelta(hours=i), checked_by="op.one", temperature=4.5,
            sensor_tag=None, sensor_value=None, door_closed=True, active_alarms=0, conforming=True)
            for i in range(40)])
        eqs = list((await s.execute(select(Equipment.id))).scalars())
        batches = list((await s.execute(select(Batch.id).limit(8))).scalars())
        await s.execute(insert(PhaseRun), [dict(
            batch_id=b, phase_code=f"P{i}", equipment_id=eqs[i % len(eqs)], pre_check={}, started_by="op.one",
            started_at=t0 + timedelta(minutes=i)) for i, b in enumerate(batches)])


async def _post(app: Any, body: bytes, token: bytes) -> bytes:
    """One POST /graphql through the ASGI app; the response body."""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"authorization", token),
               (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("bench", 80)}
    done = False
    out: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            await asyncio.sleep(3600)
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(out)


async def _round(app: Any, body: bytes, token: bytes, n: int) -> tuple[float, float]:
    """CPU ms per request and requests per second over `n` requests."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await _post(app, body, token)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / n * 1000, n / wall


async def _measure(ip: InProcess, requests: int, rounds: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from records.alarms import Alarm
    from records.audit import AuditEvent
    from records.plant import Equipment, Room, Sensor
    from records.plasma import Batch, PlasmaUnit
    from records.readings import Quality, Reading
    from resolvers.compiled_reads import CATALOG
    from schema.relay import encode_cursor

    async with ip.db.read() as s:
        equipment = (await s.execute(select(Equipment.code).order_by(Equipment.id))).scalars().first()
        batch = (await s.execute(select(Batch.batch_number).order_by(Batch.id))).scalars().first()
        unit = (await s.execute(select(PlasmaUnit.donation_number).where(PlasmaUnit.pool_id.is_not(None))
                                .order_by(PlasmaUnit.id))).scalars().first()
        tags = list((await s.execute(select(Sensor.tag))).scalars())
        # The second page of each connection: after its first page's last key.
        cursors = {kind: encode_cursor(kind, (await s.execute(select(func.max(key)))).scalar_one() - skip)
                   for kind, key, skip in (("batch", Batch.id, 4), ("alarm", Alarm.id, 49),
                                           ("audit", AuditEvent.id, 49))}
    now = datetime.now(UTC)
    for i, tag in enumerate(tags):
        ip.services.twin.observe(Reading(tag, 20.0 + i / 8, Quality.GOOD, now, now))
    engine = ip.app.router.routes[0].app.http.engine
    token = (await ip.token("qa.one"))["authorization"].encode()
    out: dict[str, Any] = {"database": ip.db.engine.dialect.name}
    async with ip.db.read() as s:
        room = (await s.execute(select(Room.code).order_by(Room.id))).scalars().first()
    for case, query in queries(str(equipment), str(batch), str(unit), cursors, str(room)).items():
        body = json.dumps({"query": query}).encode()
        assert engine._compiled(query, None, CATALOG) is not None, f"{case}: not compiled"
        answers = {}
        for mode, catalog in (("normal", None), ("compiled", CATALOG)):
            engine.catalog = catalog
            answers[mode] = json.loads(await _post(ip.app, body, token))
            assert "errors" not in answers[mode], answers[mode]
        assert answers["normal"] == answers["compiled"], f"{case}: the compiled answer differs"
        n = max(10, requests // 5) if case.startswith("plant") else requests
        samples: dict[str, list[tuple[float, float]]] = {"normal": [], "compiled": []}
        for _ in range(rounds):
            for mode, catalog in (("normal", None), ("compiled", CATALOG)):
                engine.catalog = catalog
                await _round(ip.app, body, token, max(3, n // 10))  # warm
                samples[mode].append(await _round(ip.app, body, token, n))
        row: dict[str, Any] = {"fields": _fields(answers["compiled"]["data"])}
        for mode, got in samples.items():
            row[f"{mode}_cpu_ms"] = round(statistics.median(c for c, _ in got), 3)
            row[f"{mode}_rps"] = round(statistics.median(r for _, r in got))
        row["cpu_ratio"] = round(row["normal_cpu_ms"] / row["compiled_cpu_ms"], 1)
        out[case] = row
    engine.catalog = CATALOG
    return out


def _fields(value: Any) -> int:
    """Leaf values in an answer (list items and object fields), to show each query's size."""
    if isinstance(value, dict):
        return sum(_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(_fields(v) for v in value)
    return 1


async def run_store(url: str | None = None) -> dict[str, Any]:
    requests = int(os.environ.get("BENCH_COMPILED_REQUESTS", "200"))
    rounds = int(os.environ.get("BENCH_COMPILED_ROUNDS", "5"))
    async with in_process(_prepare, url) as ip, ip.app.router.lifespan_context(ip.app):
        return await _measure(ip, requests, rounds)  # started as served: the verified-token cache works


def main() -> None:
    from tests import services

    print("reads compiled to SQL vs the normal path (in-process, qa.one's token; medians; indicative):")
    print("  " + json.dumps(asyncio.run(run_store())))
    try:
        pg = services.start_postgres()
    except services.ServiceUnavailable as e:
        print(f"  PostgreSQL skipped: {e}")
        return
    try:
        print("  " + json.dumps(asyncio.run(run_store(pg.create_database("compiled")))))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
