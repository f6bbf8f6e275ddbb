"""Alarms end to end: readings through /ingest raise an alarm after its on-delay, linked to the units in
the cold store; a signed acknowledgement records handler and handling method; return to normal records
the recovery time; the list filters and prints; nothing is published before it is stored."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from demo.seed import seed_stations
from records.alarms import Alarm
from records.audit import AuditContext, AuditEvent
from records.plant import Area, Room, Sensor
from records.plasma import Donor, PlasmaStation, PlasmaUnit
from records.readings import SensorReading
from resolvers import identity
from resolvers.context import Context
from schema.root import build_schema
from subscriptions.topics import ALARM_TOPIC, PHASE_TOPIC
from tests.test_users import set_setting
from twin.alarm_rules import Priority
from twin.alarm_service import AlarmService
from twin.recorder import Recorder

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TAG = "CS9-TT-101"
LIST = """query($a:Boolean){alarms(active:$a){totalCount edges{node{id state condition priority roomCode tag value
  peak limitValue beganAt raisedAt clearedAt acknowledgedAt acknowledgedBy handling message affectedUnits}}}}"""
ACK = """mutation($input: AcknowledgeAlarmInput!, $sig: SignatureInput!){
  acknowledgeAlarm(input:$input, signature:$sig){ state acknowledgedBy handling }}"""
REPORT = "query($f:ReportFormat!){alarmReport(format:$f){filename contentType count data}}"


def _at(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat()


@pytest_asyncio.fixture
async def plant(env: Any) -> AsyncIterator[Any]:
    """A cold store CS9 with one air-temperature tag and a unit lying in it; recorder and alarms running."""
    gql, signers, db = env
    await seed_stations(db)
    async with db.write(AuditContext("system", reason="test cold store")) as s:
        area = (await s.execute(select(Area))).scalars().first()
        assert area is not None
        room = Room(area_id=area.id, code="CS9", name="Cold store 9", grade="CNC",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
        s.add(room)
        await s.flush()
        s.add(Sensor(tag=TAG, name="Air temperature", kind="temperature", unit="°C", room_id=room.id,
                     high_limit=-25.0, nominal=-32.0, alarm_delay_s=60, alarm_deadband=1.0, alarm_priority="HIGH"))
        st = (await s.execute(select(PlasmaStation).where(PlasmaStation.code == "PS-N1"))).scalar_one()
        donor = Donor(card_number="AL-1", station_id=st.id, name="x", blood_type="A", status="ACTIVE")
        s.add(donor)
        await s.flush()
        for n, status in (("AL-U1", "QUARANTINED"), ("AL-U2", "POOLED")):
            s.add(PlasmaUnit(donation_number=n, donor_id=donor.id, station_id=st.id, blood_type="A",
                             collected_on=T0.date(), weight_g=600, status=status, received_at=T0 - timedelta(days=1),
                             storage_location="CS9-R01-P01"))
    async with recording(gql, db) as (svc, rec):
        bridge = await gql.sign_in("bridge.one")
        yield gql, signers, db, svc, rec, bridge


@contextlib.asynccontextmanager
async def recording(gql: Any, db: Any) -> AsyncIterator[tuple[Any, Recorder]]:
    """The twin storing readings and feeding the alarm rules, as the server runs them (api/app.py)."""
    svc = gql.client.app_services
    rec = Recorder(db)
    await rec.start()
    svc.twin.store, svc.twin.tags = rec.record, frozenset(rec.sensor_ids)
    await svc.alarms.start()
    svc.twin.watch = svc.alarms.feed
    try:
        with svc.bus.listen(PHASE_TOPIC, svc.alarms.phases_changed):
            yield svc, rec
    finally:
        await svc.alarms.stop()
        await rec.stop()


async def _ingest(gql: Any, bridge: Any, readings: list[dict[str, Any]], token: str | None = "bridge") -> Any:
    headers = {"authorization": f"Bearer {bridge.token}"} if token == "bridge" else (
        {"authorization": f"Bearer {token}"} if token else {})
    return await gql.client.post("/ingest", json={"bridge": "test", "readings": readings}, headers=headers)


def _r(value: float, s: float, quality: str = "GOOD") -> dict[str, Any]:
    return {"tag": TAG, "value": value, "quality": quality, "sourceTime": _at(s)}


@pytest.mark.req("PL-12", "PR-79", "PR-75", "PR-80")
async def test_excursion_is_raised_acknowledged_and_returns_to_normal(plant: Any) -> None:
    gql, signers, db, svc, rec, bridge = plant
    async with svc.bus.subscribe(ALARM_TOPIC, lossless=True) as events:
        r = await _ingest(gql, bridge, [_r(-31, 0), _r(-20, 10), _r(-31, 30), _r(-21, 100)])
        assert r.status_code == 200 and r.json()["accepted"] == 4
        await svc.alarms.drain()
        me = await gql.sign_in("log.sig")
        assert (await me(LIST, {"a": True}))["data"]["alarms"]["totalCount"] == 0  # the door closed within the delay
        await _ingest(gql, bridge, [_r(-18.5, 130), _r(-19, 161)])
        await svc.alarms.drain()
        raised = await anext(events)
        assert raised.kind == "RAISED" and raised.alarm["state"] == "ACTIVE"
        listed = await me(LIST, {"a": True})
        assert "errors" not in listed, listed
        node = listed["data"]["alarms"]["edges"][0]["node"]
        assert node["state"] == "ACTIVE" and node["condition"] == "HIGH" and node["priority"] == "HIGH"
        assert node["roomCode"] == "CS9" and node["value"] == -19 and node["limitValue"] == -25
        assert node["beganAt"] == _at(100) and node["raisedAt"] == _at(161)
        assert node["affectedUnits"] == ["AL-U1"]  # the pooled unit had left the cold store
        assert "above high limit" in node["message"]

        inp = {"id": node["id"], "handling": "Door found ajar; closed it, checked the seal"}
        body = await me(ACK, {"input": inp, "sig": signers.sign("log.sig", "acknowledgeAlarm", inp, "ACKNOWLEDGED")})
        assert body["data"]["acknowledgeAlarm"] == {"state": "ACKED", "acknowledgedBy": "log.sig",
                                                    "handling": inp["handling"]}
        assert (await anext(events)).kind == "ACKNOWLEDGED"
        again = await me(ACK, {"input": inp, "sig": signers.sign("log.sig", "acknowledgeAlarm", inp, "ACKNOWLEDGED")})
        assert again["errors"][0]["extensions"]["code"] == "CONFLICT"

        await _ingest(gql, bridge, [_r(-16, 170), _r(-25.5, 200), _r(-27, 230)])  # peak, deadband, normal
        await svc.alarms.drain()
        cleared = await anext(events)
        assert cleared.kind == "CLEARED" and cleared.alarm["state"] == "CLOSED"
    await rec.flush()
    done = (await me(LIST, {"a": False}))["data"]["alarms"]["edges"][0]["node"]
    assert done["clearedAt"] == _at(230) and done["peak"] == -16 and done["acknowledgedBy"] == "log.sig"
    async with db.read() as s:
        actions = (await s.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.entity == "alarm").order_by(AuditEvent.id))).all()
        stored = (await s.execute(select(func.count()).select_from(SensorReading))).scalar_one()
    assert [a for a, _ in actions][:1] == ["CREATE"] and ("UPDATE", "log.sig") in actions
    assert stored == 9


@pytest.mark.req("PR-75", "PR-82")
async def test_alarm_list_prints_as_csv_and_pdf(plant: Any) -> None:
    gql, _, _, svc, _, bridge = plant
    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61)])
    await svc.alarms.drain()
    me = await gql.sign_in("op.one")
    csv = (await me(REPORT, {"f": "CSV"}))["data"]["alarmReport"]
    text = base64.b64decode(csv["data"]).decode("utf-8-sig")
    assert csv["count"] == 1 and csv["contentType"] == "text/csv"
    header, row = text.splitlines()[:2]
    assert header.startswith("id,raised at,room,equipment,tag,priority,content") and "recovered at" in header
    assert ",CS9,," in row and TAG in row and "HIGH" in row
    pdf = (await me(REPORT, {"f": "PDF"}))["data"]["alarmReport"]
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF") and pdf["filename"] == "alarms.pdf"


async def test_acknowledgement_needs_a_signature_and_the_role(plant: Any) -> None:
    gql, signers, db, svc, _, bridge = plant
    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61)])
    await svc.alarms.drain()
    me = await gql.sign_in("op.one")
    alarm_id = (await me(LIST, {"a": True}))["data"]["alarms"]["edges"][0]["node"]["id"]
    inp = {"id": alarm_id, "handling": "checked"}
    unsigned = await me("mutation($input: AcknowledgeAlarmInput!){acknowledgeAlarm(input:$input){state}}",
                        {"input": inp})
    assert unsigned["errors"][0]["extensions"]["code"] == "SIGNATURE_REQUIRED"
    reg = await gql.sign_in("reg.one")
    refused = await reg(ACK, {"input": inp, "sig": signers.sign("op.one", "acknowledgeAlarm", inp, "ACKNOWLEDGED")})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    empty = {"id": alarm_id, "handling": "  "}
    bad = await me(ACK, {"input": empty, "sig": signers.sign("op.one", "acknowledgeAlarm", empty, "ACKNOWLEDGED")})
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    # An acknowledgement means ACKNOWLEDGED (21 CFR 11.50): a signature that means PERFORMED is not one.
    performed = await me(ACK, {"input": inp, "sig": signers.sign("op.one", "acknowledgeAlarm", inp, "PERFORMED")})
    assert performed["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "ACKNOWLEDGED" in \
        performed["errors"][0]["message"]
    missing = {"id": 999999, "handling": "x"}
    nf = await me(ACK, {"input": missing, "sig": signers.sign("op.one", "acknowledgeAlarm", missing, "ACKNOWLEDGED")})
    assert nf["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    async with db.read() as s:
        a = (await s.execute(select(Alarm))).scalar_one()
    assert a.state == "ACTIVE" and a.acknowledged_by is None


async def test_ingest_refuses_strangers_and_reports_bad_readings(plant: Any) -> None:
    gql, _, db, _, rec, bridge = plant
    anon = await _ingest(gql, bridge, [_r(-30, 0)], token=None)
    assert anon.status_code == 401 and anon.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    op = await gql.sign_in("op.one")
    denied = await _ingest(gql, bridge, [_r(-30, 0)], token=op.token)
    assert denied.status_code == 403 and denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    junk = await gql.client.post("/ingest", content=b"{not json", headers={"authorization": f"Bearer {bridge.token}"})
    assert junk.status_code == 400 and junk.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    batch = [_r(-30, 0), {"tag": TAG, "value": "hot", "sourceTime": _at(1)}, {"tag": TAG, "value": 1},
             {"tag": TAG, "value": 1, "sourceTime": "yesterday"}, {"tag": TAG, "value": 1, "quality": "NICE",
                                                                   "sourceTime": _at(2)},
             {"tag": "NO-SUCH", "value": 1, "sourceTime": _at(3)}, _r(-30.5, 4, "BAD")]
    out = (await _ingest(gql, bridge, batch)).json()
    assert out["accepted"] == 2 and out["unknownTags"] == ["NO-SUCH"]
    assert [r["index"] for r in out["rejected"]] == [1, 2, 3, 4]
    replay = (await _ingest(gql, bridge, [_r(-30, 0), _r(-30.5, 4, "BAD")])).json()
    assert replay["accepted"] == 1 and replay["duplicates"] == 1  # an older one is stored (once), the last is known
    await rec.flush()
    async with db.read() as s:
        rows = (await s.execute(select(SensorReading.value, SensorReading.quality).order_by(
            SensorReading.source_time))).all()
        denials = (await s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "ACCESS_DENIED", AuditEvent.actor == "op.one"))).scalar_one()
    assert rows == [(-30.0, "GOOD"), (-30.5, "BAD")] and denials == 1


async def test_a_restart_picks_up_standing_alarms_without_raising_them_again(plant: Any) -> None:
    gql, _, db, svc, _, bridge = plant
    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61)])
    await svc.alarms.drain()
    await svc.alarms.stop()
    again = AlarmService(db, svc.bus)
    await again.start()
    svc.twin.watch = again.feed
    await _ingest(gql, bridge, [_r(-9, 70), _r(-30, 90)])
    await again.drain()
    await again.stop()
    async with db.read() as s:
        rows = (await s.execute(select(Alarm.state, Alarm.peak, Alarm.cleared_at))).all()
    assert len(rows) == 1 and rows[0][0] == "CLEARED" and rows[0][2] == T0 + timedelta(seconds=90)


@pytest.mark.req("VM-12")
async def test_event_alarms_wait_for_acknowledgement(plant: Any) -> None:
    gql, signers, _, svc, _, _ = plant
    alarm_id = await svc.alarms.raise_event(source="VIDEO", condition="MASK_MISSING", room_code="CS9",
                                            message="Mask missing at the charging post", priority=Priority.HIGH,
                                            camera_code="CAM-9")
    me = await gql.sign_in("op.one")
    node = (await me(LIST, {"a": True}))["data"]["alarms"]["edges"][0]["node"]
    assert node["id"] == alarm_id and node["state"] == "CLEARED" and node["affectedUnits"] is None  # not theirs
    inp = {"id": alarm_id, "handling": "Operator reminded, mask put on"}
    body = await me(ACK, {"input": inp, "sig": signers.sign("op.one", "acknowledgeAlarm", inp, "ACKNOWLEDGED")})
    assert body["data"]["acknowledgeAlarm"]["state"] == "CLOSED"
    with pytest.raises(KeyError):
        await svc.alarms.raise_event(source="VIDEO", condition="X", room_code="NOPE", message="x")


async def test_metrics_show_ingest_alarms_subscribers_and_latency(plant: Any) -> None:
    gql, _, _, svc, _, bridge = plant
    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61), _r(-10, 61)])
    await gql.client.post("/ingest", json={"bridge": "area-fra", "bufferDepth": 42, "readings": []},
                          headers={"authorization": f"Bearer {bridge.token}"})
    await svc.alarms.drain()
    own = svc.bus.subscriber_count()  # the node's own listeners (the PHASE topic), before the client's
    async with svc.bus.subscribe("sensor"):
        text = (await gql.client.get("/metrics")).text
    lines = dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln and not ln.startswith("#"))
    assert float(lines["plasmatwin_readings_ingested_total"]) == 2
    assert float(lines["plasmatwin_readings_duplicate_total"]) == 1
    assert float(lines['plasmatwin_alarms_active{priority="HIGH"}']) == 1
    assert float(lines['plasmatwin_alarms_active{priority="LOW"}']) == 0
    assert float(lines['plasmatwin_alarms_unacknowledged{priority="HIGH"}']) == 1
    assert float(lines["plasmatwin_subscribers"]) == own + 1
    assert float(lines['plasmatwin_http_request_seconds_count{method="POST",route="/ingest"}']) == 2
    assert float(lines['plasmatwin_bridge_buffer_depth{bridge="area-fra"}']) == 42
    assert float(lines["plasmatwin_database_bytes"]) > 0
    # Back to normal without an acknowledgement: no longer active, still standing for the operator.
    await _ingest(gql, bridge, [_r(-32, 130)])
    await svc.alarms.drain()
    text = (await gql.client.get("/metrics")).text
    lines = dict(ln.rsplit(" ", 1) for ln in text.splitlines() if ln and not ln.startswith("#"))
    assert float(lines['plasmatwin_alarms_active{priority="HIGH"}']) == 0
    assert float(lines['plasmatwin_alarms_unacknowledged{priority="HIGH"}']) == 1


async def test_a_core_behind_on_storage_answers_busy_and_takes_nothing(plant: Any) -> None:
    gql, _, _, svc, _, bridge = plant
    svc.twin.backlog = lambda: 250_000  # storage far behind: the bridge must keep the batch
    r = await _ingest(gql, bridge, [_r(-30, 0)])
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["errors"][0]["extensions"]["code"] == "BUSY" and svc.twin.ingested == 0


MINE = "subscription{alarmEvents(forMe: true){kind alarm{tag priority roomCode}}}"


@pytest.mark.req("PR-80")
async def test_designated_people_are_notified_of_their_alarms(plant: Any) -> None:
    gql, signers, db, svc, _, bridge = plant
    bad = await set_setting(gql, signers, "alarm.recipients", [{"rooms": ["CS"], "minPriority": "URGENT",
                                                                "roles": ["plasma_logistics"]}], "alarm routing")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    ok = await set_setting(gql, signers, "alarm.recipients", [{"rooms": ["CS"], "minPriority": "HIGH",
                                                               "roles": ["plasma_logistics"]}], "alarm routing")
    assert "errors" not in ok, ok
    streams = {}
    for user in ("log.sig", "op.one"):
        principal = await identity.principal_for(db, (await gql.sign_in(user)).token)
        streams[user] = await build_schema().subscribe(MINE, context_value=Context(svc, principal, "127.0.0.1"))
    got: dict[str, list[Any]] = {u: [] for u in streams}

    async def read(user: str) -> None:
        async for result in streams[user]:
            got[user].append(result.data["alarmEvents"])

    readers = [asyncio.create_task(read(u)) for u in streams]
    for _ in range(100):
        if svc.bus.subscriber_count(ALARM_TOPIC) == 2:
            break
        await asyncio.sleep(0.01)
    await svc.alarms.raise_event(source="VIDEO", condition="POST_ABSENT", room_code="CS9", message="post empty",
                                 priority=Priority.MEDIUM)  # below the rule's priority: nobody designated
    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61)])  # HIGH in CS9: logistics is designated
    await svc.alarms.drain()
    for _ in range(100):
        if got["log.sig"]:
            break
        await asyncio.sleep(0.01)
    for t in readers:
        t.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for s in streams.values():
        await s.aclose()
    assert got["log.sig"] == [{"kind": "RAISED", "alarm": {"tag": TAG, "priority": "HIGH", "roomCode": "CS9"}}]
    assert got["op.one"] == []


async def test_ingest_answers_only_once_the_readings_are_stored(plant: Any) -> None:
    """The bridge deletes its copy of a batch on the answer: so the answer waits for the commit, and a
    database that cannot take the readings gets BUSY (the bridge keeps the batch and retries)."""
    gql, _, db, svc, rec, bridge = plant
    svc.twin.durable = rec.durable
    rec.interval = 60.0  # the writer does not come round by itself during this test

    async def stored() -> int:
        async with db.read() as s:
            return int((await s.execute(select(func.count()).select_from(SensorReading).join(Sensor).where(
                Sensor.tag == TAG))).scalar_one())

    before = await stored()
    r = await _ingest(gql, bridge, [_r(-30.0, 1), _r(-30.1, 2)])
    assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    assert await stored() == before + 2  # committed before the answer

    # The database cannot take them: another writer holds SQLite's one write lock (a backup, a long
    # migration). The recorder's insert waits for it; ingest's wait for the commit gives up first.
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        rec.durable_within = 0.3
        r = await _ingest(gql, bridge, [_r(-30.2, 3)])
        assert r.status_code == 503 and r.json()["errors"][0]["extensions"]["code"] == "BUSY", r.text
        assert r.headers["retry-after"] == "1" and await stored() == before + 2
        # The bridge sends the same batch again: a replay for the twin, but still answered only once stored.
        r = await _ingest(gql, bridge, [_r(-30.2, 3)])
        assert r.status_code == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    rec.durable_within = 5.0
    r = await _ingest(gql, bridge, [_r(-30.2, 3)])
    assert r.status_code == 200 and r.json()["duplicates"] == 1, r.text
    assert await stored() == before + 3  # nothing lost, nothing doubled


async def test_an_alarm_of_equipment_in_maintenance_is_suppressed_then_raised_when_it_returns(env: Any) -> None:
    """ISA-18.2 suppression by state: a limit alarm of equipment in MAINTENANCE is held back and audited as
    ALARM_SUPPRESSED; back in service with the value still out of limits, the alarm is raised; a value that
    returns to normal while suppressed raises nothing."""
    from records.plant import Equipment

    gql, _, db = env
    async with db.write(AuditContext("system", reason="test tank")) as s:
        room = (await s.execute(select(Room))).scalars().first()
        assert room is not None
        tank = Equipment(code="EQ-TANK-9", name="Tank 9", kind="tank", room_id=room.id, x=1, y=1, status="MAINTENANCE")
        s.add(tank)
        await s.flush()
        for tag in ("TK9-TT-101", "TK9-TT-102"):
            s.add(Sensor(tag=tag, name="Tank temperature", kind="temperature", unit="°C", room_id=room.id,
                         equipment_id=tank.id, high_limit=10.0, alarm_delay_s=0, alarm_priority="HIGH"))
        tank_id = tank.id
    async with recording(gql, db) as (svc, _):
        bridge = await gql.sign_in("bridge.one")
        hot = [{"tag": tag, "value": 30.0, "quality": "GOOD", "sourceTime": _at(at)}
               for tag in ("TK9-TT-101", "TK9-TT-102") for at in (0, 1)]
        await _ingest(gql, bridge, hot)
        await svc.alarms.drain()
        async with db.read() as s:
            assert (await s.execute(select(func.count()).select_from(Alarm))).scalar_one() == 0
            held = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ALARM_SUPPRESSED"))
                    ).scalars().all()
        assert sorted(e.entity_id for e in held) == ["TK9-TT-101", "TK9-TT-102"]
        assert held[0].changes["why"] == [None, "equipment EQ-TANK-9 is MAINTENANCE"]

        # One returns to normal while suppressed; then the tank is back in service.
        await _ingest(gql, bridge, [{"tag": "TK9-TT-102", "value": 5.0, "quality": "GOOD", "sourceTime": _at(2)}])
        await svc.alarms.drain()
        async with db.write(AuditContext("system", reason="maintenance done")) as s:
            (await s.get_one(Equipment, tank_id)).status = "IDLE"
        await svc.alarms.release_held()
        await svc.alarms.drain()
        async with db.read() as s:
            alarms = (await s.execute(select(Alarm))).scalars().all()
        assert [(a.tag, a.state) for a in alarms] == [("TK9-TT-101", "ACTIVE")]
        from records.audit_state import verify_state

        async with db.read() as s:
            assert (await verify_state(s)).ok


SHELVE = """mutation($input: ShelveAlarmInput!, $sig: SignatureInput!) {
  shelveAlarm(input: $input, signature: $sig) { tag reason shelvedBy until endedAt } }"""
UNSHELVE = """mutation($input: UnshelveAlarmInput!, $sig: SignatureInput!) {
  unshelveAlarm(input: $input, signature: $sig) { tag endedAt endedBy } }"""


async def test_a_shelved_tag_holds_its_alarm_back_until_unshelved(plant: Any) -> None:
    """ISA-18.2 shelving: signed with a reason and a time limit; an excursion meanwhile is held back (audited),
    and raised when the shelf ends with the value still high; refusals for no reason, too long, an unknown tag,
    a second shelf, a role that may not shelve."""
    gql, signers, db, svc, _, bridge = plant
    op = await gql.sign_in("op.one")

    async def send(doc: str, op_name: str, inp: dict[str, Any], who: Any = op, user: str = "op.one") -> Any:
        return await who(doc, {"input": inp, "sig": signers.sign(user, op_name, inp)})

    for bad, code in (({"tag": TAG, "minutes": 60, "reason": " "}, "VALIDATION_FAILED"),
                      ({"tag": TAG, "minutes": 721, "reason": "x"}, "VALIDATION_FAILED"),
                      ({"tag": "NOPE", "minutes": 60, "reason": "x"}, "NOT_FOUND")):
        assert (await send(SHELVE, "shelveAlarm", bad))["errors"][0]["extensions"]["code"] == code
    reg = await gql.sign_in("reg.one")
    inp = {"tag": TAG, "minutes": 60, "reason": "probe being replaced"}
    assert (await reg(SHELVE, {"input": inp, "sig": signers.sign("op.one", "shelveAlarm", inp)}))[
        "errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await send(SHELVE, "shelveAlarm", inp)
    assert body["data"]["shelveAlarm"]["shelvedBy"] == "op.one" and body["data"]["shelveAlarm"]["endedAt"] is None
    again = await send(SHELVE, "shelveAlarm", {**inp, "reason": "again"})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert [s["tag"] for s in (await op("{ alarmShelves { tag } }"))["data"]["alarmShelves"]] == [TAG]

    await _ingest(gql, bridge, [_r(-10, 0), _r(-10, 61)])
    await svc.alarms.drain()
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(Alarm))).scalar_one() == 0
        (held,) = (await s.execute(select(AuditEvent).where(AuditEvent.action == "ALARM_SUPPRESSED"))).scalars()
    assert held.changes["why"] == [None, "shelved by op.one"]

    body = await send(UNSHELVE, "unshelveAlarm", {"tag": TAG, "reason": "probe replaced"})
    assert body["data"]["unshelveAlarm"]["endedBy"] == "op.one"
    await svc.alarms.release_held()
    await svc.alarms.drain()
    async with db.read() as s:
        alarms = (await s.execute(select(Alarm))).scalars().all()
    assert [(a.tag, a.state) for a in alarms] == [(TAG, "ACTIVE")]
    assert (await op("{ alarmShelves { tag } }"))["data"]["alarmShelves"] == []


async def test_an_alarm_flood_is_stored_in_one_transaction_each_alarm_audited_and_logged(env: Any) -> None:
    """Twenty tags past their limit in one batch: the writer takes every waiting transition at once and
    stores the raised alarms in one transaction (on SQLite one hold of the write lock, so the readings'
    commit does not queue behind twenty), each alarm with its own audit event and logbook line; the two
    of equipment in maintenance are held back and audited once each."""
    from sqlalchemy import event

    from records.plant import Equipment, EquipmentLog

    gql, _, db = env
    async with db.write(AuditContext("system", reason="test tanks")) as s:
        room = (await s.execute(select(Room))).scalars().first()
        assert room is not None
        running = Equipment(code="EQ-TANK-7", name="Tank 7", kind="tank", room_id=room.id, x=1, y=1, status="IDLE")
        service = Equipment(code="EQ-TANK-8", name="Tank 8", kind="tank", room_id=room.id, x=2, y=1,
                            status="MAINTENANCE")
        s.add_all([running, service])
        await s.flush()
        tags = {f"TK7-TT-{i:03d}": running.id for i in range(18)} | {f"TK8-TT-{i:03d}": service.id for i in range(2)}
        for tag, equipment_id in tags.items():
            s.add(Sensor(tag=tag, name="Tank temperature", kind="temperature", unit="°C", room_id=room.id,
                         equipment_id=equipment_id, high_limit=10.0, alarm_delay_s=0, alarm_priority="HIGH"))
    commits: list[int] = []

    def count(_conn: Any) -> None:
        commits.append(1)

    async with recording(gql, db) as (svc, _):
        bridge = await gql.sign_in("bridge.one")
        event.listen(db.write_engine.sync_engine, "commit", count)
        try:
            r = await _ingest(gql, bridge, [{"tag": tag, "value": 30.0, "quality": "GOOD", "sourceTime": _at(0)}
                                            for tag in tags])
            assert r.status_code == 200 and r.json()["accepted"] == 20, r.text
            await svc.alarms.drain()
        finally:
            event.remove(db.write_engine.sync_engine, "commit", count)
        assert svc.alarms.raised == 18
    assert len(commits) == 3  # the 18 raised together, and each suppression's audit event
    async with db.read() as s:
        alarms = (await s.execute(select(Alarm).order_by(Alarm.tag))).scalars().all()
        created = (await s.execute(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "alarm", AuditEvent.action == "CREATE"))).scalars().all()
        logged = (await s.execute(select(EquipmentLog.reference).where(EquipmentLog.kind == "ALARM"))).scalars().all()
        held = (await s.execute(select(AuditEvent.entity_id).where(AuditEvent.action == "ALARM_SUPPRESSED"))
                ).scalars().all()
        from records.audit_state import verify_state

        assert (await verify_state(s)).ok
    assert [a.tag for a in alarms] == sorted(t for t in tags if t.startswith("TK7"))
    assert all(a.state == "ACTIVE" and a.message.endswith("above high limit 10 °C") for a in alarms)
    assert sorted(created) == sorted(str(a.id) for a in alarms)
    assert sorted(logged) == sorted(f"alarm:{a.id}" for a in alarms)
    assert sorted(held) == ["TK8-TT-000", "TK8-TT-001"]
